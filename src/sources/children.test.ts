import { describe, expect, it } from 'vitest';
import { holdForAddressMs, planChildren, type Child } from './children.js';

const me = 'uid-me';

function child(
  name: string,
  spec: unknown,
  owner?: { uid: string; controller?: boolean; kind?: string; name?: string },
  extra: Partial<Child['metadata']> = {},
): Child {
  return {
    metadata: {
      name,
      namespace: 'shop',
      ...extra,
      ...(owner
        ? {
            ownerReferences: [{ kind: 'Ingress', name: 'owner', controller: true, ...owner }],
          }
        : {}),
    },
    spec,
  };
}

describe('planChildren', () => {
  it('creates what does not exist', () => {
    const a = child('a', { x: 1 }, { uid: me });
    const b = child('b', { x: 2 }, { uid: me });
    expect(planChildren([a, b], [], me)).toEqual({
      create: [a, b],
      update: [],
      delete: [],
      conflicts: [],
    });
  });

  it.each<[string, unknown, unknown]>([
    ['same key order', { a: 1, b: { c: 2, d: [1, 2] } }, { a: 1, b: { c: 2, d: [1, 2] } }],
    ['different key order', { a: 1, b: 2, c: 3 }, { c: 3, a: 1, b: 2 }],
    [
      'different nested key order',
      { dnsNames: ['x'], issuerRef: { name: 'i' }, acm: { region: 'r', writeSecret: true } },
      { acm: { writeSecret: true, region: 'r' }, issuerRef: { name: 'i' }, dnsNames: ['x'] },
    ],
    [
      'objects inside arrays in a different key order',
      { endpoints: [{ dnsName: 'a', targets: [], recordType: 'A' }] },
      { endpoints: [{ recordType: 'A', targets: [], dnsName: 'a' }] },
    ],
    ['an undefined field vs. a missing one', { a: 1, b: undefined }, { a: 1 }],
  ])('does nothing when the spec is equal (%s)', (_name, desiredSpec, existingSpec) => {
    const d = child('a', desiredSpec, { uid: me });
    const e = child('a', existingSpec, { uid: me }, { resourceVersion: '7', uid: 'child-uid' });
    expect(planChildren([d], [e], me)).toEqual({
      create: [],
      update: [],
      delete: [],
      conflicts: [],
    });
  });

  it.each<[string, unknown, unknown]>([
    ['a changed value', { a: 1 }, { a: 2 }],
    ['an added field', { a: 1, b: 2 }, { a: 1 }],
    ['a removed field', { a: 1 }, { a: 1, b: 2 }],
    ['a reordered array', { names: ['a', 'b'] }, { names: ['b', 'a'] }],
    ['a type change', { ttl: 60 }, { ttl: '60' }],
  ])('updates on %s, keeping the existing metadata and resourceVersion', (_name, ds, es) => {
    const d = child('a', ds, { uid: me });
    const e = {
      ...child('a', es, { uid: me }, { resourceVersion: '42', uid: 'child-uid' }),
      status: { conditions: [] },
    };
    const plan = planChildren([d], [e], me);
    expect(plan.create).toEqual([]);
    expect(plan.delete).toEqual([]);
    expect(plan.conflicts).toEqual([]);
    expect(plan.update).toEqual([{ ...e, spec: ds }]);
    expect(plan.update[0]?.metadata.resourceVersion).toBe('42');
    expect(plan.update[0]?.metadata.uid).toBe('child-uid');
    // the existing object is not mutated
    expect(e.spec).toEqual(es);
  });

  it('deletes only children controlled by the owner that are no longer desired', () => {
    const mine = child('mine', {}, { uid: me });
    const others = child('others', {}, { uid: 'uid-other', name: 'other' });
    const unowned = child('unowned', {});
    const notController = child('not-controller', {}, { uid: me, controller: false });
    const plan = planChildren([], [mine, others, unowned, notController], me);
    expect(plan).toEqual({ create: [], update: [], delete: [mine], conflicts: [] });
  });

  it('deletes nothing when there is nothing desired and nothing owned', () => {
    const plan = planChildren([], [child('x', {}), child('y', {}, { uid: 'uid-other' })], me);
    expect(plan).toEqual({ create: [], update: [], delete: [], conflicts: [] });
  });

  it.each<[string, Child, string]>([
    [
      'another Ingress',
      child('a', { x: 1 }, { uid: 'uid-other', kind: 'Ingress', name: 'other' }),
      'Ingress/other',
    ],
    [
      'another kind of controller',
      child('a', { x: 1 }, { uid: 'uid-x', kind: 'Deployment', name: 'dep' }),
      'Deployment/dep',
    ],
    ['nobody', child('a', { x: 1 }), 'nobody (created by hand)'],
    [
      'nobody, though we are a non-controlling owner',
      child('a', { x: 1 }, { uid: me, controller: false }),
      'nobody (created by hand)',
    ],
    [
      'nobody, with an empty ownerReferences list',
      child('a', { x: 1 }, undefined, { ownerReferences: [] }),
      'nobody (created by hand)',
    ],
  ])(
    'reports a conflict for a name held by an object controlled by %s',
    (_name, existing, owner) => {
      // even with a different spec: it is neither updated nor deleted
      const d = child('a', { x: 2 }, { uid: me });
      const plan = planChildren([d], [existing], me);
      expect(plan).toEqual({
        create: [],
        update: [],
        delete: [],
        conflicts: [{ name: 'a', owner }],
      });
    },
  );

  it('plans a mixed set in one go', () => {
    const keep = child('keep', { v: 1 }, { uid: me });
    const change = child('change', { v: 2 }, { uid: me });
    const add = child('add', { v: 3 }, { uid: me });
    const clash = child('clash', { v: 4 }, { uid: me });
    const existing = [
      child('keep', { v: 1 }, { uid: me }, { resourceVersion: '1' }),
      child('change', { v: 1 }, { uid: me }, { resourceVersion: '2' }),
      child('clash', { v: 4 }, { uid: 'uid-other', name: 'other' }),
      child('gone', { v: 5 }, { uid: me }),
      child('foreign', { v: 6 }, { uid: 'uid-other', name: 'other' }),
      child('manual', { v: 7 }),
    ];
    const plan = planChildren([keep, change, add, clash], existing, me);
    expect(plan.create.map((c) => c.metadata.name)).toEqual(['add']);
    expect(plan.update).toEqual([{ ...existing[1], spec: { v: 2 } }]);
    expect(plan.delete.map((c) => c.metadata.name)).toEqual(['gone']);
    expect(plan.conflicts).toEqual([{ name: 'clash', owner: 'Ingress/other' }]);
  });
});

