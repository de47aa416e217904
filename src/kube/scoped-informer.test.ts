import type * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { Handler, ResilientInformer } from './informer.js';
import { NamespacedInformers, scopedInformer } from './scoped-informer.js';

type Obj = k8s.KubernetesObject;

/** A stand-in for one namespace's informer: it holds only that namespace's objects. */
function part(ns: string | undefined, names: string[]) {
  const objs = names.map((name) => ({ metadata: { name, namespace: ns ?? 'any' } }));
  const handlers: Handler<Obj>[] = [];
  const state = { synced: false, started: 0, stopped: 0 };
  const inf = {
    on: (h: Handler<Obj>) => handlers.push(h),
    get synced() {
      return state.synced;
    },
    start: () => {
      state.started++;
      return Promise.resolve();
    },
    stop: () => {
      state.stopped++;
      return Promise.resolve();
    },
    get: (name: string, namespace?: string) =>
      objs.find(
        (o) => o.metadata.name === name && (!namespace || o.metadata.namespace === namespace),
      ),
    list: (namespace?: string) =>
      objs.filter((o) => !namespace || o.metadata.namespace === namespace),
  };
  return { inf: inf as unknown as ResilientInformer<Obj>, handlers, state };
}

describe('scopedInformer', () => {
  it('is one cluster-wide informer without watched namespaces', () => {
    const made: (string | undefined)[] = [];
    const one = part(undefined, ['x']);
    const got = scopedInformer([], (ns) => {
      made.push(ns);
      return one.inf;
    });
    expect(made).toEqual([undefined]);
    expect(got).toBe(one.inf);
  });

  it('is one informer per watched namespace, never a cluster-wide one', () => {
    const made: (string | undefined)[] = [];
    const got = scopedInformer(['a', 'b', 'a'], (ns) => {
      made.push(ns);
      return part(ns, []).inf;
    });
    expect(made).toEqual(['a', 'b']);
    expect(got).toBeInstanceOf(NamespacedInformers);
    expect((got as NamespacedInformers<Obj>).namespaces).toEqual(['a', 'b']);
  });
});

describe('NamespacedInformers', () => {
  const setup = () => {
    const parts = { a: part('a', ['web', 'api']), b: part('b', ['web']) };
    const inf = new NamespacedInformers<Obj>(['a', 'b'], (ns) => parts[ns as 'a' | 'b'].inf);
    return { parts, inf };
  };

  it('reads each namespace from its own informer, and all of them together', () => {
    const { inf } = setup();
    expect(inf.get('web', 'b')?.metadata?.namespace).toBe('b');
    expect(inf.get('api', 'b')).toBeUndefined();
    expect(inf.get('api')?.metadata?.namespace).toBe('a');
    expect(inf.get('web', 'c')).toBeUndefined(); // not watched: nothing, and no error
    expect(inf.list('a').map((o) => o.metadata?.name)).toEqual(['web', 'api']);
    expect(inf.list('c')).toEqual([]);
    expect(inf.list().map((o) => `${o.metadata?.namespace}/${o.metadata?.name}`)).toEqual([
      'a/web',
      'a/api',
      'b/web',
    ]);
  });

  it('is synced only when every namespace is; starts, stops and hands handlers to each', async () => {
    const { parts, inf } = setup();
    const h: Handler<Obj> = () => undefined;
    inf.on(h);
    expect(parts.a.handlers).toEqual([h]);
    expect(parts.b.handlers).toEqual([h]);
    parts.a.state.synced = true;
    expect(inf.synced).toBe(false);
    parts.b.state.synced = true;
    expect(inf.synced).toBe(true);
    await inf.start();
    await inf.stop();
    expect([parts.a.state.started, parts.b.state.started]).toEqual([1, 1]);
    expect([parts.a.state.stopped, parts.b.state.stopped]).toEqual([1, 1]);
  });
});
