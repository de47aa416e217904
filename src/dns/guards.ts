import { createHash } from 'node:crypto';
import type { ChangeGroup } from './types.js';

/** Deletions of one zone sync held back by the deletion cap. */
export interface BlockedDeletions {
  /** Records (not counting their TXT companions) that would have been deleted. */
  count: number;
  /** The first few of them, "TYPE name", sorted. */
  sample: string[];
  /** A short hash of exactly this set: approving it approves this set and no other. */
  token: string;
}

export interface CapResult {
  /** The groups to send: everything, or everything but the deletions. */
  allowed: ChangeGroup[];
  blocked?: BlockedDeletions;
}

const sampleSize = 10;

/** A group that only deletes (a record nothing asks for, and its companion). */
export function isDeletion(g: ChangeGroup): boolean {
  return g.changes.length > 0 && g.changes.every((c) => c.action === 'DELETE');
}

/** The record a deletion group deletes, as "TYPE name" (its companion is not counted). */
function deletedRecord(g: ChangeGroup): string {
  const r = g.changes.find((c) => c.record.type !== 'TXT')?.record ?? g.changes[0]?.record;
  return r ? `${r.type} ${r.name}` : g.key;
}

/** The approval token of a set of deleted records: 12 hex digits of its SHA-256. */
export function deletionToken(records: readonly string[]): string {
  const h = createHash('sha256');
  for (const r of [...records].sort()) h.update(`${r}\n`);
  return h.digest('hex').slice(0, 12);
}

/**
 * The deletion cap of one zone sync. Pure. When the sync would delete more records than
 * `max` (0 means no cap), it deletes none of them: creates and updates still go out, and the
 * blocked set is described with a token. Deletions resume when the cap allows them or when
 * `approved` holds exactly this set's token.
 */
export function capDeletions(
  groups: ChangeGroup[],
  max: number,
  approved: ReadonlySet<string> = new Set(),
): CapResult {
  const deletions = groups.filter(isDeletion);
  if (max === 0 || deletions.length <= max) return { allowed: groups };
  const records = deletions.map(deletedRecord).sort();
  const token = deletionToken(records);
  if (approved.has(token)) return { allowed: groups };
  return {
    allowed: groups.filter((g) => !isDeletion(g)),
    blocked: { count: records.length, sample: records.slice(0, sampleSize), token },
  };
}
