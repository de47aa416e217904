/**
 * Traefik v3, the lab's ingress controller, as a cluster would run it: its Kubernetes Ingress
 * provider watches the lab API server as its own ServiceAccount (a bound token from the
 * TokenRequest API, a ClusterRole with only what the provider reads and writes), serves the
 * Ingresses of its IngressClass, and publishes their status address itself.
 *
 * It runs inside the lab's network namespace (netns.ts), where EndpointSlice addresses of
 * the pod network route. What it needs from outside comes in through the bridge: the API
 * server, and the harness router (below). Its web entrypoint goes out to root 127.0.0.1 on
 * the HTTP-01 port, where Pebble validates, operators self-check and tests send requests;
 * that address is what it writes into Ingress status, so the A records point at it.
 *
 * Ingresses of no class (tests about DNS, ACM, the chart, benchmarks: none of them about
 * routing) are not Traefik's. A lowest-priority catch-all router sends what no Ingress of
 * Traefik's class matches to the harness router (ingress-router.ts), which routes them.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { stringify } from 'yaml';
import type { LabNetns } from './netns.js';
import { traefikPodAddress } from './netns.js';
import { bin } from './paths.js';
import { waitFor, type ManagedProcess } from './process.js';
import {
  gatewayProviderConfig,
  installGatewayClass,
  traefikGatewayClass,
  traefikGatewayRules,
  traefikWebPort,
  waitForGatewayStatus,
} from './traefik-gateway.js';

export const traefikIngressClass = 'traefik';
export const traefikController = 'traefik.io/ingress-controller';
export const traefikNamespace = 'lab-traefik';
const serviceAccount = 'traefik';
const clusterRole = 'lab-traefik';
const webPort = traefikWebPort;
/** How long the lab's Traefik token lives: a lab is not kept for longer. */
const tokenSeconds = 7 * 86400;

export interface TraefikOptions {
  dir: string;
  /** Admin access, for the RBAC objects, the IngressClass and the token. */
  admin: k8s.KubeConfig;
  /** https://127.0.0.1:PORT of the API server (root namespace). */
  apiServer: string;
  /** PEM of the CA that signed the API server's serving certificate. */
  apiServerCa: string;
  netns: LabNetns;
  /** Root-namespace 127.0.0.1 port for the web entrypoint (the HTTP-01 port). */
  rootPort: number;
  /** The address Traefik writes into Ingress status: where the web entrypoint is reached. */
  statusAddress: string;
  /** Root-namespace 127.0.0.1 port of the harness router, for Ingresses of no class. */
  harnessPort?: number;
  log?: (msg: string) => void;
}

export interface TraefikLab {
  proc: ManagedProcess;
  ingressClass: string;
  /** The GatewayClass of Traefik's Gateway provider (traefik-gateway.ts). */
  gatewayClass: string;
  /** The ServiceAccount Traefik authenticates as, namespace/name. */
  serviceAccount: string;
  logFile: string;
  accessLogFile: string;
  stop(): Promise<void>;
}

