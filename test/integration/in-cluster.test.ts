// The operator as a pod runs it: no kubeconfig, KUBERNETES_SERVICE_HOST/PORT, the ServiceAccount
// files (a bound, expiring token, the API server's CA, the namespace) and the Helm chart's RBAC.
// The token file is replaced while the operator runs and the old token revoked: the operator
// must carry on with the new one without a restart, as client-go does.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceAccountDir } from '../../src/kube/kubeconfig.js';
import {
  adminConfig,
  createNamespace,
  deleteNamespace,
  eventually,
  labEnv,
  labRoute53,
} from '../lab/context.js';
import { podIdentityFor, type PodIdentityHandle } from '../lab/identity.js';
import { writeAddress } from '../lab/ingress-router.js';
import { ingress } from '../lab/k8s-helpers.js';
import { operatorEnv, operatorIdentity, rbacDenials, spawnOperator } from '../lab/operator.js';
import type { ManagedProcess } from '../lab/process.js';
import { createZone, record } from '../lab/route53-helpers.js';

const env = labEnv();
const kc = adminConfig(env);
const net = kc.makeApiClient(k8s.NetworkingV1Api);
const r53 = labRoute53(env);

let opNs: string;
let appNs: string;
let zone: { id: string; name: string };
let pod: PodIdentityHandle;
let op: ManagedProcess | undefined;
let logFile: string;

beforeAll(async () => {
  opNs = await createNamespace(kc, 'incluster-op');
  appNs = await createNamespace(kc, 'incluster-app');
  zone = await createZone(r53, 'incluster');
  pod = await podIdentityFor(env, opNs);
});
afterAll(async () => {
  await op?.stop();
  pod?.stop();
  await deleteNamespace(kc, appNs);
  await deleteNamespace(kc, opNs);
});

function flags(): string[] {
  return [
    `--namespace=${opNs}`,
    `--watch-namespaces=${appNs}`,
    `--domain-filter=${zone.name}`,
    '--owner-id=incluster',
    '--leader-election=false',
  ];
}

function tokenFile(): string {
  return join(pod.identity.root, serviceAccountDir, 'token');
}

/** The status code the API server answers a token with (200, or 401 once it is revoked). */
function statusWith(token: string): Promise<number> {
  const url = new URL('/api/v1/namespaces/default', env.kubeApiServer);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { headers: { authorization: `Bearer ${token}` }, rejectUnauthorized: false },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function publish(name: string, ip: string): Promise<void> {
  const host = `${name}.${zone.name}`;
  await net.createNamespacedIngress({
    namespace: appNs,
    body: ingress({
      name,
      namespace: appNs,
      hosts: [host],
      annotations: { 'certroute.io/dns': 'true' },
    }),
  });
  await writeAddress(net, appNs, name, [{ ip }]);
  await eventually(
    async () => (await record(r53, zone.id, host, 'A'))?.ResourceRecords?.[0]?.Value === ip,
    { timeoutMs: 45_000 },
  );
}

describe('the in-cluster identity', () => {
  it('is what lab operators get: no kubeconfig, the pod variables and the token files', () => {
    const id = operatorIdentity(env, flags(), pod.identity);
    const vars = operatorEnv(env, flags(), pod.identity);
    if (process.env.LAB_IDENTITY === 'kubeconfig') {
      expect(id.flags).toEqual([`--kubeconfig=${env.kubeconfig}`]);
      return;
    }
    expect(id.flags).toEqual([`--in-cluster-root=${pod.identity.root}`]);
    expect(vars.KUBECONFIG).toBeUndefined();
    expect(vars.KUBERNETES_SERVICE_HOST).toBe('127.0.0.1');
    expect(vars.KUBERNETES_SERVICE_PORT).toBe(new URL(env.kubeApiServer).port);
    // A projected ServiceAccount token is a JWT; the CA is the API server's, not its leaf.
    expect(readFileSync(tokenFile(), 'utf8')).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const ca = readFileSync(join(pod.identity.root, serviceAccountDir, 'ca.crt'), 'utf8');
    expect(new X509Certificate(ca).ca).toBe(true);
  });

  it(
    'publishes as the chart ServiceAccount, and keeps working after its token is rotated and the old one revoked',
    { timeout: 180_000 },
    async () => {
      logFile = join(env.dir, `${opNs}-operator.log`);
      op = spawnOperator(env, logFile, flags(), undefined, pod.identity);
      await publish('before', '192.0.2.61');

      const old = readFileSync(tokenFile(), 'utf8');
      expect(await statusWith(old)).not.toBe(401);
      await pod.rotate({ revoke: true });
      const current = readFileSync(tokenFile(), 'utf8');
      expect(current).not.toBe(old);
      // The old token is refused from now on: whatever the operator does next, it does with
      // the file's new token. client-node re-reads the file at most a minute after it last
      // read it (client-go does the same), so give that minute before the next change.
      await eventually(async () => (await statusWith(old)) === 401, { timeoutMs: 30_000 });
      await new Promise((r) => setTimeout(r, 61_000));
      await publish('after', '192.0.2.62');

      // The same process throughout, and nothing it could not do under the chart's RBAC.
      expect(op.exitCode).toBeUndefined();
      expect(rbacDenials(logFile)).toEqual([]);
    },
  );
});
