import { describe, expect, it } from 'vitest';
import { plan, sameRecord, statusKey } from './plan.js';
import type { PlanInput, RecordStatus } from './plan.js';
import { applyPolicy } from './policy.js';
import { ownerValue } from './registry.js';
import { recordKey } from './types.js';
import type { Alias, Change, DesiredRecord, ManagedType, RecordSet, Zone } from './types.js';

const zone: Zone = { id: 'ZEXAMPLE', name: 'example.test', private: false };
const WWW = 'www.example.test';
const WEB = 'ingress/apps/web';
const API = 'ingress/apps/api';
const LB = 'lb-1.eu-west-1.elb.amazonaws.com';
const ELB_ZONE = 'Z32O12XQLNTSW2';

function rs(name: string, type: string, values: string[], extra: Partial<RecordSet> = {}) {
  return { name, type, ttl: 300, values, ...extra } satisfies RecordSet;
}

function txt(name: string, ...values: string[]): RecordSet {
  return rs(name, 'TXT', values);
}

function extDns(owner: string, resource?: string): string {
  const r = resource ? `,external-dns/resource=${resource}` : '';
  return `"heritage=external-dns,external-dns/owner=${owner}${r}"`;
}

/** Our record plus its companion, as certroute wrote them. */
function ours(
  name: string,
  type: ManagedType,
  values: string[],
  resource = WEB,
  extra: Partial<RecordSet> = {},
): RecordSet[] {
  const prefix =
    name === zone.name ? `_certroute-${type.toLowerCase()}.` : `${type.toLowerCase()}-`;
  return [rs(name, type, values, extra), txt(`${prefix}${name}`, ownerValue('me', resource))];
}

function want(
  name: string,
  type: ManagedType,
  values: string[],
  resource = WEB,
  extra: Partial<DesiredRecord> = {},
): DesiredRecord {
  return { name, type, ttl: 300, values, resource, ...extra };
}

function input(current: RecordSet[], desired: DesiredRecord[], waiting: string[] = []): PlanInput {
  return {
    zone,
    current: new Map(current.map((r) => [recordKey(r.name, r.type), r])),
    desired,
    ownerId: 'me',
    adoptOwnerIds: ['legacy'],
    inScope: (resource) => resource.startsWith('ingress/apps/'),
    waiting: new Set(waiting),
  };
}

function companion(name: string, type: ManagedType, resource = WEB): RecordSet {
  return txt(`${type.toLowerCase()}-${name}`, ownerValue('me', resource));
}

function status(
  p: ReturnType<typeof plan>,
  name: string,
  type: string,
  resource = WEB,
): RecordStatus | undefined {
  return p.statuses.get(statusKey(resource, name, type));
}

/** Changes as "ACTION TYPE name" lines, for compact assertions. */
function summary(changes: Change[]): string[] {
  return changes.map((c) => `${c.action} ${c.record.type} ${c.record.name}`);
}

describe('plan: a free name', () => {
  it.each<[string, string, string]>([
    ['host', WWW, 'a-www.example.test'],
    ['apex', 'example.test', '_certroute-a.example.test'],
    ['wildcard', '*.example.test', 'a-*.example.test'],
  ])('%s: CREATE record and companion in one group, Pending', (_label, name, companionAt) => {
    const p = plan(input([], [want(name, 'A', ['192.0.2.2', '192.0.2.1'])]));
    expect(p.groups).toEqual([
      {
        key: recordKey(name, 'A'),
        resource: WEB,
        changes: [
          { action: 'CREATE', record: rs(name, 'A', ['192.0.2.1', '192.0.2.2']) },
          { action: 'CREATE', record: txt(companionAt, ownerValue('me', WEB)) },
        ],
      },
    ]);
    expect(status(p, name, 'A')).toEqual({ state: 'Pending' });
  });
});

