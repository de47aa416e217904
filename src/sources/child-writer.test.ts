import { describe, expect, it } from 'vitest';
import type { CrdClient } from '../kube/crd-client.js';
import { createChild, replaceChild } from './child-writer.js';
import type { Child } from './children.js';

/** The API server's rules that matter here: create refuses a taken name (409), replace needs the resourceVersion. */
function store(existing: Child[]) {
  const objects = new Map(existing.map((o) => [o.metadata.name ?? '', o]));
  const replaced: Child[] = [];
  const crds = {
    create: (_p: string, o: Child) => {
      if (objects.has(o.metadata.name ?? ''))
        return Promise.reject(Object.assign(new Error('AlreadyExists'), { code: 409 }));
      objects.set(o.metadata.name ?? '', o);
      return Promise.resolve(o);
    },
    get: (_p: string, _ns: string, name: string) => {
      const o = objects.get(name);
      return o
        ? Promise.resolve(o)
        : Promise.reject(Object.assign(new Error('NotFound'), { code: 404 }));
    },
    replace: (_p: string, o: Child) => {
      const cur = objects.get(o.metadata.name ?? '');
      if (cur?.metadata.resourceVersion !== o.metadata.resourceVersion)
        return Promise.reject(Object.assign(new Error('Conflict'), { code: 409 }));
      replaced.push(o);
      objects.set(o.metadata.name ?? '', o);
      return Promise.resolve(o);
    },
  } as unknown as CrdClient;
  return { crds, objects, replaced };
}

const owner = (uid: string, name: string) => ({
  apiVersion: 'v1',
  kind: 'HTTPRoute',
  name,
  uid,
  controller: true,
});
const child = (name: string, extra: Record<string, unknown> = {}): Child =>
  ({
    apiVersion: 'certroute.io/v1alpha1',
    kind: 'DNSEndpoint',
    metadata: { name, namespace: 'shop', ...extra },
    spec: { endpoints: [] },
  }) as unknown as Child;

describe('createChild', () => {
  it('creates a child whose name is free', async () => {
    const { crds, objects } = store([]);
    expect(
      await createChild(
        crds,
        'dnsendpoints',
        child('web', { ownerReferences: [owner('u1', 'web')] }),
        'u1',
      ),
    ).toBeUndefined();
    expect(objects.has('web')).toBe(true);
  });

  it('restores its own child that fell out of the cache, keeping its finalizers', async () => {
    const { crds, replaced } = store([
      child('web', {
        ownerReferences: [owner('u1', 'web')],
        resourceVersion: '7',
        finalizers: ['certroute.io/acm-certificate'],
      }),
    ]);
    const want = child('web', {
      ownerReferences: [owner('u1', 'web')],
      labels: { 'app.kubernetes.io/managed-by': 'certroute' },
    });
    expect(await createChild(crds, 'dnsendpoints', want, 'u1')).toBeUndefined();
    expect(replaced[0]?.metadata).toMatchObject({
      resourceVersion: '7',
      finalizers: ['certroute.io/acm-certificate'],
      labels: { 'app.kubernetes.io/managed-by': 'certroute' },
    });
  });

  it.each([
    ['made by hand', child('web'), 'nobody (created by hand)'],
    [
      'controlled by another source',
      child('web', { ownerReferences: [owner('u2', 'other')] }),
      'HTTPRoute/other',
    ],
  ])('never takes over a child %s: says who holds it', async (_n, held, who) => {
    const { crds, replaced } = store([held]);
    expect(
      await createChild(
        crds,
        'dnsendpoints',
        child('web', { ownerReferences: [owner('u1', 'web')] }),
        'u1',
      ),
    ).toBe(who);
    expect(replaced).toEqual([]);
  });
});

describe('replaceChild', () => {
  it('after a conflict (a status write in between), reads again and replaces the spec once', async () => {
    const { crds, replaced } = store([
      child('web', { resourceVersion: '8', annotations: { old: 'x' }, labels: { keep: 'me' } }),
    ]);
    const want = {
      ...child('web', { resourceVersion: '7', annotations: { new: 'y' } }),
      spec: {
        endpoints: [{ dnsName: 'www.example.com', recordType: 'A', targets: ['192.0.2.1'] }],
      },
    } as unknown as Child;
    await replaceChild(crds, 'dnsendpoints', want);
    expect(replaced).toHaveLength(1);
    expect(replaced[0]?.metadata).toMatchObject({
      resourceVersion: '8',
      annotations: { new: 'y' },
      labels: { keep: 'me' },
    });
    expect(replaced[0]?.spec).toEqual(want.spec);
  });
});
