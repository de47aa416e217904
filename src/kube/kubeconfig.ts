import * as k8s from '@kubernetes/client-node';

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
    await super.applySecurityAuthentication(context);
    const built = context.getDispatcher();
    const cluster = this.getCurrentCluster();
    const user = this.getCurrentUser();
    if (!built || !cluster || !poolable(user)) return;
    // The agent's TLS options derive from the current cluster and user entries; loading or
    // switching a kubeconfig gives new entries, and so a new pool.
    const p = this.pool;
    const now = Date.now();
    if (p && p.cluster === cluster && p.user === user && now - p.at < poolMaxAgeMs) {
      context.setDispatcher(p.dispatcher);
      return;
    }
    this.pool = { cluster, user, dispatcher: built, at: now };
    // close() waits for requests in flight; a watch on the old pool ends and is restarted.
    void p?.dispatcher.close().catch(() => undefined);
  }
}

/**
 * Whether a user's connection settings can be shared between requests: not when an exec
 * plugin or an auth provider may hand out client certificates that change per request.
 */
export function poolable(user: k8s.User | null): boolean {
  return !user?.exec && !user?.authProvider;
}
