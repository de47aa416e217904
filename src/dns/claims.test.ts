import { describe, expect, it } from 'vitest';
import { plan, statusKey, type PlanInput } from './plan.js';
import { ownerValue } from './registry.js';
import { recordKey, type Change, type DesiredRecord, type RecordSet, type Zone } from './types.js';

const zone: Zone = { id: 'Z1', name: 'example.test', private: false };
const WWW = 'www.example.test';
const A1 = 'ingress/team-a/web';
const A2 = 'ingress/team-a/web2';
const B1 = 'ingress/team-b/web';
const min = 60_000;
const T0 = Date.parse('2026-01-01T00:00:00Z');

function rs(name: string, type: string, values: string[]): RecordSet {
  return { name, type, ttl: 300, values };
}

/** Our record and its companion, claimed by `resource`. */
function ours(name: string, type: 'A' | 'AAAA' | 'CNAME', resource: string): RecordSet[] {
  return [
    rs(name, type, type === 'CNAME' ? ['lb.example.net'] : ['192.0.2.1']),
    rs(`${type.toLowerCase()}-${name}`, 'TXT', [ownerValue('me', resource)]),
  ];
}

function want(resource: string, name = WWW, type: 'A' | 'AAAA' | 'CNAME' = 'A'): DesiredRecord {
  const values = type === 'CNAME' ? ['lb.example.net'] : ['192.0.2.1'];
  return { name, type, ttl: 300, values, resource };
}

function input(current: RecordSet[], desired: DesiredRecord[], extra: Partial<PlanInput> = {}) {
  return {
    zone,
    current: new Map(current.map((r) => [recordKey(r.name, r.type), r])),
    desired,
    ownerId: 'me',
    adoptOwnerIds: ['legacy'],
    inScope: (r: string) => r.includes('/team-'),
    waiting: new Set<string>(),
    ...extra,
  } satisfies PlanInput;
}

const summary = (changes: Change[]) =>
  changes.map((c) => `${c.action} ${c.record.type} ${c.record.name}`);
const all = (p: ReturnType<typeof plan>) => p.groups.flatMap((g) => summary(g.changes));

describe('claims: a name belongs to the namespace that published it first', () => {
  it.each<[string, DesiredRecord[]]>([
    ['the holder and another namespace', [want(A1), want(B1)]],
    ['in reverse order', [want(B1), want(A1)]],
    [
      'another namespace only, while the holder still asks for an AAAA there',
      [want(B1), want(A1, WWW, 'AAAA')],
    ],
  ])('another namespace is OwnedByOther naming the holder (%s)', (_l, desired) => {
    const p = plan(input(ours(WWW, 'A', A1), desired, { gracePeriodMs: 10 * min, now: T0 }));
    const s = p.statuses.get(statusKey(B1, WWW, 'A'));
    expect(s).toMatchObject({ state: 'OwnedByOther', owner: A1 });
    expect(s?.message).toContain(`held by ${A1}`);
    expect(all(p)).not.toContain('UPSERT TXT a-www.example.test');
  });

  it('a name is claimed as a whole: another namespace gets no other type at it', () => {
    const p = plan(input(ours(WWW, 'A', A1), [want(A1), want(B1, WWW, 'AAAA')]));
    expect(p.statuses.get(statusKey(B1, WWW, 'AAAA'))).toMatchObject({
      state: 'OwnedByOther',
      owner: A1,
    });
    expect(p.groups).toEqual([]);
  });

  it('within the holder namespace the name passes at once to another Ingress', () => {
    const p = plan(input(ours(WWW, 'A', A1), [want(A2)], { gracePeriodMs: 10 * min, now: T0 }));
    expect(all(p)).toEqual(['UPSERT TXT a-www.example.test']);
    expect(p.groups[0]?.resource).toBe(A2);
  });

  it.each([
    ['out of scope', { inScope: (r: string) => r.includes('/team-b/') }],
    ['waiting for an address', { waiting: new Set([A1]) }],
  ])('a holder %s keeps its claim with no grace period', (_l, extra) => {
    const p = plan(input(ours(WWW, 'A', A1), [want(B1)], extra));
    expect(p.statuses.get(statusKey(B1, WWW, 'A'))).toMatchObject({ owner: A1 });
    expect(p.groups).toEqual([]);
  });

  it('a companion without its record claims nothing', () => {
    const companionOnly = ours(WWW, 'A', A1).slice(1);
    const p = plan(input(companionOnly, [want(B1)], { gracePeriodMs: 10 * min, now: T0 }));
    expect(p.groups[0]?.resource).toBe(B1);
  });

  it.each<[string, DesiredRecord[]]>([
    ['A first', [want(A1), want(B1)]],
    ['B first', [want(B1), want(A1)]],
    ['different types', [want(B1, WWW, 'AAAA'), want(A1, WWW, 'A')]],
  ])('a new name asked for by two namespaces: the first by name wins, every run (%s)', (_l, d) => {
    for (let i = 0; i < 3; i++) {
      const p = plan(input([], d));
      expect(p.groups.map((g) => g.resource)).toEqual([A1]);
      const loser = [...p.statuses].find(([k]) => k.startsWith(B1))?.[1];
      expect(loser).toMatchObject({ state: 'OwnedByOther', owner: A1 });
      expect(loser?.message).toContain('namespace team-a');
    }
  });
});

