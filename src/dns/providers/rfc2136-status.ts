import { statusKey } from '../claims.js';
import type { RecordStatus } from '../plan.js';
import type { DesiredRecord } from '../types.js';

export { isRfc2136AuthError } from './rfc2136-errors.js';

/** Every desired record of a zone the server refused us: Error, with the server's reason. */
export function refusedStatuses(
  desired: readonly DesiredRecord[],
  message: string,
): Map<string, RecordStatus> {
  const out = new Map<string, RecordStatus>();
  for (const d of desired)
    out.set(statusKey(d.resource, d.name, d.type), { state: 'Error', message });
  return out;
}