describe('plan: our own record', () => {
  it.each<[string, string[], string[]]>([
    ['same values', ['192.0.2.1', '192.0.2.2'], ['192.0.2.1', '192.0.2.2']],
    ['values in another order', ['192.0.2.2', '192.0.2.1'], ['192.0.2.1', '192.0.2.2']],
    ['current in another order', ['192.0.2.1', '192.0.2.2'], ['192.0.2.2', '192.0.2.1']],
  ])('unchanged (%s): no group, Published', (_label, currentValues, desiredValues) => {
    const p = plan(input(ours(WWW, 'A', currentValues), [want(WWW, 'A', desiredValues)]));
    expect(p.groups).toEqual([]);
    expect(status(p, WWW, 'A')).toEqual({ state: 'Published' });
  });

  it.each<[string, DesiredRecord, RecordSet]>([
    ['new value', want(WWW, 'A', ['192.0.2.9']), rs(WWW, 'A', ['192.0.2.9'])],
    [
      'an added value',
      want(WWW, 'A', ['192.0.2.2', '192.0.2.1']),
      rs(WWW, 'A', ['192.0.2.1', '192.0.2.2']),
    ],
    [
      'new TTL',
      want(WWW, 'A', ['192.0.2.1'], WEB, { ttl: 60 }),
      rs(WWW, 'A', ['192.0.2.1'], { ttl: 60 }),
    ],
  ])('%s: UPSERT of the record only', (_label, desired, expected) => {
    const p = plan(input(ours(WWW, 'A', ['192.0.2.1']), [desired]));
    expect(p.groups).toEqual([
      {
        key: recordKey(WWW, 'A'),
        resource: WEB,
        changes: [{ action: 'UPSERT', record: expected }],
      },
    ]);
    expect(status(p, WWW, 'A')).toEqual({ state: 'Pending' });
  });

  it('moved to another Ingress, the old one no longer asking for it: UPSERT companion', () => {
    const p = plan(input(ours(WWW, 'A', ['192.0.2.1'], API), [want(WWW, 'A', ['192.0.2.1'], WEB)]));
    expect(p.groups).toEqual([
      {
        key: recordKey(WWW, 'A'),
        resource: WEB,
        changes: [{ action: 'UPSERT', record: companion(WWW, 'A', WEB) }],
      },
    ]);
    expect(status(p, WWW, 'A')).toEqual({ state: 'Pending' });
  });

  it('with a stale companion that is missing its record: CREATE record, UPSERT companion', () => {
    const p = plan(input([companion(WWW, 'A', API)], [want(WWW, 'A', ['192.0.2.1'])]));
    expect(p.groups.map((g) => summary(g.changes))).toEqual([
      ['CREATE A www.example.test', 'UPSERT TXT a-www.example.test'],
    ]);
  });
});

describe('plan: records certroute does not own', () => {
  it.each<[string, RecordSet[], string]>([
    ['no companion', [rs(WWW, 'A', ['198.51.100.1'])], 'unmanaged (no ownership record)'],
    [
      'a companion with junk only',
      [rs(WWW, 'A', ['198.51.100.1']), txt('a-www.example.test', '"v=spf1 -all"')],
      'unmanaged (no ownership record)',
    ],
    [
      'another certroute owner id',
      [
        rs(WWW, 'A', ['198.51.100.1']),
        txt('a-www.example.test', ownerValue('other', 'ingress/apps/x')),
      ],
      'certroute owner "other" (ingress/apps/x)',
    ],
    [
      'a non-adoptable external-dns owner (new format)',
      [
        rs(WWW, 'A', ['198.51.100.1']),
        txt('a-www.example.test', extDns('stranger', 'ingress/apps/x')),
      ],
      'external-dns owner "stranger" (ingress/apps/x)',
    ],
    [
      'a non-adoptable external-dns owner (legacy format)',
      [rs(WWW, 'A', ['198.51.100.1']), txt(WWW, extDns('stranger'))],
      'external-dns owner "stranger"',
    ],
  ])('%s: OwnedByOther, no change', (_label, current, owner) => {
    const p = plan(input(current, [want(WWW, 'A', ['192.0.2.1'])]));
    expect(p.groups).toEqual([]);
    const s = status(p, WWW, 'A');
    expect(s).toMatchObject({ state: 'OwnedByOther', owner });
    expect(s?.message).toContain(owner);
    expect(s?.message).toContain('A www.example.test');
  });
});

