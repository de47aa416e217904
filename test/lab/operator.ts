import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parseConfig } from '../../src/config/index.js';
import { resolveOwnerId } from '../../src/kube/owner-id.js';
import { createLogger, type Logger } from '../../src/observability/logger.js';
import { Operator, loadKubeConfig, type OperatorOptions } from '../../src/operator.js';
import { podEnv, type PodIdentity } from './identity.js';
import { bin, repoRoot } from './paths.js';
import { spawnManaged, type ManagedProcess } from './process.js';
import { labEnvVars, type LabEnv } from './types.js';

/** Applies crds/*.yaml (the files the chart ships) and waits until each is Established. */
export function installCrds(kc: k8s.KubeConfig): Promise<void> {
  return installCrdsFrom(kc, join(repoRoot, 'crds'));
}

/**
 * Installs the Gateway API CRDs from the lab cache: the standard channel (Gateway, HTTPRoute,
 * GRPCRoute, ...) and, with `tlsRoute`, the experimental TLSRoute CRD.
 */
export async function installGatewayApiCrds(
  kc: k8s.KubeConfig,
  opts: { tlsRoute?: boolean } = {},
): Promise<void> {
  await installCrdsFrom(kc, bin.gatewayApiCrds());
  if (opts.tlsRoute) await installCrdsFrom(kc, bin.gatewayApiExperimentalCrds());
}

