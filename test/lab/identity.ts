import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { serviceAccountDir } from '../../src/kube/kubeconfig.js';
import { bin, repoRoot } from './paths.js';
import type { LabEnv } from './types.js';

/**
 * The operator's identity in a pod, made in the lab: the Helm chart's ServiceAccount, its RBAC
 * (rendered from charts/certroute with default values, so tests prove that the chart's rules
 * are enough), and a bound, expiring token written where the kubelet would put it, under a
 * directory the operator is pointed at with `--in-cluster-root`. The API server's address goes
 * in KUBERNETES_SERVICE_HOST/PORT, as in a pod.
 */
export interface PodIdentity {
  /** `--in-cluster-root`: `<root>/var/run/secrets/kubernetes.io/serviceaccount/` holds the files. */
  root: string;
  /** The release namespace: the operator's `--namespace`, where its Role and Lease live. */
  namespace: string;
  serviceAccount: string;
  host: string;
  port: string;
}

/** Identity files for a pod and the API server, as JSON-safe data (LabEnv carries it). */
export interface PodIdentityHandle {
  identity: PodIdentity;
  /**
   * Mints a new bound token and replaces the token file atomically, as the kubelet does. With
   * `revoke`, every earlier token stops working (the Secrets they were bound to are deleted).
   */
  rotate(opts?: { revoke?: boolean }): Promise<void>;
  /** Stops periodic rotation. */
  stop(): void;
}

/** How long each lab token lives, and how often the lab replaces it (the kubelet: at 80%). */
const tokenSeconds = 3600;
const rotateEveryMs = 10 * 60_000;

const rbacKinds = new Set([
  'ServiceAccount',
  'ClusterRole',
  'ClusterRoleBinding',
  'Role',
  'RoleBinding',
]);

/** The chart's ServiceAccount and RBAC for a release in `namespace`; returns the account name. */
export async function installChartRbac(admin: k8s.KubeConfig, namespace: string): Promise<string> {
  const res = spawnSync(
    bin.helm(),
    [
      'template',
      `certroute-${namespace}`,
      join(repoRoot, 'charts', 'certroute'),
      '--namespace',
      namespace,
    ],
    { encoding: 'utf8' },
  );
  if (res.status !== 0) throw new Error(`[lab] helm template failed: ${res.stderr}`);
  const objs = k8s
    .loadAllYaml(res.stdout)
    .filter((o): o is k8s.KubernetesObject => !!o && rbacKinds.has((o as { kind: string }).kind));
  await k8s.KubernetesObjectApi.makeApiClient(admin)
    .create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } })
    .catch(ignoreConflict);
  const api = k8s.KubernetesObjectApi.makeApiClient(admin);
  for (const o of objs) {
    o.metadata = {
      ...o.metadata,
      namespace: o.kind?.startsWith('Cluster') ? undefined : namespace,
    };
    await api.create(o).catch(async (err: unknown) => {
      ignoreConflict(err);
      await api.replace(o);
    });
  }
  const sa = objs.find((o) => o.kind === 'ServiceAccount')?.metadata?.name;
  if (!sa) throw new Error('[lab] the chart renders no ServiceAccount');
  return sa;
}

function ignoreConflict(err: unknown): void {
  if ((err as { code?: number }).code !== 409) throw err;
}

/**
 * The chart's identity for an operator whose namespace is `namespace`, with token files under
 * `dir`. The token is rotated every 10 minutes while the lab runs.
 */
export async function startPodIdentity(
  admin: k8s.KubeConfig,
  opts: { server: string; caFile: string; dir: string; namespace: string },
): Promise<PodIdentityHandle> {
  const serviceAccount = await installChartRbac(admin, opts.namespace);
  const url = new URL(opts.server);
  const root = join(opts.dir, `pod-${opts.namespace}`);
  const files = join(root, serviceAccountDir);
  mkdirSync(files, { recursive: true });
  writeFileSync(join(files, 'ca.crt'), apiServerCa(opts.caFile));
  writeFileSync(join(files, 'namespace'), opts.namespace);
  const core = admin.makeApiClient(k8s.CoreV1Api);
  const bound: string[] = [];
  const rotate = async ({ revoke = false } = {}) => {
    // A token bound to a Secret: deleting the Secret revokes it, like deleting a pod does.
    const anchor = await core.createNamespacedSecret({
      namespace: opts.namespace,
      body: { metadata: { generateName: `${serviceAccount}-token-anchor-` } },
    });
    const name = anchor.metadata?.name ?? '';
    const tr = await core.createNamespacedServiceAccountToken({
      name: serviceAccount,
      namespace: opts.namespace,
      body: {
        spec: {
          audiences: [],
          expirationSeconds: tokenSeconds,
          boundObjectRef: { apiVersion: 'v1', kind: 'Secret', name, uid: anchor.metadata?.uid },
        },
      },
    });
    const token = tr.status?.token;
    if (!token) throw new Error(`[lab] no token for ${opts.namespace}/${serviceAccount}`);
    const tmp = join(files, '.token.tmp');
    writeFileSync(tmp, token);
    renameSync(tmp, join(files, 'token'));
    const old = bound.splice(0);
    bound.push(name);
    if (revoke)
      for (const s of old)
        await core.deleteNamespacedSecret({ namespace: opts.namespace, name: s }).catch(() => {});
  };
  await rotate();
  const timer = setInterval(() => void rotate().catch(() => undefined), rotateEveryMs);
  timer.unref();
  return {
    identity: {
      root,
      namespace: opts.namespace,
      serviceAccount,
      host: url.hostname,
      port: url.port,
    },
    rotate,
    stop: () => clearInterval(timer),
  };
}

/**
 * The CA a pod sees as ca.crt: kube-apiserver's self-generated serving certificate file holds
 * the leaf and then the CA that signed it.
 */
function apiServerCa(servingCertFile: string): string {
  const pems = readFileSync(servingCertFile, 'utf8').match(
    /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g,
  );
  const ca = pems?.at(-1);
  if (!ca) throw new Error(`[lab] no certificate in ${servingCertFile}`);
  return ca;
}

/**
 * The chart's identity for an operator in `namespace` of the lab `env` (another namespace than
 * the lab's own `certroute`, or the API server of a private lab).
 */
export function podIdentityFor(env: LabEnv, namespace: string): Promise<PodIdentityHandle> {
  const admin = new k8s.KubeConfig();
  admin.loadFromFile(env.kubeconfig);
  return startPodIdentity(admin, {
    server: env.kubeApiServer,
    caFile: apiServerCertFile(env.dir),
    dir: env.dir,
    namespace,
  });
}

/** Where the lab's kube-apiserver keeps the serving certificate it made (see kube.ts). */
export function apiServerCertFile(labDir: string): string {
  return join(labDir, 'kube', 'certs', 'apiserver.crt');
}

/** The environment an operator process gets in a pod. */
export function podEnv(id: PodIdentity): Record<string, string> {
  return { KUBERNETES_SERVICE_HOST: id.host, KUBERNETES_SERVICE_PORT: id.port };
}
