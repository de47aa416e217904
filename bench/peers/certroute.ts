// certroute on the issuance workload, as bench/dns01.ts runs it: its own process, the image's
// command line and runtime settings, the lab identity (in-cluster unless LAB_IDENTITY says),
// Certificates directly (no Ingress), a ClusterIssuer for Pebble.
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import {
  createClusterIssuer,
  deleteClusterIssuer,
  labIssuer,
} from '../../test/lab/acme-helpers.js';
import { adminKubeConfig } from '../../test/lab/kube.js';
import type { Lab } from '../../test/lab/lab.js';
import { ensureNamespace, labFlags, operatorEnv } from '../../test/lab/operator.js';
import { freePort, spawnManaged, waitFor } from '../../test/lab/process.js';
import { operatorArgv, operatorRuntimeEnv } from '../lib.js';
import type { ToolRun, Workload } from './issuance.js';

export async function startCertroute(lab: Lab, w: Workload): Promise<ToolRun> {
  const env = lab.env;
  const kc = adminKubeConfig(env.kubeconfig);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  await ensureNamespace(kc, 'certroute');
  const issuer = `peers-${w.id}`;
  const solvers =
    w.challenge === 'dns01'
      ? [{ dns01: { route53: { region: env.awsRegion } } }]
      : [{ http01: { ingressClassName: env.ingressClass } }];
  await createClusterIssuer(kc, labIssuer(env, issuer, { solvers }));
  const [probe, metrics] = [await freePort(), await freePort()];
  const proc = spawnManaged('certroute', process.execPath, {
    args: operatorArgv([
      ...labFlags(env, [
        '--leader-election=false',
        '--namespace=certroute',
        `--watch-namespaces=${w.namespace}`,
      ]).filter((f) => !/^--(metrics|probe)-address=/.test(f)),
      `--probe-address=127.0.0.1:${probe}`,
      `--metrics-address=127.0.0.1:${metrics}`,
    ]),
    logFile: join(env.dir, `certroute-${w.id}.log`),
    env: {
      ...operatorEnv(env),
      CERTROUTE_LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
      ...operatorRuntimeEnv(),
    },
  });
  await waitFor(
    'certroute /readyz',
    async () => (await fetch(`http://127.0.0.1:${probe}/readyz`)).ok,
    { proc, timeoutMs: 120_000 },
  );
  const api = { group: 'certroute.io', version: 'v1alpha1', plural: 'certificates' };
  return {
    proc,
    createCertificate: async (name, dnsNames) => {
      await custom.createNamespacedCustomObject({
        ...api,
        namespace: w.namespace,
        body: {
          apiVersion: 'certroute.io/v1alpha1',
          kind: 'Certificate',
          metadata: { name, namespace: w.namespace },
          spec: { dnsNames, issuerRef: { name: issuer }, secretName: `${name}-tls` },
        },
      });
    },
    readyCount: () => readyCount(custom, api, w.namespace),
    stop: async () => {
      await proc.stop();
      await deleteClusterIssuer(kc, issuer);
    },
  };
}

type Conditioned = { status?: { conditions?: { type: string; status: string }[] } };

/** Objects of `api` in `namespace` whose Ready condition is True. */
export async function readyCount(
  custom: k8s.CustomObjectsApi,
  api: { group: string; version: string; plural: string },
  namespace: string,
): Promise<number> {
  const list = (await custom.listNamespacedCustomObject({ ...api, namespace })) as {
    items: Conditioned[];
  };
  return list.items.filter((c) =>
    c.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'),
  ).length;
}
