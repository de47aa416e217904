import * as x509 from '@peculiar/x509';
import * as k8s from '@kubernetes/client-node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ResilientInformer } from '../kube/informer.js';
import { silentLogger } from '../observability/logger.js';
import { createMetrics } from '../observability/metrics.js';
import { cachedSecret } from './stores/secret.js';
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

/** A kubeConfig for a cluster that is never reached (its reads fail at once). */
function unreachable(): k8s.KubeConfig {
  const kubeConfig = new k8s.KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:1' }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kubeConfig;
}

async function selfSigned(notAfter: Date): Promise<string> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await crypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=web',
    keys,
    signingAlgorithm: alg,
    notBefore: new Date('2030-01-01T00:00:00Z'),
    notAfter,
  });
  return cert.toString('pem') + '\n';
}

describe('TlsSecretMonitor', () => {
  it('exports the expiry it read for each referenced Secret, and drops what is no longer named', async () => {
    const notAfter = new Date('2031-03-04T05:06:07Z');
    const pem = await selfSigned(notAfter);
    const secret = (name: string, labels: Record<string, string>) =>
      cachedSecret({
        metadata: { name, namespace: 'a', labels },
        type: 'kubernetes.io/tls',
        data: { 'tls.crt': Buffer.from(pem).toString('base64') },
      });
    const cache = new Map([
      ['a/web-tls', secret('web-tls', { 'app.kubernetes.io/managed-by': 'certroute' })],
      ['a/own-tls', secret('own-tls', {})],
      ['a/empty-tls', { metadata: { name: 'empty-tls', namespace: 'a' } }],
    ]);
    const managed = {
      get: (name: string, namespace: string) => cache.get(`${namespace}/${name}`),
    } as unknown as ResilientInformer<k8s.V1Secret>;
    const tls = [{ secretName: 'web-tls' }, { secretName: 'own-tls' }, { secretName: 'empty-tls' }];
    const ing = ingresses([{ metadata: { namespace: 'a', name: 'web' }, spec: { tls } }]);
    const metrics = createMetrics();
    const monitor = new TlsSecretMonitor({
      kubeConfig: unreachable(),
      ingresses: [ing.inf],
      managed,
      metrics,
      log: silentLogger,
      isLeader: () => true,
      intervalMs: 3_600_000,
    });
    const series = async () =>
      (await metrics.tlsSecretExpiry.get()).values
        .map((v) => ({ ...v.labels, value: v.value }))
        .sort((x, y) => String(x.secret).localeCompare(String(y.secret)));

    monitor.start();
    await monitor.refresh();
    expect(await series()).toEqual([
      { namespace: 'a', secret: 'own-tls', managed: 'false', value: notAfter.getTime() / 1000 },
      { namespace: 'a', secret: 'web-tls', managed: 'true', value: notAfter.getTime() / 1000 },
    ]);

    tls.splice(1, 2);
    await monitor.refresh();
    expect(await series()).toEqual([
      { namespace: 'a', secret: 'web-tls', managed: 'true', value: notAfter.getTime() / 1000 },
    ]);
    await monitor.stop();
  });

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
    const kubeConfig = unreachable();
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