describe('plan: adoption of external-dns records', () => {
  const legacyOwner = extDns('legacy', 'ingress/apps/web');
  const adopted = 'adopted from external-dns owner "legacy" (ingress/apps/web)';

  it.each<[string, RecordSet[], string[]]>([
    [
      'new-format companion',
      [rs(WWW, 'A', ['198.51.100.1']), txt('a-www.example.test', legacyOwner)],
      ['UPSERT A www.example.test', 'UPSERT TXT a-www.example.test'],
    ],
    [
      'legacy same-name TXT',
      [rs(WWW, 'A', ['198.51.100.1']), txt(WWW, legacyOwner)],
      ['UPSERT A www.example.test', 'CREATE TXT a-www.example.test', 'DELETE TXT www.example.test'],
    ],
    [
      'both formats, as external-dns writes them',
      [
        rs(WWW, 'A', ['198.51.100.1']),
        txt('a-www.example.test', legacyOwner),
        txt(WWW, legacyOwner),
      ],
      ['UPSERT A www.example.test', 'UPSERT TXT a-www.example.test', 'DELETE TXT www.example.test'],
    ],
    [
      'record already right: only the registry changes',
      [rs(WWW, 'A', ['192.0.2.1']), txt(WWW, legacyOwner)],
      ['CREATE TXT a-www.example.test', 'DELETE TXT www.example.test'],
    ],
  ])('%s', (_label, current, expected) => {
    const p = plan(input(current, [want(WWW, 'A', ['192.0.2.1'])]));
    expect(p.groups).toHaveLength(1);
    const [g] = p.groups;
    expect(g?.key).toBe(recordKey(WWW, 'A'));
    expect(summary(g?.changes ?? [])).toEqual(expected);
    const companionChange = g?.changes.find((c) => c.record.name === 'a-www.example.test');
    expect(companionChange?.record).toEqual(companion(WWW, 'A'));
    expect(status(p, WWW, 'A')).toEqual({ state: 'Pending', message: adopted });
  });

  it('deletes the legacy TXT record set it found', () => {
    const legacy = txt(WWW, legacyOwner);
    const p = plan(input([rs(WWW, 'A', ['192.0.2.1']), legacy], [want(WWW, 'A', ['192.0.2.1'])]));
    expect(p.groups[0]?.changes).toContainEqual({ action: 'DELETE', record: legacy });
  });

  it('adopts a CNAME from its new-format companion', () => {
    const p = plan(
      input(
        [rs(WWW, 'CNAME', ['old.example.net']), txt('cname-www.example.test', legacyOwner)],
        [want(WWW, 'CNAME', [LB])],
      ),
    );
    expect(p.groups.map((g) => summary(g.changes))).toEqual([
      ['UPSERT CNAME www.example.test', 'UPSERT TXT cname-www.example.test'],
    ]);
    expect(status(p, WWW, 'CNAME')).toEqual({ state: 'Pending', message: adopted });
  });

  it('does not delete a legacy TXT of a non-adoptable owner', () => {
    const p = plan(
      input(
        [txt('a-www.example.test', legacyOwner), txt(WWW, extDns('stranger'))],
        [want(WWW, 'A', ['192.0.2.1'])],
      ),
    );
    const changes = p.groups.flatMap((g) => summary(g.changes));
    expect(changes).not.toContain('DELETE TXT www.example.test');
  });

  it('keeps foreign values that share the legacy TXT record set', () => {
    const legacy = txt(WWW, legacyOwner, '"google-site-verification=abc"');
    const p = plan(input([rs(WWW, 'A', ['192.0.2.1']), legacy], [want(WWW, 'A', ['192.0.2.1'])]));
    const changes = p.groups.flatMap((g) => g.changes);
    expect(changes).not.toContainEqual({ action: 'DELETE', record: legacy });
  });

  it('deletes a legacy TXT shared by A and AAAA only once', () => {
    const p = plan(
      input(
        [rs(WWW, 'A', ['198.51.100.1']), rs(WWW, 'AAAA', ['2001:db8::1']), txt(WWW, legacyOwner)],
        [want(WWW, 'A', ['192.0.2.1']), want(WWW, 'AAAA', ['2001:db8::2'])],
      ),
    );
    const deletes = p.groups
      .flatMap((g) => summary(g.changes))
      .filter((c) => c === 'DELETE TXT www.example.test');
    expect(deletes).toHaveLength(1);
  });
});

