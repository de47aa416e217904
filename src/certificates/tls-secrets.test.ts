import * as k8s from '@kubernetes/client-node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ResilientInformer } from '../kube/informer.js';
import { silentLogger } from '../observability/logger.js';
import { createMetrics } from '../observability/metrics.js';
import { TlsSecretMonitor } from './tls-secrets.js';

/** An Ingress informer stand-in: a handler list and a fixed cache. */
function ingresses(items: k8s.V1Ingress[]) {
  const handlers: (() => void)[] = [];
  const inf = {
    on: (h: () => void) => handlers.push(h),
    list: () => items,
  } as unknown as ResilientInformer<k8s.V1Ingress>;
  return { inf, fire: () => handlers.forEach((h) => h()) };
}

describe('TlsSecretMonitor', () => {
  afterEach(() => vi.useRealTimers());

  it('schedules no refresh from Ingress events before start, and one after', async () => {
    vi.useFakeTimers();
    const ing = ingresses([
      { metadata: { namespace: 'a', name: 'web' }, spec: { tls: [{ secretName: 'web-tls' }] } },
    ]);
    const reads: string[] = [];
    const managed = {
      get: (name: string, namespace: string) => {
        reads.push(`${namespace}/${name}`);
        // Cached, without a certificate: nothing to export, and no API read.
        return { metadata: { name, namespace } };
      },
    } as unknown as ResilientInformer<k8s.V1Secret>;
    // A cluster that is never called: every Secret here is in the cache.
    const kubeConfig = new k8s.KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [{ name: 'c', server: 'https://127.0.0.1:1' }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const monitor = new TlsSecretMonitor({
      kubeConfig,
      ingresses: [ing.inf],
      managed,
      metrics: createMetrics(),
      log: silentLogger,
      isLeader: () => true,
      intervalMs: 3_600_000,
    });

    // The initial list: Ingress events arrive while the caches fill.
    ing.fire();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(reads).toEqual([]);

    monitor.start();
    ing.fire();
    await vi.advanceTimersByTimeAsync(1_500);
    expect(reads).toEqual(['a/web-tls']);
    await monitor.stop();

    // Stopped again: events schedule nothing.
    ing.fire();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(reads).toEqual(['a/web-tls']);
  });
});
