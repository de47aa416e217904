import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { PooledKubeConfig, poolable } from './kubeconfig.js';

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

  it('still sets the credentials on each request', async () => {
    const kc = config({ token: 'abc' });
    const ctx = new k8s.RequestContext('https://127.0.0.1:6443/api', k8s.HttpMethod.GET);
    await kc.applySecurityAuthentication(ctx);
    expect(ctx.getHeaders().Authorization).toBe('Bearer abc');
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