describe('plan: CNAME and A/AAAA clashes', () => {
  it('desired A where our CNAME exists: DELETE CNAME + companion, CREATE A + companion', () => {
    const current = ours(WWW, 'CNAME', [LB]);
    const p = plan(input(current, [want(WWW, 'A', ['192.0.2.1'])]));
    expect(p.groups).toEqual([
      {
        key: recordKey(WWW, 'A'),
        resource: WEB,
        changes: [
          { action: 'DELETE', record: current[0] },
          { action: 'DELETE', record: current[1] },
          { action: 'CREATE', record: rs(WWW, 'A', ['192.0.2.1']) },
          { action: 'CREATE', record: companion(WWW, 'A') },
        ],
      },
    ]);
    expect(status(p, WWW, 'A')).toEqual({ state: 'Pending' });
  });

  it.each<[string, ManagedType]>([
    ['A', 'A'],
    ['AAAA', 'AAAA'],
  ])('desired CNAME where our %s exists: replaced in one group', (_label, type) => {
    const value = type === 'A' ? '192.0.2.1' : '2001:db8::1';
    const p = plan(input(ours(WWW, type, [value]), [want(WWW, 'CNAME', [LB])]));
    expect(p.groups.map((g) => summary(g.changes))).toEqual([
      [
        `DELETE ${type} www.example.test`,
        `DELETE TXT ${type.toLowerCase()}-www.example.test`,
        'CREATE CNAME www.example.test',
        'CREATE TXT cname-www.example.test',
      ],
    ]);
  });

  it.each<[string, RecordSet[], string]>([
    ['unmanaged CNAME', [rs(WWW, 'CNAME', [LB])], 'unmanaged (no ownership record)'],
    [
      'CNAME of another certroute owner',
      [rs(WWW, 'CNAME', [LB]), txt('cname-www.example.test', ownerValue('other', WEB))],
      `certroute owner "other" (${WEB})`,
    ],
    [
      'CNAME of an external-dns owner, even an adoptable one',
      [rs(WWW, 'CNAME', [LB]), txt('cname-www.example.test', extDns('legacy'))],
      'external-dns owner "legacy"',
    ],
  ])('desired A where a foreign CNAME exists (%s): OwnedByOther', (_label, current, owner) => {
    const p = plan(input(current, [want(WWW, 'A', ['192.0.2.1'])]));
    expect(p.groups).toEqual([]);
    const s = status(p, WWW, 'A');
    expect(s).toMatchObject({ state: 'OwnedByOther', owner });
    expect(s?.message).toContain('CNAME www.example.test');
  });

  it('desired CNAME where a foreign A exists: OwnedByOther', () => {
    const p = plan(input([rs(WWW, 'A', ['198.51.100.1'])], [want(WWW, 'CNAME', [LB])]));
    expect(p.groups).toEqual([]);
    expect(status(p, WWW, 'CNAME')).toMatchObject({
      state: 'OwnedByOther',
      owner: 'unmanaged (no ownership record)',
    });
  });

  it('our CNAME with a set identifier is not replaced', () => {
    const p = plan(
      input(ours(WWW, 'CNAME', [LB], WEB, { setIdentifier: 'blue' }), [
        want(WWW, 'A', ['192.0.2.1']),
      ]),
    );
    expect(p.groups).toEqual([]);
    expect(status(p, WWW, 'A')?.state).toBe('OwnedByOther');
  });

  it('our CNAME replaced by an A and an AAAA is deleted only once', () => {
    const p = plan(
      input(ours(WWW, 'CNAME', [LB]), [
        want(WWW, 'A', ['192.0.2.1']),
        want(WWW, 'AAAA', ['2001:db8::1']),
      ]),
    );
    const deletes = p.groups
      .flatMap((g) => summary(g.changes))
      .filter((c) => c.startsWith('DELETE'));
    expect(deletes).toEqual(['DELETE CNAME www.example.test', 'DELETE TXT cname-www.example.test']);
  });

  it.each<[string, RecordSet]>([
    ['a foreign TXT', txt(WWW, '"google-site-verification=abc"')],
    ['a foreign AAAA', rs(WWW, 'AAAA', ['2001:db8::1'])],
  ])('desired CNAME where our A and %s share the name: OwnedByOther', (_label, foreign) => {
    const p = plan(input([...ours(WWW, 'A', ['192.0.2.1']), foreign], [want(WWW, 'CNAME', [LB])]));
    expect(p.groups).toEqual([]);
    expect(status(p, WWW, 'CNAME')?.state).toBe('OwnedByOther');
  });

  it('desired CNAME where our A and our AAAA exist: both replaced in the CNAME group', () => {
    const p = plan(
      input(
        [...ours(WWW, 'A', ['192.0.2.1']), ...ours(WWW, 'AAAA', ['2001:db8::1'])],
        [want(WWW, 'CNAME', [LB])],
      ),
    );
    const kept = applyPolicy('upsert-only', p.groups);
    expect(kept).toHaveLength(1);
    expect(summary(kept[0]?.changes ?? []).sort()).toEqual(
      [
        'DELETE A www.example.test',
        'DELETE TXT a-www.example.test',
        'DELETE AAAA www.example.test',
        'DELETE TXT aaaa-www.example.test',
        'CREATE CNAME www.example.test',
        'CREATE TXT cname-www.example.test',
      ].sort(),
    );
  });

  it('does not replace our record of another type that another resource still holds', () => {
    const p = plan(
      input(ours(WWW, 'CNAME', [LB], WEB), [
        want(WWW, 'CNAME', [LB], WEB),
        want(WWW, 'A', ['192.0.2.1'], API),
      ]),
    );
    expect(p.groups).toEqual([]);
    expect(status(p, WWW, 'CNAME', WEB)).toEqual({ state: 'Published' });
    expect(status(p, WWW, 'A', API)?.state).toBe('OwnedByOther');
  });
});

