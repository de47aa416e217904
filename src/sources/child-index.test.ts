import { describe, expect, it } from 'vitest';
import type { Handler } from '../kube/informer.js';
import type { Informer } from '../kube/scoped-informer.js';
import { ChildIndex } from './child-index.js';

interface Obj {
  metadata: {
    name: string;
    namespace: string;
    ownerReferences?: {
      apiVersion: string;
      kind: string;
      name: string;
      uid: string;
      controller?: boolean;
    }[];
  };
  spec: unknown;
}

/** An in-memory cache with an informer's read side: events first update the map. */
function cache(): { inf: Informer<Obj>; emit(ev: 'add' | 'update' | 'delete', o: Obj): void } {
  const objs = new Map<string, Obj>();
  const handlers: Handler<Obj>[] = [];
  const inf: Informer<Obj> = {
    on: (h) => void handlers.push(h),
    synced: true,
    start: () => Promise.resolve(),
    stop: () => Promise.resolve(),
    get: (name, ns) => objs.get(`${ns}/${name}`),
    list: () => [...objs.values()],
  };
  return {
    inf,
    emit(ev, o) {
      const k = `${o.metadata.namespace}/${o.metadata.name}`;
      if (ev === 'delete') objs.delete(k);
      else objs.set(k, o);
      for (const h of handlers) h(ev, o);
    },
  };
}

const child = (name: string, owner?: string, controller = true): Obj => ({
  metadata: {
    name,
    namespace: 'ns',
    ...(owner
      ? {
          ownerReferences: [
            { apiVersion: 'v1', kind: 'Ingress', name: 'i', uid: owner, controller },
          ],
        }
      : {}),
  },
  spec: {},
});
const names = (l: Obj[]) => l.map((o) => o.metadata.name).sort();

describe('ChildIndex', () => {
  it('finds an owner’s children and the holders of the names it wants, each once', () => {
    const c = cache();
    const idx = new ChildIndex(c.inf);
    c.emit('add', child('a', 'u1'));
    c.emit('add', child('b', 'u1'));
    c.emit('add', child('c', 'u2'));
    c.emit('add', child('hand-made'));
    const cases: [string, string[], string[]][] = [
      ['u1', [], ['a', 'b']],
      ['u1', ['a', 'x'], ['a', 'b']],
      ['u1', ['c'], ['a', 'b', 'c']],
      ['u1', ['hand-made'], ['a', 'b', 'hand-made']],
      ['u3', [], []],
    ];
    for (const [owner, wanted, want] of cases)
      expect(names(idx.relevant('ns', owner, wanted)), `${owner} ${wanted.join()}`).toEqual(want);
  });

  it('follows a change of controller and a deletion', () => {
    const c = cache();
    const idx = new ChildIndex(c.inf);
    c.emit('add', child('a', 'u1'));
    c.emit('update', child('a', 'u2'));
    expect(names(idx.relevant('ns', 'u1', []))).toEqual([]);
    expect(names(idx.relevant('ns', 'u2', []))).toEqual(['a']);
    // An owner reference that is not the controller does not count.
    c.emit('update', child('a', 'u2', false));
    expect(names(idx.relevant('ns', 'u2', []))).toEqual([]);
    c.emit('update', child('a', 'u1'));
    c.emit('delete', child('a', 'u1'));
    expect(names(idx.relevant('ns', 'u1', []))).toEqual([]);
  });
});
