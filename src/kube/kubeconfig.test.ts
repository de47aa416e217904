import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../config/index.js';
import {
  PooledKubeConfig,
  loadPooledKubeConfig,
  poolable,
  serviceAccountDir,
} from './kubeconfig.js';

const caData = Buffer.from(
  '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
).toString('base64');

function config(user: Record<string, unknown>): PooledKubeConfig {
  const kc = new PooledKubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', caData, skipTLSVerify: false }],
    users: [{ name: 'u', ...user }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

async function dispatcherOf(kc: k8s.KubeConfig): Promise<unknown> {
  const ctx = new k8s.RequestContext('https://127.0.0.1:6443/api', k8s.HttpMethod.GET);
  await kc.applySecurityAuthentication(ctx);
  return ctx.getDispatcher();
}

describe('PooledKubeConfig', () => {
  it('starts a new pool when the kubeconfig is loaded again', async () => {
    const kc = config({ token: 'abc' });
    const a = await dispatcherOf(kc);
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', caData, skipTLSVerify: false }],
      users: [{ name: 'u', token: 'abc' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    expect(await dispatcherOf(kc)).not.toBe(a);
  });

  it('gives every request the same connection pool', async () => {
    const kc = config({ token: 'abc' });
    const a = await dispatcherOf(kc);
    const b = await dispatcherOf(kc);
    expect(a).toBeDefined();
    expect(b).toBe(a);
  });

  it('still sets the credentials on each request, pooled or not', async () => {
    for (const [user, header] of [
      [{ token: 'abc' }, 'Bearer abc'],
      [{ username: 'u', password: 'p' }, `Basic ${Buffer.from('u:p').toString('base64')}`],
    ] as const) {
      const kc = config(user);
      for (let i = 0; i < 2; i++) {
        const ctx = new k8s.RequestContext('https://127.0.0.1:6443/api', k8s.HttpMethod.GET);
        await kc.applySecurityAuthentication(ctx);
        expect(ctx.getHeaders().Authorization).toBe(header);
      }
    }
  });

  it('keeps client-node’s per-request agents for credentials that may change (exec)', async () => {
    const plain = new k8s.KubeConfig();
    plain.loadFromOptions({
      clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', caData, skipTLSVerify: false }],
      users: [{ name: 'u', token: 'abc' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    // client-node itself builds a new agent per request: what the pool fixes.
    expect(await dispatcherOf(plain)).not.toBe(await dispatcherOf(plain));
    expect(poolable({ name: 'u', token: 'abc' })).toBe(true);
    expect(
      poolable({
        name: 'u',
        exec: { command: 'true', apiVersion: 'client.authentication.k8s.io/v1' },
      }),
    ).toBe(false);
    expect(poolable({ name: 'u', authProvider: { name: 'oidc', config: {} } })).toBe(false);
  });
});

describe('the in-cluster identity', () => {
  const roots: string[] = [];
  afterEach(() => {
    for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
  });

  /** A pod's ServiceAccount files under a fresh root, as the kubelet mounts them. */
  function podRoot(token: string): string {
    const root = mkdtempSync(join(tmpdir(), 'certroute-sa-'));
    roots.push(root);
    const dir = join(root, serviceAccountDir);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'token'), token);
    writeFileSync(join(dir, 'ca.crt'), Buffer.from(caData, 'base64'));
    writeFileSync(join(dir, 'namespace'), 'certroute');
    return root;
  }
  const inPod = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };

  it('shares one pool, and sends the token read from the file', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, inPod);
    try {
      const kc = loadPooledKubeConfig({ kubeconfig: '', inClusterRoot: podRoot('tok-1') + '/' });
      expect(kc.getCurrentCluster()?.server).toBe('https://10.96.0.1:443');
      expect(poolable(kc.getCurrentUser())).toBe(true);
      const a = new k8s.RequestContext('https://10.96.0.1:443/api', k8s.HttpMethod.GET);
      const b = new k8s.RequestContext('https://10.96.0.1:443/api', k8s.HttpMethod.GET);
      await kc.applySecurityAuthentication(a);
      await kc.applySecurityAuthentication(b);
      expect(a.getHeaders().Authorization).toBe('Bearer tok-1');
      expect(a.getDispatcher()).toBeDefined();
      expect(b.getDispatcher()).toBe(a.getDispatcher());
    } finally {
      process.env = saved;
    }
  });

  it('reads no files for a pooled request, and keeps client-node’s token refresh', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, inPod);
    try {
      const root = podRoot('tok-1');
      const kc = loadPooledKubeConfig({ kubeconfig: '', inClusterRoot: root });
      const ctx = () => new k8s.RequestContext('https://10.96.0.1:443/api', k8s.HttpMethod.GET);
      const a = ctx();
      await kc.applySecurityAuthentication(a);
      // The CA file gone: the pooled path must not read it (client-node's own path would throw).
      rmSync(join(root, serviceAccountDir, 'ca.crt'));
      const b = ctx();
      await kc.applySecurityAuthentication(b);
      expect(b.getDispatcher()).toBe(a.getDispatcher());
      expect(b.getHeaders().Authorization).toBe('Bearer tok-1');
    } finally {
      process.env = saved;
    }
  });

  it('refuses to start outside a pod with no kubeconfig, naming what is missing', () => {
    expect(() => loadPooledKubeConfig({ kubeconfig: '', inClusterRoot: podRoot('t') }, {})).toThrow(
      /KUBERNETES_SERVICE_HOST/,
    );
    expect(() =>
      loadPooledKubeConfig({ kubeconfig: '', inClusterRoot: '/nonexistent' }, inPod),
    ).toThrow(ConfigError);
    expect(() =>
      loadPooledKubeConfig({ kubeconfig: '', inClusterRoot: '/nonexistent' }, inPod),
    ).toThrow(/no ServiceAccount token at \/nonexistent\/var\/run\/secrets/);
  });

  it('does not pool other auth providers, which may change TLS settings', () => {
    expect(poolable({ name: 'u', authProvider: { name: 'tokenFile', config: {} } })).toBe(false);
    expect(
      poolable({ name: 'u', authProvider: { name: 'tokenFile', config: { tokenFile: '/t' } } }),
    ).toBe(true);
  });
});