/** Applies every CRD file in `dir` (created, or replaced) and waits until each is Established. */
export async function installCrdsFrom(kc: k8s.KubeConfig, dir: string): Promise<void> {
  const api = kc.makeApiClient(k8s.ApiextensionsV1Api);
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
    const crd = k8s.loadYaml<k8s.V1CustomResourceDefinition>(readFileSync(join(dir, file), 'utf8'));
    const name = crd.metadata?.name ?? '';
    try {
      const existing = await api.readCustomResourceDefinition({ name });
      crd.metadata = { ...crd.metadata, resourceVersion: existing.metadata?.resourceVersion };
      await api.replaceCustomResourceDefinition({ name, body: crd });
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
      await api.createCustomResourceDefinition({ body: crd });
    }
  }
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
    const name =
      k8s.loadYaml<k8s.V1CustomResourceDefinition>(readFileSync(join(dir, file), 'utf8')).metadata
        ?.name ?? '';
    for (let i = 0; ; i++) {
      const c = await api.readCustomResourceDefinition({ name });
      if (c.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True')) break;
      if (i > 100) throw new Error(`CRD ${name} not established`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export async function ensureNamespace(kc: k8s.KubeConfig, name: string): Promise<void> {
  await kc
    .makeApiClient(k8s.CoreV1Api)
    .createNamespace({ body: { metadata: { name } } })
    .catch((err: unknown) => {
      if ((err as { code?: number }).code !== 409) throw err;
    });
}

/** Which identity lab operators run with: LAB_IDENTITY, `in-cluster` unless set. */
export function labIdentityMode(): 'in-cluster' | 'kubeconfig' {
  const mode = process.env.LAB_IDENTITY ?? 'in-cluster';
  if (mode !== 'in-cluster' && mode !== 'kubeconfig')
    throw new Error(`LAB_IDENTITY must be in-cluster or kubeconfig, not "${mode}"`);
  return mode;
}

/** How one operator authenticates: its flags, its environment, and a line saying which. */
export interface OperatorIdentity {
  flags: string[];
  env: Record<string, string>;
  describe: string;
}

/**
 * The identity for an operator with flags `extra`. An explicit `--kubeconfig` wins (tests of
 * other accounts); otherwise, as in a pod, the chart's ServiceAccount with a bound token, read
 * from files under `--in-cluster-root` and KUBERNETES_SERVICE_HOST/PORT, with no kubeconfig at
 * all. LAB_IDENTITY=kubeconfig gives the admin kubeconfig instead, to compare.
 */
export function operatorIdentity(
  env: LabEnv,
  extra: string[] = [],
  pod: PodIdentity | undefined = env.podIdentity,
): OperatorIdentity {
  const given = extra.find((f) => f.startsWith('--kubeconfig='));
  if (given) return { flags: [], env: {}, describe: `kubeconfig ${given.slice(13)}` };
  if (labIdentityMode() === 'kubeconfig')
    return {
      flags: [`--kubeconfig=${env.kubeconfig}`],
      env: {},
      describe: 'admin kubeconfig (LAB_IDENTITY=kubeconfig)',
    };
  if (!pod)
    throw new Error(
      '[lab] this lab has no pod identity: pass one from startPodIdentity(), or set LAB_IDENTITY=kubeconfig',
    );
  const ns = extra.findLast((f) => f.startsWith('--namespace='))?.slice(12) ?? 'certroute';
  if (ns !== pod.namespace)
    throw new Error(
      `[lab] the pod identity's RBAC is for namespace ${pod.namespace}, the operator's is ${ns}: make one with startPodIdentity(admin, { namespace: '${ns}', ... })`,
    );
  return {
    flags: [`--in-cluster-root=${pod.root}`],
    env: podEnv(pod),
    describe: `in-cluster identity (ServiceAccount ${pod.namespace}/${pod.serviceAccount}, the chart's RBAC, a bound token)`,
  };
}

/**
 * The environment of an operator process: the lab's AWS, ACME and DNS settings, and the
 * identity's variables. KUBECONFIG is left out: it would override the in-cluster identity.
 */
export function operatorEnv(
  env: LabEnv,
  extra: string[] = [],
  pod?: PodIdentity,
): Record<string, string> {
  const vars: Record<string, string> = labEnvVars(env);
  delete vars.KUBECONFIG;
  return { ...vars, ...operatorIdentity(env, extra, pod).env };
}

/** Flags every lab operator gets: its identity, loopback servers on free ports, the lab's DNS. */
export function labFlags(env: LabEnv, extra: string[] = [], pod?: PodIdentity): string[] {
  return [
    ...operatorIdentity(env, extra, pod).flags,
    '--metrics-address=127.0.0.1:0',
    '--probe-address=127.0.0.1:0',
    '--solver-address=127.0.0.1:0',
    `--recursive-nameservers=${env.dnsHost}:${env.dnsPort}`,
    // The solver's EndpointSlice gets the lab pod address 10.244.0.1, which the lab's pod
    // network forwards to 127.0.0.1, where the solver listens (test/lab/netns.ts). Pebble
    // validates HTTP-01 on Traefik's port.
    '--solver-pod-ip=10.244.0.1',
    `--http01-port=${env.http01Port}`,
    '--resync-interval=10m',
    ...extra,
  ];
}

/** An operator in this process: quick to start, and its state is inspectable. */
export async function startOperator(
  env: LabEnv,
  extra: string[] = [],
  log?: Logger,
  options: OperatorOptions = {},
  pod?: PodIdentity,
): Promise<Operator> {
  // The AWS SDK reads its endpoint and credentials from the environment, as in a cluster, and
  // client-node the API server's address (KUBERNETES_SERVICE_HOST/PORT).
  const vars = operatorEnv(env, extra, pod);
  for (const k of [
    'AWS_ENDPOINT_URL',
    'AWS_REGION',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_EC2_METADATA_DISABLED',
    'KUBERNETES_SERVICE_HOST',
    'KUBERNETES_SERVICE_PORT',
  ]) {
    if (vars[k] !== undefined) process.env[k] = vars[k];
  }
  const parsed = parseConfig(labFlags(env, extra, pod), {});
  const logger = log ?? createLogger(process.env.LAB_OPERATOR_LOG ?? 'silent');
  const kubeConfig = loadKubeConfig(parsed);
  const config = await resolveOwnerId(parsed, kubeConfig, logger);
  const op = new Operator(config, kubeConfig, logger, options);
  await op.start();
  return op;
}

/** An operator as its own process (src/main.ts via tsx), for leader election and signals. */
export function spawnOperator(
  env: LabEnv,
  logFile: string,
  extra: string[] = [],
  /** A built bundle (scripts/bundle.mjs) to run instead of the sources. */
  bundle?: string,
  pod?: PodIdentity,
  /** More environment for the process (e.g. LD_PRELOAD and FAKETIME for a skewed clock). */
  processEnv: Record<string, string> = {},
): ManagedProcess {
  const main = bundle ? [bundle] : ['--import', 'tsx', join(repoRoot, 'src', 'main.ts')];
  return spawnManaged('certroute', process.execPath, {
    args: [...main, ...labFlags(env, extra, pod)],
    logFile,
    cwd: repoRoot,
    env: { ...operatorEnv(env, extra, pod), CERTROUTE_LOG_LEVEL: 'debug', ...processEnv },
  });
}

/** JSON log lines a spawned operator has written so far. */
export function logLines(file: string): Record<string, unknown>[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/**
 * Log lines of a spawned operator that carry an RBAC denial ("... is forbidden: User ... cannot
 * ..."). Not every 403 is one: a write into a namespace being deleted is "forbidden" too, and
 * other tests' namespaces go away while an operator runs.
 */
export function rbacDenials(file: string): Record<string, unknown>[] {
  return logLines(file).filter((l) => JSON.stringify(l).includes('is forbidden: User '));
}
