// The informers' watches (src/kube/raw-api.ts, ADR 0013) against the lab's API server: watch
// lists, the events after them, and the API's errors.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, RawApi, StreamWatch } from '../../src/kube/raw-api.js';
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

describe('RawApi and StreamWatch', () => {
  for (const compression of [false, true])
    it(`read a watch list${compression ? ' (gzipped)' : ''}, then the events after it until aborted`, async () => {
      const api = new RawApi(kc, compression);
      const path = `/api/v1/namespaces/${ns}/configmaps`;
      const selector = { labelSelector: 'lab/stream=yes' };
      const streamed = await watchList(
        new StreamWatch(api),
        path,
        { resourceVersion: '0', ...selector },
        (o) => o as k8s.V1ConfigMap,
      );
      if (!('list' in streamed)) throw new Error(streamed.failure.reason);
      const items = streamed.list.items;
      expect(items.map((c) => c.metadata?.name).sort()).toEqual(['a', 'b', 'c']);
      // Multi-byte text, intact.
      expect(items[0]?.data?.v).toBe('é€'.repeat(2000));
      const rv = streamed.list.metadata?.resourceVersion;
      expect(rv).toMatch(/^\d+$/);

      const events: string[] = [];
      const done: unknown[] = [];
      const ac = await new StreamWatch(api).watch(
        path,
        { resourceVersion: rv, ...selector },
        (type, obj) => events.push(`${type} ${(obj as k8s.V1ConfigMap).metadata?.name}`),
        (err) => done.push(err),
      );
      const name = compression ? 'e' : 'd';
      await core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name, labels: { 'lab/stream': 'yes' } } },
      });
      await core.deleteNamespacedConfigMap({ namespace: ns, name });
      await eventually(() => events.length >= 2);
      expect(events).toEqual([`ADDED ${name}`, `DELETED ${name}`]);
      ac.abort();
      await eventually(() => done.length > 0);
      expect(done).toEqual([null]);
    });

  it("give the API's status and message when it says no", async () => {
    const api = new RawApi(kc);
    const path = '/api/v1/nosuchthings';
    const err = await api.get(path, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ statusCode: 404, code: 404 });
    expect((err as Error).message).toMatch(/^HTTP 404 Not Found: the server could not find/);

    const done: unknown[] = [];
    await new StreamWatch(api).watch(
      path,
      { watch: true },
      () => undefined,
      (e) => done.push(e),
    );
    await eventually(() => done.length > 0);
    expect(done).toHaveLength(1);
    expect(done[0]).toMatchObject({ statusCode: 404 });
  });
});
