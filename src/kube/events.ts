import * as k8s from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { describeError } from '../errors.js';

export interface EventTarget {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string; namespace?: string; uid?: string };
}

export type EventType = 'Normal' | 'Warning';

interface Seen {
  name: string;
  namespace: string;
  count: number;
  at: number;
}

/**
 * Records core/v1 Events, deduplicated like client-go's correlator: the same (object, type,
 * reason, message) within the window bumps `count` and `lastTimestamp` on the existing Event
 * instead of creating another one. Never throws: an Event is worth a log line, not a failure.
 */
export class EventRecorder {
  private readonly api: k8s.CoreV1Api;
  private readonly seen = new Map<string, Seen>();
  // Below the API server's default Event TTL (1h), and well above any resync interval, so a
  // lasting problem bumps one Event's count instead of adding one per resync.
  private readonly windowMs = 55 * 60_000;
  private readonly maxEntries = 4096;

  constructor(
    kubeConfig: k8s.KubeConfig,
    private readonly component: string,
    private readonly instance: string,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    /**
     * Where Events about cluster-scoped objects (ClusterIssuers, DomainPolicies) go. The API
     * server accepts a core/v1 Event whose involved object has no namespace only in `default`
     * (any other namespace is a 422), so the chart grants Events there under
     * --watch-namespaces too.
     */
    private readonly clusterScopedNamespace = 'default',
  ) {
    this.api = kubeConfig.makeApiClient(k8s.CoreV1Api);
  }

  async record(
    target: EventTarget,
    type: EventType,
    reason: string,
    message: string,
  ): Promise<void> {
    const ns = target.metadata?.namespace ?? this.clusterScopedNamespace;
    const key = `${target.metadata?.uid ?? `${ns}/${target.metadata?.name}`}|${type}|${reason}|${message}`;
    const prior = this.seen.get(key);
    const now = new Date();
    try {
      if (prior && now.getTime() - prior.at < this.windowMs) {
        prior.count++;
        prior.at = now.getTime();
        await this.api.patchNamespacedEvent(
          {
            name: prior.name,
            namespace: prior.namespace,
            body: { count: prior.count, lastTimestamp: now },
          },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
        );
        this.metrics.eventsEmitted.inc({ type, reason });
        return;
      }
      const name = `${target.metadata?.name ?? 'object'}.${createHash('sha256').update(key).update(String(now.getTime())).digest('hex').slice(0, 16)}`;
      await this.api.createNamespacedEvent({
        namespace: ns,
        body: {
          metadata: { name, namespace: ns },
          involvedObject: {
            apiVersion: target.apiVersion,
            kind: target.kind,
            name: target.metadata?.name,
            namespace: target.metadata?.namespace,
            uid: target.metadata?.uid,
          },
          type,
          reason,
          message: message.slice(0, 1024),
          count: 1,
          firstTimestamp: now,
          lastTimestamp: now,
          source: { component: this.component, host: this.instance },
          reportingComponent: this.component,
          reportingInstance: this.instance,
        },
      });
      this.remember(key, { name, namespace: ns, count: 1, at: now.getTime() });
      this.metrics.eventsEmitted.inc({ type, reason });
    } catch (err) {
      // A 404 on patch means the Event expired server-side: start a fresh one next time.
      this.seen.delete(key);
      this.log.warn(
        { err: describeError(err), reason, object: `${ns}/${target.metadata?.name}` },
        'could not record event',
      );
    }
  }

  private remember(key: string, s: Seen): void {
    if (this.seen.size >= this.maxEntries) {
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    this.seen.set(key, s);
  }
}
