// StreamWatch (src/kube/watch-stream.ts, ADR 0013) against the lab's API server: every informer
// reads its watch lists and watches through it.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamWatch } from '../../src/kube/watch-stream.js';
import { watchList } from '../../src/kube/watch-list.js';
import { adminConfig, createNamespace, deleteNamespace, eventually } from '../lab/context.js';

const kc = adminConfig();
const core = kc.makeApiClient(k8s.CoreV1Api);
let ns: string;

beforeAll(async () => {
  ns = await createNamespace(kc, 'stream');
  for (const name of ['a', 'b', 'c'])
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name, labels: { 'lab/stream': 'yes' } }, data: { v: 'é€'.repeat(2000) } },
    });
});
afterAll(async () => {
  await deleteNamespace(kc, ns);
});

describe('StreamWatch', () => {
  it('reads a watch list to its end and then the events that follow, until aborted', async () => {
    const path = `/api/v1/namespaces/${ns}/configmaps`;
    const watch = new StreamWatch(kc);
    const listed = await watchList(
      watch,
      path,
      { resourceVersion: '', labelSelector: 'lab/stream=yes' },
      (o) => o as k8s.V1ConfigMap,
    );
    if (!('list' in listed)) throw new Error(listed.failure.reason);
    expect(listed.list.items.map((c) => c.metadata?.name).sort()).toEqual(['a', 'b', 'c']);
    // Multi-byte text through the line splitter, intact.
    expect(listed.list.items[0]?.data?.v).toBe('é€'.repeat(2000));
    const rv = listed.list.metadata?.resourceVersion;
    expect(rv).toMatch(/^\d+$/);

    const events: string[] = [];
    const done: unknown[] = [];
    const ac = await watch.watch(
      path,
      { resourceVersion: rv, labelSelector: 'lab/stream=yes' },
      (type, obj) => events.push(`${type} ${(obj as k8s.V1ConfigMap).metadata?.name}`),
      (err) => done.push(err),
    );
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'd', labels: { 'lab/stream': 'yes' } } },
    });
    await core.deleteNamespacedConfigMap({ namespace: ns, name: 'a' });
    await eventually(() => events.length >= 2);
    expect(events).toEqual(['ADDED d', 'DELETED a']);
    ac.abort();
    await eventually(() => done.length > 0);
    expect(done).toEqual([null]);
  });

  it('gives an error with the HTTP status when the API server says no', async () => {
    const done: unknown[] = [];
    await new StreamWatch(kc).watch(
      '/apis/certroute.io/v1alpha1/nosuchthings',
      {},
      () => undefined,
      (err) => done.push(err),
    );
    await eventually(() => done.length > 0);
    expect(done).toHaveLength(1);
    expect((done[0] as { statusCode?: number }).statusCode).toBe(404);
  });
});
