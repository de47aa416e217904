import type { ChangeGroup } from './types.js';

/** Route53's limits for one ChangeResourceRecordSets call. */
export const limits = { records: 1000, valueChars: 32_000 } as const;

/** Route53 counts an UPSERT twice (a delete and a create) against both limits. */
export function weight(g: ChangeGroup): { records: number; chars: number } {
  let records = 0;
  let chars = 0;
  for (const c of g.changes) {
    const factor = c.action === 'UPSERT' ? 2 : 1;
    const values = c.record.alias ? [c.record.alias.dnsName] : c.record.values;
    records += factor * Math.max(1, values.length);
    chars += factor * values.reduce((n, v) => n + v.length, 0);
  }
  return { records, chars };
}

/** Packs change groups into as few batches as the limits allow; a group is never split. */
export function batches(groups: ChangeGroup[]): ChangeGroup[][] {
  const out: ChangeGroup[][] = [];
  let cur: ChangeGroup[] = [];
  let records = 0;
  let chars = 0;
  for (const g of groups) {
    const w = weight(g);
    if (
      cur.length > 0 &&
      (records + w.records > limits.records || chars + w.chars > limits.valueChars)
    ) {
      out.push(cur);
      cur = [];
      records = 0;
      chars = 0;
    }
    cur.push(g);
    records += w.records;
    chars += w.chars;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}