/** What the Kubernetes Ingress and Gateway providers read and write, and nothing more. */
export function traefikClusterRole(): k8s.V1ClusterRole {
  return {
    metadata: { name: clusterRole },
    rules: [
      // Secrets for spec.tls; Nodes because the provider's cluster-scope informer (which also
      // brings the IngressClasses) watches them.
      { apiGroups: [''], resources: ['services', 'secrets', 'nodes'], verbs: ['list', 'watch'] },
      { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
      {
        apiGroups: ['networking.k8s.io'],
        resources: ['ingresses', 'ingressclasses'],
        verbs: ['list', 'watch'],
      },
      { apiGroups: ['networking.k8s.io'], resources: ['ingresses/status'], verbs: ['update'] },
      ...traefikGatewayRules(),
    ],
  };
}

async function createOrReplace(
  create: () => Promise<unknown>,
  replace: () => Promise<unknown>,
): Promise<void> {
  try {
    await create();
  } catch (err) {
    if ((err as { code?: number }).code !== 409) throw err;
    await replace();
  }
}

/** The ServiceAccount, its ClusterRole and binding, and the IngressClass. */
export async function installTraefikRbac(admin: k8s.KubeConfig): Promise<void> {
  const core = admin.makeApiClient(k8s.CoreV1Api);
  const rbac = admin.makeApiClient(k8s.RbacAuthorizationV1Api);
  const net = admin.makeApiClient(k8s.NetworkingV1Api);
  await core
    .createNamespace({ body: { metadata: { name: traefikNamespace } } })
    .catch((err: unknown) => {
      if ((err as { code?: number }).code !== 409) throw err;
    });
  await core
    .createNamespacedServiceAccount({
      namespace: traefikNamespace,
      body: { metadata: { name: serviceAccount } },
    })
    .catch((err: unknown) => {
      if ((err as { code?: number }).code !== 409) throw err;
    });
  const role = traefikClusterRole();
  await createOrReplace(
    () => rbac.createClusterRole({ body: role }),
    () => rbac.replaceClusterRole({ name: clusterRole, body: role }),
  );
  const binding: k8s.V1ClusterRoleBinding = {
    metadata: { name: clusterRole },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole },
    subjects: [{ kind: 'ServiceAccount', name: serviceAccount, namespace: traefikNamespace }],
  };
  await createOrReplace(
    () => rbac.createClusterRoleBinding({ body: binding }),
    () => rbac.replaceClusterRoleBinding({ name: clusterRole, body: binding }),
  );
  const ingressClass: k8s.V1IngressClass = {
    metadata: { name: traefikIngressClass },
    spec: { controller: traefikController },
  };
  await createOrReplace(
    () => net.createIngressClass({ body: ingressClass }),
    () => net.replaceIngressClass({ name: traefikIngressClass, body: ingressClass }),
  );
  await installGatewayClass(admin);
}

/** The CA certificate in the API server's serving certificate file (leaf first, then CA). */
export function apiServerCa(certFile: string): string {
  const pems =
    readFileSync(certFile, 'utf8').match(
      /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g,
    ) ?? [];
  const ca = pems[pems.length - 1];
  if (!ca) throw new Error(`[lab] no certificate in ${certFile}`);
  return `${ca}\n`;
}

