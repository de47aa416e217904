import * as k8s from '@kubernetes/client-node';

/** How long one connection pool serves before a fresh one (re-reading CA and client cert files). */
const poolMaxAgeMs = 10 * 60_000;

interface Closable {
  close(): Promise<void>;
}

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
  private pool: { key: string; dispatcher: NonNullable<Dispatcher>; at: number } | undefined;

  override async applySecurityAuthentication(context: k8s.RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const built = context.getDispatcher();
    const key = this.poolKey();
    if (!built || key === undefined) return;
    const now = Date.now();
    if (this.pool && this.pool.key === key && now - this.pool.at < poolMaxAgeMs) {
      context.setDispatcher(this.pool.dispatcher);
      return;
    }
    const old = this.pool?.dispatcher as Closable | undefined;
    this.pool = { key, dispatcher: built, at: now };
    // close() waits for requests in flight; a watch on the old pool ends and is restarted.
    void old?.close().catch(() => undefined);
  }

  /** What the agent's TLS options derive from; undefined when they may change per request. */
  private poolKey(): string | undefined {
    const cluster = this.getCurrentCluster();
    const user = this.getCurrentUser();
    if (!cluster || user?.exec || user?.authProvider) return undefined;
    return JSON.stringify([
      cluster.server,
      cluster.caFile,
      cluster.caData,
      cluster.skipTLSVerify,
      cluster.tlsServerName,
      cluster.proxyUrl,
      user?.name,
      user?.certFile,
      user?.certData,
      user?.keyFile,
      user?.keyData,
    ]);
  }
}

type Dispatcher = ReturnType<k8s.RequestContext['getDispatcher']>;
