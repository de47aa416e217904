import { randomBytes } from 'node:crypto';

/** A name no other test or run uses: prefix plus six random hex digits. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}
