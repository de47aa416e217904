// Route53Provider against a strict in-memory Route53 (test/doubles/route53.ts): paging, name
// normalisation, the mapping of Route53's refusals, and the batches the planner sends.
import { describe, expect, it } from 'vitest';
import { Route53Double, recordLimit } from '../../../test/doubles/route53.js';
import { createMetrics } from '../../observability/metrics.js';
import { batches } from '../batch.js';
import type { Change, ChangeGroup, RecordSet } from '../types.js';
import { InvalidBatchError } from './provider.js';
import { Route53Provider } from './route53.js';

function setup() {
  const r53 = new Route53Double();
  r53.addZone('Z1', 'example.test');
  const provider = new Route53Provider({ metrics: createMetrics(), client: r53.client });
  return { r53, provider };
}

const a = (name: string, ip: string, ttl = 300): RecordSet => ({
  name,
  type: 'A',
  ttl,
  values: [ip],
});
const txt = (name: string, ...values: string[]): RecordSet => ({
  name,
  type: 'TXT',
  ttl: 300,
  values: values.map((v) => `"${v}"`),
});
const create = (record: RecordSet): Change => ({ action: 'CREATE', record });
const upsert = (record: RecordSet): Change => ({ action: 'UPSERT', record });
const del = (record: RecordSet): Change => ({ action: 'DELETE', record });

