// Events against an in-memory API server: what is written, what is counted, what is deduplicated.
import type * as k8s from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubeApiDouble } from '../../test/doubles/kube-api.js';
import { silentLogger } from '../observability/logger.js';
import { createMetrics } from '../observability/metrics.js';
import { EventRecorder } from './events.js';

const events = '/api/v1/namespaces/shop/events';
const ingress = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name: 'web', namespace: 'shop', uid: 'uid-web' },
};
let api: KubeApiDouble;
let recorder: EventRecorder;
let metrics: ReturnType<typeof createMetrics>;
let kubeConfig: k8s.KubeConfig;

beforeEach(async () => {
  api = new KubeApiDouble();
  metrics = createMetrics();
  kubeConfig = await api.start();
  recorder = new EventRecorder(kubeConfig, 'certroute', 'pod-1', silentLogger, metrics);
});

afterEach(() => api.stop());

describe('EventRecorder', () => {
  it('puts Events about cluster-scoped objects in default, or in the namespace it is given', async () => {
    const issuer = {
      apiVersion: 'certroute.io/v1alpha1',
      kind: 'ClusterIssuer',
      metadata: { name: 'le', uid: 'uid-le' },
    };
    await recorder.record(issuer, 'Warning', 'AccountKeyInvalid', 'no key');
    expect(api.list<k8s.CoreV1Event>('/api/v1/namespaces/default/events')).toHaveLength(1);
    const scoped = new EventRecorder(
      kubeConfig,
      'certroute',
      'pod-1',
      silentLogger,
      metrics,
      'certroute-system',
    );
    await scoped.record(issuer, 'Warning', 'AccountKeyInvalid', 'no key');
    const [e] = api.list<k8s.CoreV1Event>('/api/v1/namespaces/certroute-system/events');
    expect(e?.involvedObject).toMatchObject({ kind: 'ClusterIssuer', name: 'le' });
    // Namespaced objects keep their own namespace either way.
    await scoped.record(ingress, 'Warning', 'InvalidHost', 'bad');
    expect(api.list<k8s.CoreV1Event>(events)).toHaveLength(1);
  });

  it('writes a core/v1 Event on the object, from certroute, with a bounded message', async () => {
    await recorder.record(ingress, 'Warning', 'InvalidHost', 'x'.repeat(2000));
    const [e] = api.list<k8s.CoreV1Event>(events);
    expect(e).toMatchObject({
      involvedObject: {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'Ingress',
        name: 'web',
        uid: 'uid-web',
      },
      type: 'Warning',
      reason: 'InvalidHost',
      count: 1,
      source: { component: 'certroute', host: 'pod-1' },
      reportingComponent: 'certroute',
      reportingInstance: 'pod-1',
    });
    expect(e?.message).toHaveLength(1024);
    expect((await metrics.eventsEmitted.get()).values).toEqual([
      { labels: { type: 'Warning', reason: 'InvalidHost' }, value: 1 },
    ]);
  });

  it('counts a repeat on the same Event; another message is another Event', async () => {
    await recorder.record(ingress, 'Warning', 'InvalidHost', 'bad host a');
    await recorder.record(ingress, 'Warning', 'InvalidHost', 'bad host a');
    await recorder.record(ingress, 'Warning', 'InvalidHost', 'bad host a');
    await recorder.record(ingress, 'Warning', 'InvalidHost', 'bad host b');
    const byMessage = new Map(api.list<k8s.CoreV1Event>(events).map((e) => [e.message, e.count]));
    expect(byMessage).toEqual(
      new Map([
        ['bad host a', 3],
        ['bad host b', 1],
      ]),
    );
  });

  it('starts a fresh Event when the old one expired on the server', async () => {
    await recorder.record(ingress, 'Normal', 'RecordPublished', 'A web.example published');
    const [first] = api.list<k8s.CoreV1Event>(events);
    api.delete(events, first?.metadata.name ?? '');
    // The patch meets a 404: logged, not thrown, and forgotten.
    await recorder.record(ingress, 'Normal', 'RecordPublished', 'A web.example published');
    expect(api.list(events)).toHaveLength(0);
    await recorder.record(ingress, 'Normal', 'RecordPublished', 'A web.example published');
    expect(api.list<k8s.CoreV1Event>(events).map((e) => e.count)).toEqual([1]);
  });

  it('never throws when the API server is away', async () => {
    api.down = true;
    await expect(recorder.record(ingress, 'Warning', 'X', 'y')).resolves.toBeUndefined();
    expect((await metrics.eventsEmitted.get()).values).toEqual([]);
  });

  it('puts Events of cluster-scoped objects in the default namespace', async () => {
    await recorder.record(
      { apiVersion: 'certroute.io/v1alpha1', kind: 'ClusterIssuer', metadata: { name: 'le' } },
      'Warning',
      'CAUnreachable',
      'no answer',
    );
    expect(api.list<k8s.CoreV1Event>('/api/v1/namespaces/default/events')).toHaveLength(1);
  });
});