describe('claims: the grace period', () => {
  const held = ours(WWW, 'A', A1);
  const grace = { gracePeriodMs: 10 * min };

  it('an unwanted record is kept, counted in grace, and remembered from now', () => {
    const p = plan(input(held, [], { ...grace, now: T0 }));
    expect(p.groups).toEqual([]);
    expect(p.unwanted).toEqual(new Map([[recordKey(WWW, 'A'), T0]]));
    expect([p.inGrace, p.graceEndsAt]).toEqual([1, T0 + 10 * min]);
  });

  it('keeps counting from the first time it was unwanted', () => {
    const since = new Map([[recordKey(WWW, 'A'), T0]]);
    const p = plan(input(held, [], { ...grace, now: T0 + 9 * min, unwantedSince: since }));
    expect(p.groups).toEqual([]);
    expect(p.unwanted.get(recordKey(WWW, 'A'))).toBe(T0);
  });

  it('deletes it once the grace period has passed', () => {
    const since = new Map([[recordKey(WWW, 'A'), T0]]);
    const p = plan(input(held, [], { ...grace, now: T0 + 10 * min, unwantedSince: since }));
    expect(all(p)).toEqual(['DELETE A www.example.test', 'DELETE TXT a-www.example.test']);
    expect(p.inGrace).toBe(0);
  });

  it('asked for again within the grace period: nothing changes and the count is dropped', () => {
    const since = new Map([[recordKey(WWW, 'A'), T0]]);
    const p = plan(input(held, [want(A1)], { ...grace, now: T0 + min, unwantedSince: since }));
    expect(p.groups).toEqual([]);
    expect(p.statuses.get(statusKey(A1, WWW, 'A'))).toEqual({ state: 'Published' });
    expect(p.unwanted.size).toBe(0);
  });

  it('another namespace cannot take the name during the grace period, and says until when', () => {
    const since = new Map([[recordKey(WWW, 'A'), T0]]);
    const p = plan(input(held, [want(B1)], { ...grace, now: T0 + min, unwantedSince: since }));
    expect(p.groups).toEqual([]);
    const s = p.statuses.get(statusKey(B1, WWW, 'A'));
    expect(s).toMatchObject({ state: 'OwnedByOther', owner: A1 });
    expect(s?.message).toContain('2026-01-01T00:10:00.000Z');
    expect(p.inGrace).toBe(1);
  });

  it('after the grace period the next claimant takes it over: no DELETE', () => {
    const since = new Map([[recordKey(WWW, 'A'), T0]]);
    const p = plan(input(held, [want(B1)], { ...grace, now: T0 + 11 * min, unwantedSince: since }));
    expect(all(p)).toEqual(['UPSERT TXT a-www.example.test']);
    expect(p.groups[0]?.resource).toBe(B1);
  });

  it('with no grace period (the planner default) it is deleted at once', () => {
    const p = plan(input(held, [], { now: T0 }));
    expect(all(p)).toEqual(['DELETE A www.example.test', 'DELETE TXT a-www.example.test']);
  });
});

describe('adoption requires a matching resource=', () => {
  const ext = (resource?: string) =>
    `"heritage=external-dns,external-dns/owner=legacy${resource ? `,external-dns/resource=${resource}` : ''}"`;

  it.each<[string, string | undefined]>([
    ['no resource=', undefined],
    ['the claimant', A1],
  ])('adopts a record whose resource is %s', (_l, resource) => {
    const p = plan(
      input(
        [rs(WWW, 'A', ['198.51.100.1']), rs('a-www.example.test', 'TXT', [ext(resource)])],
        [want(A1)],
      ),
    );
    expect(all(p)).toEqual(['UPSERT A www.example.test', 'UPSERT TXT a-www.example.test']);
  });

  it('refuses a record external-dns wrote for another resource, naming it', () => {
    const p = plan(
      input([rs(WWW, 'A', ['198.51.100.1']), rs(WWW, 'TXT', [ext('ingress/old/app')])], [want(A1)]),
    );
    expect(p.groups).toEqual([]);
    const s = p.statuses.get(statusKey(A1, WWW, 'A'));
    expect(s).toMatchObject({ state: 'OwnedByOther', owner: 'ingress/old/app' });
    expect(s?.message).toContain('ingress/old/app');
  });
});
