import { describe, expect, it } from 'vitest';
import { sharedCount } from './shared-strings.js';
import { specChanges, trim } from './informer.js';

describe('trim', () => {
  it('drops managedFields and the last-applied annotation, keeping everything else', () => {
    const obj = {
      metadata: {
        name: 'a',
        namespace: 'ns',
        managedFields: [{ manager: 'kubectl' }],
        annotations: {
          'kubectl.kubernetes.io/last-applied-configuration': '{"big":"json"}',
          'certroute.io/issuer': 'pebble',
        },
        labels: { app: 'web' },
      },
      spec: { rules: [{ host: 'a.example' }] },
    };
    const out = trim(obj);
    expect(out.metadata).toEqual({
      name: 'a',
      namespace: 'ns',
      annotations: { 'certroute.io/issuer': 'pebble' },
      labels: { app: 'web' },
    });
    expect(out.spec).toEqual({ rules: [{ host: 'a.example' }] });
  });

  it('leaves objects without metadata or annotations alone', () => {
    expect(trim({ kind: 'Status' })).toEqual({ kind: 'Status' });
    expect(trim({ metadata: { name: 'b' } })).toEqual({ metadata: { name: 'b' } });
  });

  it('shares repeated values without changing them or adding properties', () => {
    // Built strings, as JSON.parse gives them: equal, but separate copies.
    const v = (x: string) => [...x].join('');
    const make = () =>
      trim({
        apiVersion: v('certroute.io/v1alpha1'),
        kind: v('Certificate'),
        metadata: {
          name: v('app-1'),
          namespace: v('bench-namespace-1'),
          labels: { 'app.kubernetes.io/managed-by': v('certroute') },
          ownerReferences: [{ apiVersion: v('networking.k8s.io/v1'), kind: v('Ingress') }],
        },
        spec: { endpoints: [{ dnsName: v('a.example'), targets: [v('192.0.2.10')] }] },
        status: { conditions: [{ type: 'Ready', reason: v('WaitingForAddress') }] },
      });
    const empty = sharedCount();
    const a = make();
    // The repeated values of the first object are held now: apiVersion, kind, namespace, the
    // label value, the owner's apiVersion and kind, the target, the condition's type and
    // reason (names are not shared). The second, equal object adds none.
    const held = sharedCount();
    expect(held - empty).toBe(9);
    const b = make();
    expect(sharedCount()).toBe(held);
    expect(b).toEqual(a);
    expect(Object.keys(a)).toEqual(['apiVersion', 'kind', 'metadata', 'spec', 'status']);
    expect(Object.keys(a.spec)).toEqual(['endpoints']);
    expect(Object.keys(a.metadata)).toEqual(['name', 'namespace', 'labels', 'ownerReferences']);
    // Which copy a string is cannot be seen from JS (strings compare by value); that the
    // table did not grow above is the observable part. And nothing changes, nothing is added.
    expect(a.status.conditions[0]).toEqual({ type: 'Ready', reason: 'WaitingForAddress' });
  });
});

describe('specChanges', () => {
  it('passes creations, deletions and generation changes; drops status-only updates', () => {
    const changed = specChanges();
    const obj = (uid: string, generation: number) => ({ metadata: { uid, generation } });
    const steps: [Parameters<typeof changed>[0], ReturnType<typeof obj>, boolean][] = [
      ['add', obj('a', 1), true],
      ['update', obj('a', 1), false], // a status write
      ['update', obj('a', 2), true], // a spec change
      ['update', obj('a', 2), false],
      ['add', obj('b', 1), true], // another object, its own generation
      ['update', obj('b', 1), false],
      ['delete', obj('a', 2), true],
      ['update', obj('a', 2), true], // forgotten on delete
    ];
    expect(steps.map(([ev, o]) => changed(ev, o))).toEqual(steps.map(([, , want]) => want));
  });
});
