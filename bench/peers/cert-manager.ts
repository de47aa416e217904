// cert-manager v1.20.3 (scripts/lab-install.sh cert-manager) on the issuance workload: its
// controller as a process against the lab API server (the admin kubeconfig: cert-manager's
// own RBAC is not what is measured), leader election off, the lab DNS as its only resolver
// for both self-checks, AWS_ENDPOINT_URL to the lab AWS proxy with the lab's dummy
// credentials, a ClusterIssuer for Pebble trusting Pebble's CA. Its webhook is not run: the
// Certificates and the ClusterIssuer are written complete. HTTP-01 solver pods are run by
// solver-pods.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { adminKubeConfig } from '../../test/lab/kube.js';
import type { Lab } from '../../test/lab/lab.js';
import { ensureNamespace, installCrdsFrom } from '../../test/lab/operator.js';
import { componentDirs } from '../../test/lab/paths.js';
import { freePort, spawnManaged, waitFor } from '../../test/lab/process.js';
import { labEnvVars, type LabEnv } from '../../test/lab/types.js';
import { readyCount } from './certroute.js';
import type { ToolRun, Workload } from './issuance.js';
import { startSolverPods } from './solver-pods.js';

/** Where the cert-manager component is (lab-install.sh --print-dirs: `cert-manager=`). */
export function certManagerDir(): string {
  const dir = (componentDirs() as unknown as Record<string, string | undefined>)['cert-manager'];
  if (!dir) throw new Error('scripts/lab-install.sh knows no cert-manager component');
  return dir;
}

const clusterResourceNamespace = 'cert-manager';
const issuersApi = { group: 'cert-manager.io', version: 'v1', plural: 'clusterissuers' };
const certsApi = { group: 'cert-manager.io', version: 'v1', plural: 'certificates' };

/** Applies the component's CRDs (create, or replace what is there) and waits until Established. */
export function installCertManagerCrds(kc: k8s.KubeConfig): Promise<void> {
  return installCrdsFrom(kc, join(certManagerDir(), 'crds'));
}

export function certManagerIssuer(env: LabEnv, name: string, w: Workload): Record<string, unknown> {
  const solver =
    w.challenge === 'dns01'
      ? { dns01: { route53: { region: env.awsRegion } } }
      : { http01: { ingress: { ingressClassName: env.ingressClass } } };
  return {
    apiVersion: 'cert-manager.io/v1',
    kind: 'ClusterIssuer',
    metadata: { name },
    spec: {
      acme: {
        server: env.acmeDirectory,
        caBundle: readFileSync(env.acmeCaFile).toString('base64'),
        privateKeySecretRef: { name: `${name}-account` },
        solvers: [solver],
      },
    },
  };
}

/** The controller's command line. */
export function certManagerArgs(env: LabEnv, configFile: string, metricsPort: number): string[] {
  const dns = `${env.dnsHost}:${env.dnsPort}`;
  return [
    `--kubeconfig=${env.kubeconfig}`,
    `--config=${configFile}`,
    '--leader-elect=false',
    `--cluster-resource-namespace=${clusterResourceNamespace}`,
    `--dns01-recursive-nameservers=${dns}`,
    '--dns01-recursive-nameservers-only',
    `--acme-http01-solver-nameservers=${dns}`,
    `--metrics-listen-address=127.0.0.1:${metricsPort}`,
    '--v=1',
  ];
}

export async function startCertManager(lab: Lab, w: Workload): Promise<ToolRun> {
  const env = lab.env;
  const kc = adminKubeConfig(env.kubeconfig);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  await installCertManagerCrds(kc);
  await ensureNamespace(kc, clusterResourceNamespace);
  const issuer = `peers-${w.id}`;
  await custom.createClusterCustomObject({
    ...issuersApi,
    body: certManagerIssuer(env, issuer, w),
  });
  // The health server has no flag, only the configuration file (default 0.0.0.0:9403).
  const configFile = join(env.dir, `cert-manager-${w.id}.yaml`);
  writeFileSync(
    configFile,
    [
      'apiVersion: controller.config.cert-manager.io/v1alpha1',
      'kind: ControllerConfiguration',
      `healthzListenAddress: 127.0.0.1:${await freePort()}`,
      '',
    ].join('\n'),
  );
  const vars = labEnvVars(env);
  delete vars.KUBECONFIG;
  const proc = spawnManaged(
    'cert-manager',
    join(certManagerDir(), 'bin', 'cert-manager-controller'),
    {
      args: certManagerArgs(env, configFile, await freePort()),
      logFile: join(env.dir, `cert-manager-${w.id}.log`),
      env: vars,
    },
  );
  const solvers =
    w.challenge === 'http01'
      ? startSolverPods(kc, {
          namespace: w.namespace,
          binary: join(certManagerDir(), 'bin', 'cert-manager-acmesolver'),
          logDir: env.dir,
        })
      : undefined;
  // Ready to issue: its ACME account is registered with Pebble.
  await waitFor('cert-manager ClusterIssuer Ready', () => issuerReady(custom, issuer), {
    proc,
    timeoutMs: 120_000,
    intervalMs: 250,
  });
  return {
    proc,
    createCertificate: async (name, dnsNames) => {
      await custom.createNamespacedCustomObject({
        ...certsApi,
        namespace: w.namespace,
        body: {
          apiVersion: 'cert-manager.io/v1',
          kind: 'Certificate',
          metadata: { name, namespace: w.namespace },
          spec: {
            dnsNames,
            secretName: `${name}-tls`,
            issuerRef: { name: issuer, kind: 'ClusterIssuer', group: 'cert-manager.io' },
          },
        },
      });
    },
    readyCount: () => readyCount(custom, certsApi, w.namespace),
    ...(solvers ? { helperCpuMs: () => solvers.cpuMs() } : {}),
    stop: async () => {
      await proc.stop();
      await solvers?.stop();
      await custom
        .deleteClusterCustomObject({ ...issuersApi, name: issuer })
        .catch(() => undefined);
    },
  };
}

async function issuerReady(custom: k8s.CustomObjectsApi, name: string): Promise<boolean> {
  const i = (await custom.getClusterCustomObject({ ...issuersApi, name })) as {
    status?: { conditions?: { type: string; status: string }[] };
  };
  return !!i.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
}
