import { describe, expect, it } from 'vitest';
import { batches, limits, weight } from './batch.js';
import type { Action, Change, ChangeGroup, RecordSet } from './types.js';

function rec(values: string[], extra: Partial<RecordSet> = {}): RecordSet {
  return { name: 'www.example.test', type: 'A', ttl: 300, values, ...extra };
}

function change(action: Action, record: RecordSet): Change {
  return { action, record };
}

let n = 0;
function group(...changes: Change[]): ChangeGroup {
  n += 1;
  return { key: `g${n}`, resource: 'ingress/apps/web', changes };
}

/** A new record and its companion: 2 records, single values. */
const createPair = (): ChangeGroup =>
  group(change('CREATE', rec(['1.2.3.4'])), change('CREATE', rec(['"owner"'], { type: 'TXT' })));

describe('weight', () => {
  const alias = rec([], { alias: { hostedZoneId: 'Z1', dnsName: 'lb.example.net' } });

  it.each<[string, Change[], { records: number; chars: number }]>([
    ['no change', [], { records: 0, chars: 0 }],
    ['CREATE, one value', [change('CREATE', rec(['1.2.3.4']))], { records: 1, chars: 7 }],
    ['DELETE, one value', [change('DELETE', rec(['1.2.3.4']))], { records: 1, chars: 7 }],
    ['UPSERT counts twice', [change('UPSERT', rec(['1.2.3.4']))], { records: 2, chars: 14 }],
    [
      'CREATE, three values',
      [change('CREATE', rec(['1.1.1.1', '2.2.2.2', '3.3.3.30']))],
      { records: 3, chars: 22 },
    ],
    [
      'UPSERT, three values',
      [change('UPSERT', rec(['1.1.1.1', '2.2.2.2', '3.3.3.30']))],
      { records: 6, chars: 44 },
    ],
    ['no values still counts one record', [change('CREATE', rec([]))], { records: 1, chars: 0 }],
    ['alias: one record, its DNS name', [change('CREATE', alias)], { records: 1, chars: 14 }],
    ['alias UPSERT', [change('UPSERT', alias)], { records: 2, chars: 28 }],
    [
      'a whole replacement group',
      [
        change('DELETE', rec(['lb.example.net'], { type: 'CNAME' })),
        change('DELETE', rec(['"ab"'], { type: 'TXT' })),
        change('CREATE', rec(['1.2.3.4', '5.6.7.8'])),
        change('CREATE', rec(['"cd"'], { type: 'TXT' })),
      ],
      { records: 5, chars: 14 + 4 + 14 + 4 },
    ],
    [
      'UPSERT record and companion',
      [change('UPSERT', rec(['1.2.3.4'])), change('UPSERT', rec(['"abc"'], { type: 'TXT' }))],
      { records: 4, chars: 24 },
    ],
  ])('%s', (_label, changes, expected) => {
    expect(weight(group(...changes))).toEqual(expected);
  });
});

describe('batches', () => {
  const records = (b: ChangeGroup[]) => b.reduce((s, g) => s + weight(g).records, 0);
  const chars = (b: ChangeGroup[]) => b.reduce((s, g) => s + weight(g).chars, 0);

  it('has the Route53 limits', () => {
    expect(limits).toEqual({ records: 1000, valueChars: 32_000 });
  });

  it('empty input gives no batch', () => {
    expect(batches([])).toEqual([]);
  });

  it('one small group gives one batch', () => {
    const g = createPair();
    expect(batches([g])).toEqual([[g]]);
  });

  it('packs 2,000 CREATE pairs into exactly 4 batches of 1,000 records', () => {
    const groups = Array.from({ length: 2000 }, createPair);
    const out = batches(groups);
    expect(out).toHaveLength(4);
    expect(out.map((b) => b.length)).toEqual([500, 500, 500, 500]);
    expect(out.map(records)).toEqual([1000, 1000, 1000, 1000]);
    expect(out.flat()).toEqual(groups);
  });

  it('never splits a group: 3-record groups stop at 999 records', () => {
    const groups = Array.from({ length: 400 }, () =>
      group(change('CREATE', rec(['1.1.1.1', '2.2.2.2'])), change('CREATE', rec(['"o"']))),
    );
    const out = batches(groups);
    expect(out.map((b) => b.length)).toEqual([333, 67]);
    expect(out.map(records)).toEqual([999, 201]);
    for (const g of groups) expect(out.filter((b) => b.includes(g))).toHaveLength(1);
  });

  it('keeps every change of a group in the same batch', () => {
    const groups = Array.from({ length: 700 }, createPair);
    for (const b of batches(groups)) {
      expect(records(b)).toBeLessThanOrEqual(limits.records);
      for (const g of b) expect(g.changes).toHaveLength(2);
    }
  });

  it.each<[string, Action, number]>([
    ['CREATE', 'CREATE', 2],
    ['UPSERT', 'UPSERT', 4],
  ])('1,000 %s pairs make %i batches', (_label, action, expected) => {
    const groups = Array.from({ length: 1000 }, () =>
      group(change(action, rec(['1.2.3.4'])), change(action, rec(['"o"'], { type: 'TXT' }))),
    );
    expect(batches(groups)).toHaveLength(expected);
  });

  it('splits on the 32,000-character limit before the record limit', () => {
    const long = '"' + 'x'.repeat(3998) + '"';
    const groups = Array.from({ length: 20 }, () =>
      group(change('CREATE', rec([long], { type: 'TXT' }))),
    );
    const out = batches(groups);
    expect(out.map((b) => b.length)).toEqual([8, 8, 4]);
    expect(out.map(chars)).toEqual([32_000, 32_000, 16_000]);
  });

  it('counts UPSERT characters twice', () => {
    const long = 'x'.repeat(4000);
    const groups = Array.from({ length: 8 }, () =>
      group(change('UPSERT', rec([long], { type: 'TXT' }))),
    );
    expect(batches(groups).map((b) => b.length)).toEqual([4, 4]);
  });

  it('a single oversize group still gets a batch of its own', () => {
    const before = createPair();
    const huge = group(
      change(
        'CREATE',
        rec(Array.from({ length: 1200 }, (_, i) => `10.0.${Math.floor(i / 256)}.${i % 256}`)),
      ),
    );
    const after = createPair();
    expect(batches([huge])).toEqual([[huge]]);
    expect(batches([before, huge, after])).toEqual([[before], [huge], [after]]);
  });

  it('an oversize group by characters gets its own batch too', () => {
    const huge = group(change('UPSERT', rec(['y'.repeat(20_000)], { type: 'TXT' })));
    const small = createPair();
    expect(batches([small, huge, small])).toEqual([[small], [huge], [small]]);
  });
});