describe('plan: routing-policy records', () => {
  it.each<[string, RecordSet[]]>([
    ['foreign', [rs(WWW, 'A', ['198.51.100.1'], { setIdentifier: 'eu' })]],
    ['ours', ours(WWW, 'A', ['198.51.100.1'], WEB, { setIdentifier: 'eu' })],
  ])('%s record with a set identifier: OwnedByOther "routing policy"', (_label, current) => {
    const p = plan(input(current, [want(WWW, 'A', ['192.0.2.1'])]));
    expect(p.groups).toEqual([]);
    const s = status(p, WWW, 'A');
    expect(s).toMatchObject({ state: 'OwnedByOther', owner: 'routing policy' });
    expect(s?.message).toContain('set identifier eu');
  });
});

describe('plan: ALIAS records', () => {
  const alias = (dnsName: string, hostedZoneId = ELB_ZONE): Alias => ({ hostedZoneId, dnsName });
  const wantAlias = (a: Alias) => want('example.test', 'A', [], WEB, { alias: a });
  const current = (a: Alias) => ours('example.test', 'A', [], WEB, { alias: a, ttl: undefined });

  it.each<[string, Alias, Alias]>([
    ['identical', alias(LB), alias(LB)],
    ['trailing dot', alias(`${LB}.`), alias(LB)],
    ['case', alias(LB.toUpperCase()), alias(LB)],
    ['case and trailing dot', alias(`${LB.toUpperCase()}.`), alias(LB)],
  ])('equal alias (%s): no change', (_label, existing, desired) => {
    const p = plan(input(current(existing), [wantAlias(desired)]));
    expect(p.groups).toEqual([]);
    expect(status(p, 'example.test', 'A')).toEqual({ state: 'Published' });
  });

  it.each<[string, RecordSet[], Alias]>([
    ['other hosted zone id', current(alias(LB, 'Z2IFOLAFXWLO4F')), alias(LB)],
    ['other DNS name', current(alias('lb-2.eu-west-1.elb.amazonaws.com')), alias(LB)],
    ['plain A today', ours('example.test', 'A', ['192.0.2.1']), alias(LB)],
  ])('%s: UPSERT of the record', (_label, existing, desired) => {
    const p = plan(input(existing, [wantAlias(desired)]));
    expect(p.groups).toEqual([
      {
        key: recordKey('example.test', 'A'),
        resource: WEB,
        changes: [
          {
            action: 'UPSERT',
            record: { name: 'example.test', type: 'A', values: [], alias: desired },
          },
        ],
      },
    ]);
  });

  it('a new alias is created without a TTL', () => {
    const p = plan(input([], [wantAlias(alias(LB))]));
    expect(p.groups[0]?.changes[0]).toEqual({
      action: 'CREATE',
      record: { name: 'example.test', type: 'A', values: [], alias: alias(LB) },
    });
  });
});