describe('planChildren: owned annotations', () => {
  const mine = { uid: 'u1', controller: true };
  const key = 'certroute.io/source-problems';
  it.each([
    ['set where absent', {}, { [key]: '[1]' }, { [key]: '[1]', other: 'x' }],
    ['changed', { [key]: '[1]' }, { [key]: '[2]' }, { [key]: '[2]', other: 'x' }],
    ['removed', { [key]: '[1]' }, {}, { other: 'x' }],
    ['the same: no update', { [key]: '[1]' }, { [key]: '[1]' }, undefined],
  ])('%s', (_name, have, want, expected) => {
    const plan = planChildren(
      [child('a', { x: 1 }, undefined, { annotations: want })],
      [child('a', { x: 1 }, mine, { annotations: { ...have, other: 'x' } })],
      'u1',
      [key],
    );
    expect(plan.update[0]?.metadata.annotations).toEqual(expected);
    expect(plan.update.length).toBe(expected ? 1 : 0);
  });

  it('ignores annotations it does not own', () => {
    const plan = planChildren(
      [child('a', { x: 1 }, undefined, { annotations: { theirs: '2' } })],
      [child('a', { x: 1 }, mine, { annotations: { theirs: '1' } })],
      'u1',
      [key],
    );
    expect(plan.update).toEqual([]);
  });
});

describe('holdForAddressMs', () => {
  const t0 = Date.parse('2026-12-07T10:00:00Z');
  const ing = (createdMsAgo: number | undefined, address: boolean) => ({
    metadata:
      createdMsAgo === undefined
        ? {}
        : { creationTimestamp: new Date(t0 - createdMsAgo).toISOString() },
    status: { loadBalancer: { ingress: address ? [{ ip: '192.0.2.1' }] : [] } },
  });
  it('holds only a fresh Ingress with no address, for what is left of the grace', () => {
    const cases: [number | undefined, boolean, number][] = [
      [0, false, 2000],
      [500, false, 1500],
      [1999, false, 1],
      [2000, false, 0],
      [60_000, false, 0],
      [500, true, 0],
      [undefined, false, 0],
      // Created "in the future" (a skewed clock): no wait.
      [-5000, false, 0],
    ];
    for (const [ago, address, want] of cases)
      expect(holdForAddressMs(ing(ago, address), t0), `${ago} ${address}`).toBe(want);
  });
});
