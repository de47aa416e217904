// A private API server (so the shared lab is not disturbed) is stopped and started again under
// a running operator: its informers must restart and catch up on changes made after the restart,
// with watch lists and, once the API server refuses them, with plain lists.
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchLists } from '../../src/kube/informer.js';
import type { Operator } from '../../src/operator.js';
import { eventually, labEnv } from '../lab/context.js';
import { ingress, listCertificates } from '../lab/k8s-helpers.js';
import { podIdentityFor, type PodIdentityHandle } from '../lab/identity.js';
import { adminKubeConfig, startKube, type KubeLab } from '../lab/kube.js';
import { ensureNamespace, installCrds, startOperator } from '../lab/operator.js';
import { repoRoot } from '../lab/paths.js';

let kube: KubeLab;
let op: Operator;
let dir: string;
let kc: k8s.KubeConfig;
let pod: PodIdentityHandle;

beforeAll(async () => {
  dir = mkdtempSync(join(repoRoot, '.lab', 'recovery-'));
  kube = await startKube(dir, (file) => installCrds(adminKubeConfig(file)));
  kc = adminKubeConfig(kube.kubeconfig);
  await ensureNamespace(kc, 'apps');
  await ensureNamespace(kc, 'certroute');
  const env = { ...labEnv(), kubeconfig: kube.kubeconfig, kubeApiServer: kube.server, dir };
  // The chart's identity on this private API server, as on the shared lab's.
  pod = await podIdentityFor(env, 'certroute');
  op = await startOperator(
    env,
    ['--leader-election=false', '--watch-namespaces=apps'],
    undefined,
    {},
    pod.identity,
  );
});
afterAll(async () => {
  await op?.stop();
  pod?.stop();
  await kube?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function create(name: string): Promise<void> {
  await kc.makeApiClient(k8s.NetworkingV1Api).createNamespacedIngress({
    namespace: 'apps',
    body: ingress({
      name,
      namespace: 'apps',
      annotations: { 'certroute.io/issuer': 'pebble' },
      hosts: [`${name}.example.test`],
      tls: [{ secretName: `${name}-tls`, hosts: [`${name}.example.test`] }],
    }),
  });
}

async function restarts(): Promise<number> {
  const m = await op.metrics.informerRestarts.get();
  return m.values.reduce((sum, v) => sum + v.value, 0);
}

describe('informers', () => {
  it('restart after the API server goes away and catch up on what changed', async () => {
    await create('before');
    await eventually(async () =>
      (await listCertificates(kc, 'apps')).some((c) => c.metadata.name === 'before-tls'),
    );

    await kube.stopApiServer();
    await eventually(async () => (await restarts()) > 0, { timeoutMs: 30_000 });
    await kube.startApiServer();
    await create('after');
    await eventually(
      async () => (await listCertificates(kc, 'apps')).some((c) => c.metadata.name === 'after-tls'),
      { timeoutMs: 60_000 },
    );
    // Every informer is still running: a change to a child is still seen and repaired.
    await kc.makeApiClient(k8s.CustomObjectsApi).deleteNamespacedCustomObject({
      group: 'certroute.io',
      version: 'v1alpha1',
      plural: 'certificates',
      namespace: 'apps',
      name: 'before-tls',
    });
    await eventually(
      async () =>
        (await listCertificates(kc, 'apps')).some((c) => c.metadata.name === 'before-tls'),
      { timeoutMs: 30_000 },
    );
    expect(await restarts()).toBeGreaterThan(0);
  });

  it('list the plain way when the API server refuses watch lists', async () => {
    // The operator runs in this process: its informers share this module state.
    expect(watchLists.supported).toBe(true);
    const before = await restarts();
    await kube.stopApiServer();
    await eventually(async () => (await restarts()) > before, { timeoutMs: 30_000 });
    // An API server without the WatchList feature rejects sendInitialEvents.
    await kube.startApiServer(['--feature-gates=WatchList=false']);
    await create('plain');
    await eventually(
      async () => (await listCertificates(kc, 'apps')).some((c) => c.metadata.name === 'plain-tls'),
      { timeoutMs: 60_000 },
    );
    expect(watchLists.supported).toBe(false);
    // The caches were rebuilt from plain lists: a deleted child is still seen and repaired.
    await kc.makeApiClient(k8s.CustomObjectsApi).deleteNamespacedCustomObject({
      group: 'certroute.io',
      version: 'v1alpha1',
      plural: 'certificates',
      namespace: 'apps',
      name: 'after-tls',
    });
    await eventually(
      async () => (await listCertificates(kc, 'apps')).some((c) => c.metadata.name === 'after-tls'),
      { timeoutMs: 30_000 },
    );
  });
});