describe('Route53Provider', () => {
  it('lists every hosted zone across pages, ids and names normalised', async () => {
    const { r53, provider } = setup();
    for (let i = 0; i < 149; i++)
      r53.addZone(`Z${1000 + i}`, `Zone${i}.Test.`, { private: i === 0 });
    const zones = await provider.zones();
    expect(zones).toHaveLength(150);
    expect(r53.calls.filter((c) => c === 'ListHostedZones')).toHaveLength(2);
    expect(zones.find((z) => z.id === 'Z1000')).toEqual({
      id: 'Z1000',
      name: 'zone0.test',
      private: true,
    });
  });

  it('lists every record set across pages of 300, wildcards as *', async () => {
    const { r53, provider } = setup();
    const records = Array.from({ length: 650 }, (_, i) => a(`h${i}.example.test`, '192.0.2.1'));
    for (const b of batches(
      records.map((r, i) => ({ key: `${i}`, resource: 'r', changes: [create(r)] })),
    ))
      await provider.applyChanges(
        'Z1',
        b.flatMap((g) => g.changes),
      );
    await provider.applyChanges('Z1', [create(a('*.example.test', '192.0.2.9'))]);
    r53.calls.length = 0;
    const listed = await provider.records('Z1');
    expect(listed).toHaveLength(651);
    expect(r53.calls).toEqual(Array(3).fill('ListResourceRecordSets'));
    expect(listed).toContainEqual(a('*.example.test', '192.0.2.9'));
    expect(r53.get('Z1', '*.example.test', 'A')?.Name).toBe('\\052.example.test.');
  });

  it('reads one record set by exact name and type', async () => {
    const { provider } = setup();
    await provider.applyChanges('Z1', [
      create(txt('_acme-challenge.b.example.test', 'x')),
      create(a('b.example.test', '192.0.2.1')),
    ]);
    expect(await provider.recordSet('Z1', '_acme-challenge.b.example.test', 'TXT')).toEqual(
      txt('_acme-challenge.b.example.test', 'x'),
    );
    // The listing starts at the name; what it finds there is another set.
    expect(await provider.recordSet('Z1', 'a.example.test', 'TXT')).toBeUndefined();
    expect(await provider.recordSet('Z1', 'b.example.test', 'TXT')).toBeUndefined();
  });

  it('returns the change id, which turns INSYNC', async () => {
    const { r53, provider } = setup();
    r53.pollsUntilInSync = 2;
    const id = await provider.applyChanges('Z1', [create(a('a.example.test', '192.0.2.1'))]);
    expect(await provider.isInSync(id)).toBe(false);
    expect(await provider.isInSync(id)).toBe(true);
  });

  describe('a batch Route53 refuses is an InvalidBatchError, and nothing of it is applied', () => {
    const existing = a('a.example.test', '192.0.2.1');
    it.each<[string, Change[]]>([
      ['a CREATE of a set that exists', [create(existing)]],
      ['a DELETE of a set that does not exist', [del(a('nope.example.test', '192.0.2.1'))]],
      ['a DELETE with another TTL', [del({ ...existing, ttl: 60 })]],
      ['a DELETE with other values', [del({ ...existing, values: ['192.0.2.2'] })]],
      ['a DELETE with a value missing', [del({ ...existing, values: [] })]],
      ['a name outside the zone', [create(a('a.other.test', '192.0.2.1'))]],
      ['a TXT value without quotes', [create({ ...txt('t.example.test'), values: ['bare'] })]],
      [
        'a CNAME beside an A',
        [create({ name: 'a.example.test', type: 'CNAME', ttl: 300, values: ['b.example.test'] })],
      ],
      [
        'one bad change among good ones',
        [
          create(a('new1.example.test', '192.0.2.5')),
          create(existing),
          create(a('new2.example.test', '192.0.2.6')),
        ],
      ],
    ])('%s', async (_name, changes) => {
      const { r53, provider } = setup();
      await provider.applyChanges('Z1', [create(existing)]);
      const before = r53.sets('Z1');
      await expect(provider.applyChanges('Z1', changes)).rejects.toBeInstanceOf(InvalidBatchError);
      expect(r53.sets('Z1')).toEqual(before);
    });

    it('the exact set deletes', async () => {
      const { r53, provider } = setup();
      await provider.applyChanges('Z1', [create(existing)]);
      await provider.applyChanges('Z1', [del(existing)]);
      expect(r53.get('Z1', existing.name, 'A')).toBeUndefined();
    });
  });

  describe('batch limits', () => {
    const many = (n: number, values = 1) =>
      Array.from({ length: n }, (_, i) => ({
        name: `h${i}.example.test`,
        type: 'A',
        ttl: 300,
        values: Array.from({ length: values }, (_v, j) => `192.0.${j}.${i % 250}`),
      }));

    it('accepts 1,000 records and refuses 1,001', async () => {
      const { provider } = setup();
      await provider.applyChanges('Z1', many(recordLimit).map(create));
      const { provider: fresh } = setup();
      await expect(fresh.applyChanges('Z1', many(recordLimit + 1).map(create))).rejects.toThrow(
        /records limit/,
      );
    });

    it('counts an UPSERT twice', async () => {
      const { provider } = setup();
      await expect(provider.applyChanges('Z1', many(501).map(upsert))).rejects.toBeInstanceOf(
        InvalidBatchError,
      );
      await provider.applyChanges('Z1', many(500).map(upsert));
    });

    it('refuses more than 32,000 value characters', async () => {
      const { provider } = setup();
      // 130 TXT sets of 250 characters: 32,500.
      const long = Array.from({ length: 130 }, (_, i) =>
        txt(`t${i}.example.test`, 'x'.repeat(248)),
      );
      await expect(provider.applyChanges('Z1', long.map(create))).rejects.toThrow(/characters/);
      await provider.applyChanges('Z1', long.slice(0, 120).map(create));
    });

    it('every batch the planner packs is accepted', async () => {
      const { provider } = setup();
      // Groups of a record and its TXT companion, UPSERTs and CREATEs, with long TXT values.
      const groups: ChangeGroup[] = Array.from({ length: 1500 }, (_, i) => ({
        key: `${i}`,
        resource: `ingress/ns/i${i}`,
        changes: [
          (i % 2 ? upsert : create)(a(`g${i}.example.test`, '192.0.2.1')),
          (i % 2 ? upsert : create)(
            txt(`a-g${i}.example.test`, `heritage=certroute,${'o'.repeat(i % 200)}`),
          ),
        ],
      }));
      const packed = batches(groups);
      expect(packed.length).toBeGreaterThan(1);
      for (const b of packed)
        await provider.applyChanges(
          'Z1',
          b.flatMap((g) => g.changes),
        );
      expect((await provider.records('Z1')).length).toBe(3000);
    });
  });

  it('leaves throttling and other errors to the SDK, unwrapped', async () => {
    const { provider } = setup();
    await expect(
      provider.applyChanges('Z-missing', [create(a('a.example.test', '192.0.2.1'))]),
    ).rejects.toMatchObject({
      name: 'NoSuchHostedZone',
    });
  });
});
