import * as k8s from '@kubernetes/client-node';
import { setImmediate as yieldNow } from 'node:timers/promises';
import { certificateOfSecret } from './x509.js';
import { isNotFound } from '../kube/crd-client.js';
import { type ResilientInformer } from '../kube/informer.js';
import type { Informer } from '../kube/scoped-informer.js';
import { describeError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { isManaged } from '../kube/ownership.js';

export interface TlsSecretDeps {
  kubeConfig: k8s.KubeConfig;
  ingresses: ResilientInformer<k8s.V1Ingress>[];
  /** certroute's own Secrets (label-selected cache); others are read one by one. */
  managed: Informer<k8s.V1Secret>;
  metrics: Metrics;
  log: Logger;
  isLeader: () => boolean;
  intervalMs: number;
}

/**
 * certroute_tls_secret_expiration_timestamp_seconds for every Secret any watched Ingress
 * names in spec.tls, certroute's or not, so expiry alerts cover certificates nobody manages.
 * Unmanaged Secrets are read by name (never listed or watched: unrelated Secrets stay out of
 * memory). Refreshed on Ingress changes (debounced) and every interval; leader only, so each
 * Secret is one series.
 */
export class TlsSecretMonitor {
  private readonly core: k8s.CoreV1Api;
  private readonly exported = new Map<
    string,
    { namespace: string; secret: string; managed: string }
  >();
  private timer: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /**
   * Until start() (after every cache has synced) Ingress events schedule nothing: a refresh
   * during the initial lists would parse thousands of certificates while /readyz waits, and
   * read Secrets the cache does not hold yet from the API server one by one.
   */
  private stopped = true;

  constructor(private readonly d: TlsSecretDeps) {
    this.core = d.kubeConfig.makeApiClient(k8s.CoreV1Api);
    for (const inf of d.ingresses) inf.on(() => this.soon());
  }

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => this.soon(0), this.d.intervalMs);
    this.timer.unref();
    this.soon();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.debounce);
    await this.running;
  }

  /** Refresh after a quiet second (Ingress events come in bursts). */
  soon(ms = 1000): void {
    if (this.stopped) return;
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.running ??= this.refresh().finally(() => (this.running = undefined));
    }, ms);
    this.debounce.unref();
  }

  /** Secrets referenced by watched Ingresses: namespace/name. */
  referenced(): Set<string> {
    const out = new Set<string>();
    for (const inf of this.d.ingresses)
      for (const ing of inf.list())
        for (const t of ing.spec?.tls ?? [])
          if (t.secretName) out.add(`${ing.metadata?.namespace ?? ''}/${t.secretName}`);
    return out;
  }

  async refresh(): Promise<void> {
    if (!this.d.isLeader()) return;
    const seen = new Set<string>();
    let n = 0;
    for (const key of this.referenced()) {
      if (this.stopped) return;
      // Cached Secrets resolve without I/O: let probes and watch events in now and then.
      if (++n % 100 === 0) await yieldNow();
      const [namespace = '', secret = ''] = key.split('/');
      const s = await this.read(namespace, secret);
      if (s && this.export(key, namespace, secret, s)) seen.add(key);
    }
    for (const [key, labels] of this.exported)
      if (!seen.has(key)) {
        this.d.metrics.tlsSecretExpiry.remove(labels);
        this.exported.delete(key);
      }
  }

  /** Sets the expiry series of one Secret; false if it holds no parseable certificate. */
  private export(key: string, namespace: string, secret: string, s: k8s.V1Secret): boolean {
    const notAfter = expiryOf(s);
    if (!notAfter) return false;
    const labels = {
      namespace,
      secret,
      managed: String(isManaged(s)),
    };
    const prior = this.exported.get(key);
    if (prior && prior.managed !== labels.managed) this.d.metrics.tlsSecretExpiry.remove(prior);
    this.d.metrics.tlsSecretExpiry.set(labels, notAfter.getTime() / 1000);
    this.exported.set(key, labels);
    return true;
  }

  private async read(namespace: string, name: string): Promise<k8s.V1Secret | undefined> {
    const cached = this.d.managed.get(name, namespace);
    if (cached) return cached;
    try {
      return await this.core.readNamespacedSecret({ name, namespace });
    } catch (err) {
      if (!isNotFound(err))
        this.d.log.warn({ namespace, secret: name, err: describeError(err) }, 'reading TLS Secret');
      return undefined;
    }
  }
}

/** notAfter of the Secret's tls.crt leaf, if it holds a parseable certificate. */
export function expiryOf(s: k8s.V1Secret): Date | undefined {
  return certificateOfSecret(s)?.notAfter;
}
