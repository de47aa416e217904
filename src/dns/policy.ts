import type { ChangeGroup } from './types.js';

export type Policy = 'sync' | 'upsert-only' | 'create-only';

/**
 * The DNS policy, applied after planning, as external-dns does:
 * - sync: everything;
 * - upsert-only: creates and updates, never a deletion of a record nothing asks for;
 * - create-only: only records that do not exist yet.
 * A group that replaces a record of another type (DELETE + CREATE) counts as an update.
 */
export function applyPolicy(policy: Policy, groups: ChangeGroup[]): ChangeGroup[] {
  if (policy === 'sync') return groups;
  return groups.filter((g) => {
    const kinds = new Set(g.changes.map((c) => c.action));
    const recordChange = g.changes.find((c) => c.record.type !== 'TXT');
    if (policy === 'upsert-only') return kinds.has('CREATE') || kinds.has('UPSERT');
    return recordChange?.action === 'CREATE' && !kinds.has('DELETE');
  });
}