export async function startTraefik(opts: TraefikOptions): Promise<TraefikLab> {
  const log = opts.log ?? (() => undefined);
  const tdir = join(opts.dir, 'traefik');
  mkdirSync(tdir, { recursive: true });
  await installTraefikRbac(opts.admin);
  const tr = await opts.admin.makeApiClient(k8s.CoreV1Api).createNamespacedServiceAccountToken({
    name: serviceAccount,
    namespace: traefikNamespace,
    body: { spec: { audiences: [], expirationSeconds: tokenSeconds } },
  });
  const token = tr.status?.token;
  if (!token) throw new Error(`[lab] no token issued for ${traefikNamespace}/${serviceAccount}`);
  const tokenFile = join(tdir, 'token');
  const caFile = join(tdir, 'ca.crt');
  writeFileSync(tokenFile, token, { mode: 0o600 });
  writeFileSync(caFile, opts.apiServerCa);

  // Inside the namespace, the API server is at the same loopback URL as outside.
  const api = new URL(opts.apiServer);
  const apiPort = Number(api.port);
  await opts.netns.intoNetns(
    { host: '127.0.0.1', port: apiPort },
    { host: '127.0.0.1', port: apiPort },
  );

  const dynamic: Record<string, unknown> = { http: { routers: {}, services: {} } };
  if (opts.harnessPort !== undefined) {
    await opts.netns.intoNetns(
      { host: '127.0.0.1', port: opts.harnessPort },
      { host: '127.0.0.1', port: opts.harnessPort },
    );
    dynamic.http = {
      routers: {
        'lab-harness': {
          rule: 'PathPrefix(`/`)',
          // Ingress routers get their rule's length as priority (always more than 1).
          priority: 1,
          entryPoints: ['web'],
          service: 'lab-harness',
        },
      },
      services: {
        'lab-harness': {
          loadBalancer: { servers: [{ url: `http://127.0.0.1:${opts.harnessPort}` }] },
        },
      },
    };
  }
  const dynamicFile = join(tdir, 'dynamic.yml');
  writeFileSync(dynamicFile, stringify(dynamic));

  const accessLogFile = join(opts.dir, 'traefik-access.log');
  const staticConfig = {
    global: { checkNewVersion: false, sendAnonymousUsage: false },
    log: { level: process.env.LAB_TRAEFIK_LOG_LEVEL ?? 'INFO', noColor: true },
    // Common Log Format; the User-Agent kept, to tell the CA's requests from self-checks.
    accessLog: {
      filePath: accessLogFile,
      fields: { headers: { defaultMode: 'drop', names: { 'User-Agent': 'keep' } } },
    },
    entryPoints: { web: { address: `${traefikPodAddress}:${webPort}` } },
    providers: {
      kubernetesIngress: {
        endpoint: opts.apiServer,
        // A file: the provider reads a token from a path (it takes a value too).
        token: tokenFile,
        certAuthFilePath: caFile,
        ingressClass: traefikIngressClass,
        ingressEndpoint: { ip: opts.statusAddress },
        // Path-element-wise Prefix matching, as the Ingress specification says.
        strictPrefixMatching: true,
      },
      kubernetesGateway: gatewayProviderConfig({
        endpoint: opts.apiServer,
        tokenFile,
        caFile,
        statusAddress: opts.statusAddress,
      }),
      file: { filename: dynamicFile, watch: false },
    },
  };
  const configFile = join(tdir, 'traefik.yml');
  writeFileSync(configFile, stringify(staticConfig), { mode: 0o600 });
  const logFile = join(opts.dir, 'traefik.log');
  const proc = opts.netns.spawn('traefik', bin.traefik(), {
    args: [`--configfile=${configFile}`],
    logFile,
  });
  try {
    await opts.netns.outOfNetns(
      { host: traefikPodAddress, port: webPort },
      { host: '127.0.0.1', port: opts.rootPort },
    );
    await Promise.all([
      waitForStatus(opts.admin, opts.statusAddress, proc),
      waitForGatewayStatus(opts.admin, traefikNamespace, opts.statusAddress, proc),
    ]);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  log(`traefik pid ${proc.pid} in ${opts.netns.name}, web on 127.0.0.1:${opts.rootPort}`);
  return {
    proc,
    ingressClass: traefikIngressClass,
    gatewayClass: traefikGatewayClass,
    serviceAccount: `${traefikNamespace}/${serviceAccount}`,
    logFile,
    accessLogFile,
    stop: () => proc.stop(),
  };
}

/**
 * Ready when Traefik has written the status address of an Ingress of its class: its provider
 * is connected, authorized and synced.
 */
async function waitForStatus(
  admin: k8s.KubeConfig,
  address: string,
  proc: ManagedProcess,
): Promise<void> {
  const net = admin.makeApiClient(k8s.NetworkingV1Api);
  const name = 'traefik-ready';
  await net
    .createNamespacedIngress({
      namespace: traefikNamespace,
      body: {
        metadata: { name },
        spec: {
          ingressClassName: traefikIngressClass,
          rules: [{ host: 'traefik-ready.lab.invalid' }],
        },
      },
    })
    .catch((err: unknown) => {
      if ((err as { code?: number }).code !== 409) throw err;
    });
  await waitFor(
    'traefik to publish an Ingress status address',
    async () => {
      const ing = await net.readNamespacedIngress({ namespace: traefikNamespace, name });
      return ing.status?.loadBalancer?.ingress?.some((a) => a.ip === address) ?? false;
    },
    { proc, timeoutMs: 60_000, intervalMs: 100 },
  );
}