describe('sameRecord', () => {
  it.each<[string, RecordSet, RecordSet, boolean]>([
    ['values in any order', rs(WWW, 'A', ['1', '2']), rs(WWW, 'A', ['2', '1']), true],
    ['other values', rs(WWW, 'A', ['1', '2']), rs(WWW, 'A', ['1']), false],
    ['other TTL', rs(WWW, 'A', ['1']), rs(WWW, 'A', ['1'], { ttl: 60 }), false],
    [
      'alias vs plain',
      rs(WWW, 'A', [], { alias: { hostedZoneId: 'Z', dnsName: 'x' } }),
      rs(WWW, 'A', []),
      false,
    ],
    [
      'alias, other case and trailing dot',
      rs(WWW, 'A', [], { alias: { hostedZoneId: 'Z', dnsName: 'X.example.' } }),
      rs(WWW, 'A', [], { alias: { hostedZoneId: 'Z', dnsName: 'x.example' } }),
      true,
    ],
  ])('%s', (_label, a, b, expected) => {
    expect(sameRecord(a, b)).toBe(expected);
    expect(sameRecord(b, a)).toBe(expected);
  });
});

describe('plan: several resources claim one record', () => {
  const ALPHA = 'ingress/apps/alpha';
  const ZETA = 'ingress/apps/zeta';

  it.each<[string, DesiredRecord[]]>([
    ['in name order', [want(WWW, 'A', ['192.0.2.1'], ALPHA), want(WWW, 'A', ['192.0.2.1'], ZETA)]],
    [
      'in reverse order',
      [want(WWW, 'A', ['192.0.2.1'], ZETA), want(WWW, 'A', ['192.0.2.1'], ALPHA)],
    ],
  ])('the current owner keeps it (%s)', (_label, desired) => {
    const p = plan(input(ours(WWW, 'A', ['192.0.2.1'], ZETA), desired));
    expect(p.groups).toEqual([]);
    expect(status(p, WWW, 'A', ZETA)).toEqual({ state: 'Published' });
    const loser = status(p, WWW, 'A', ALPHA);
    expect(loser).toMatchObject({ state: 'OwnedByOther', owner: ZETA });
    expect(loser?.message).toBe(`A ${WWW} is also asked for by ${ZETA}, which holds it`);
  });

  it.each<[string, DesiredRecord[]]>([
    ['in name order', [want(WWW, 'A', ['192.0.2.1'], ALPHA), want(WWW, 'A', ['192.0.2.2'], ZETA)]],
    [
      'in reverse order',
      [want(WWW, 'A', ['192.0.2.2'], ZETA), want(WWW, 'A', ['192.0.2.1'], ALPHA)],
    ],
  ])('with no owner yet the first resource by name wins (%s)', (_label, desired) => {
    const p = plan(input([], desired));
    expect(p.groups).toHaveLength(1);
    expect(p.groups[0]?.resource).toBe(ALPHA);
    expect(p.groups[0]?.changes[0]?.record.values).toEqual(['192.0.2.1']);
    expect(status(p, WWW, 'A', ALPHA)).toEqual({ state: 'Pending' });
    expect(status(p, WWW, 'A', ZETA)).toMatchObject({ state: 'OwnedByOther', owner: ALPHA });
  });

  it('a holder that no longer asks for it hands it to the first claimant by name', () => {
    const p = plan(
      input(ours(WWW, 'A', ['192.0.2.1'], 'ingress/apps/gone'), [
        want(WWW, 'A', ['192.0.2.1'], ZETA),
        want(WWW, 'A', ['192.0.2.1'], ALPHA),
      ]),
    );
    expect(p.groups.map((g) => [g.resource, ...summary(g.changes)])).toEqual([
      [ALPHA, 'UPSERT TXT a-www.example.test'],
    ]);
    expect(status(p, WWW, 'A', ZETA)).toMatchObject({ state: 'OwnedByOther', owner: ALPHA });
  });

  it('claims of different types at one name are independent keys', () => {
    const p = plan(
      input([], [want(WWW, 'A', ['192.0.2.1'], ZETA), want(WWW, 'AAAA', ['2001:db8::1'], ALPHA)]),
    );
    expect(p.groups.map((g) => g.key).sort()).toEqual([
      recordKey(WWW, 'A'),
      recordKey(WWW, 'AAAA'),
    ]);
  });
});

