import { existsSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { ConfigError } from '../config/index.js';

/** How long one connection pool serves before a fresh one (re-reading CA and client cert files). */
const poolMaxAgeMs = 10 * 60_000;

type Dispatcher = NonNullable<ReturnType<k8s.RequestContext['getDispatcher']>>;

/**
 * A KubeConfig whose API calls share one connection pool.
 *
 * client-node 2.x builds a new undici Agent for every request (`applySecurityAuthentication`
 * → `createDispatcher`), so every call to the API server opens a new TCP connection and does
 * a full TLS handshake, and idle agents hold sockets and TLS buffers until they time out. With
 * thousands of writes at start-up that is seconds of CPU and tens of MB of native memory.
 *
 * This keeps the first agent built for a given cluster and credentials and hands it to every
 * later request. Credentials that can change under the same kubeconfig entry (exec plugins and
 * auth providers, which may return client certificates) keep client-node's behaviour. A pool
 * is replaced after `poolMaxAgeMs`, so rotated CA or certificate files are picked up; the old
 * one is closed once its requests (and watches) have finished.
 */
export class PooledKubeConfig extends k8s.KubeConfig {
  private pool:
    { cluster: k8s.Cluster; user: k8s.User | null; dispatcher: Dispatcher; at: number } | undefined;

  override async applySecurityAuthentication(context: k8s.RequestContext): Promise<void> {
    const cluster = this.getCurrentCluster();
    const user = this.getCurrentUser();
    const p = this.pool;
    const now = Date.now();
    // A live pool for these entries: only the request's headers are needed. client-node's own
    // path would read the CA (and client certificate) files and build an agent, only for it to
    // be thrown away: a third of the API client's CPU in a burst of writes.
    const headers = p && p.cluster === cluster && p.user === user && now - p.at < poolMaxAgeMs;
    if (headers && (await this.applyHeaders(context))) {
      context.setDispatcher(p.dispatcher);
      return;
    }
    await super.applySecurityAuthentication(context);
    const built = context.getDispatcher();
    if (!built || !cluster || !poolable(user)) return;
    // The agent's TLS options derive from the current cluster and user entries; loading or
    // switching a kubeconfig gives new entries, and so a new pool.
    this.pool = { cluster, user, dispatcher: built, at: now };
    // close() waits for requests in flight; a watch on the old pool ends and is restarted.
    void p?.dispatcher.close().catch(() => undefined);
  }

  /**
   * Sets the request's credentials headers as client-node would (its authenticators: a token,
   * a token file re-read each minute, basic auth), without its TLS options. False if this
   * client-node has no such step (the full path is taken then).
   */
  private async applyHeaders(context: k8s.RequestContext): Promise<boolean> {
    const self = this as unknown as Partial<HeaderStep>;
    if (typeof self.applyAuthorizationHeader !== 'function') return false;
    const opts: { headers: Record<string, string> } = { headers: {} };
    await self.applyAuthorizationHeader.call(this, opts);
    const user = this.getCurrentUser();
    if (user?.username)
      context.setHeaderParam(
        'Authorization',
        `Basic ${Buffer.from(`${user.username}:${user.password ?? ''}`).toString('base64')}`,
      );
    for (const [k, v] of Object.entries(opts.headers)) context.setHeaderParam(k, v);
    return true;
  }
}

/** client-node's (private) header step of applySecurityAuthentication. */
interface HeaderStep {
  applyAuthorizationHeader(opts: { headers: Record<string, string> }): Promise<void>;
}

/** Where a pod's ServiceAccount token, CA and namespace are mounted (client-node's paths). */
export const serviceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * The operator's KubeConfig: the kubeconfig file when one is given, else the pod's in-cluster
 * identity (KUBERNETES_SERVICE_HOST/PORT and the ServiceAccount files, under `inClusterRoot`
 * when set). Either way API calls share one connection pool. A start outside a pod with no
 * kubeconfig fails here, naming what is missing, instead of on the first request.
 */
export function loadPooledKubeConfig(
  opts: { kubeconfig: string; inClusterRoot: string },
  env: NodeJS.ProcessEnv = process.env,
): PooledKubeConfig {
  const kc = new PooledKubeConfig();
  if (opts.kubeconfig) {
    kc.loadFromFile(opts.kubeconfig);
    return kc;
  }
  const root = opts.inClusterRoot.replace(/\/+$/, '');
  if (!env.KUBERNETES_SERVICE_HOST || !env.KUBERNETES_SERVICE_PORT)
    throw new ConfigError(
      'no --kubeconfig and no in-cluster identity: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are unset (set --kubeconfig / KUBECONFIG outside a pod)',
    );
  const token = `${root}${serviceAccountDir}/token`;
  if (!existsSync(token))
    throw new ConfigError(
      `no --kubeconfig and no ServiceAccount token at ${token} (is automountServiceAccountToken off? --in-cluster-root moves the directory)`,
    );
  // client-node reads KUBERNETES_SERVICE_HOST/PORT from process.env.
  kc.loadFromCluster(root);
  return kc;
}

/**
 * Whether a user's connection settings can be shared between requests: not when an exec
 * plugin or an auth provider may hand out client certificates that change per request.
 */
export function poolable(user: k8s.User | null): boolean {
  if (user?.exec) return false;
  // The in-cluster user (loadFromCluster): a bearer token read from a file, in a header. It
  // changes nothing about the connection, so the pool is shared; without this every request
  // in a pod built its own agent (2.2x the kubeconfig path's peak RSS on a first start: ADR 0017).
  if (user?.authProvider) return isTokenFile(user.authProvider as unknown);
  return true;
}

function isTokenFile(p: unknown): boolean {
  const provider = p as { name?: unknown; config?: { tokenFile?: unknown } };
  return provider.name === 'tokenFile' && typeof provider.config?.tokenFile === 'string';
}