describe('plan: deletions', () => {
  it.each<[string, string, ManagedType, string[]]>([
    ['host A', WWW, 'A', ['192.0.2.1']],
    ['host CNAME', WWW, 'CNAME', [LB]],
    ['apex AAAA', 'example.test', 'AAAA', ['2001:db8::1']],
  ])('our %s no longer desired: DELETE record + companion', (_label, name, type, values) => {
    const current = ours(name, type, values);
    const p = plan(input(current, []));
    expect(p.groups).toEqual([
      {
        key: recordKey(name, type),
        resource: WEB,
        changes: [
          { action: 'DELETE', record: current[0] },
          { action: 'DELETE', record: current[1] },
        ],
      },
    ]);
    expect(p.statuses.size).toBe(0);
  });

  it('deletes only what is no longer desired', () => {
    const p = plan(
      input(
        [...ours(WWW, 'A', ['192.0.2.1']), ...ours('old.example.test', 'A', ['192.0.2.1'])],
        [want(WWW, 'A', ['192.0.2.1'])],
      ),
    );
    expect(p.groups.map((g) => summary(g.changes))).toEqual([
      ['DELETE A old.example.test', 'DELETE TXT a-old.example.test'],
    ]);
  });

  it.each<[string, RecordSet[], string[]]>([
    ['its resource is out of scope', ours(WWW, 'A', ['192.0.2.1'], 'ingress/other/web'), []],
    ['its resource is waiting for an address', ours(WWW, 'A', ['192.0.2.1']), [WEB]],
    [
      'another certroute owner id',
      [rs(WWW, 'A', ['192.0.2.1']), txt('a-www.example.test', ownerValue('other', WEB))],
      [],
    ],
    [
      'an external-dns owner, even an adoptable one',
      [rs(WWW, 'A', ['192.0.2.1']), txt('a-www.example.test', extDns('legacy', WEB))],
      [],
    ],
    ['no owner', [rs(WWW, 'A', ['192.0.2.1'])], []],
    ['a set identifier', ours(WWW, 'A', ['192.0.2.1'], WEB, { setIdentifier: 'eu' }), []],
    [
      'no resource in our companion',
      [
        rs(WWW, 'A', ['192.0.2.1']),
        txt('a-www.example.test', '"heritage=certroute,certroute/owner=me"'),
      ],
      [],
    ],
    ['a type certroute does not manage', [rs(WWW, 'MX', ['10 mail.example.test'])], []],
  ])('not deleted when %s', (_label, current, waiting) => {
    const p = plan(input(current, [], waiting));
    expect(p.groups).toEqual([]);
  });

  it('a record still desired but refused is not deleted', () => {
    const p = plan(
      input(ours(WWW, 'A', ['192.0.2.1'], WEB, { setIdentifier: 'eu' }), [
        want(WWW, 'A', ['192.0.2.9']),
      ]),
    );
    expect(p.groups).toEqual([]);
  });
});
