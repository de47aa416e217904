import * as k8s from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { describeError } from '../errors.js';

export interface LeaderOptions {
  kubeConfig: k8s.KubeConfig;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  log: Logger;
  metrics: Metrics;
  /** Called once when this replica becomes leader. */
  onStartedLeading: () => void;
  /** Called when leadership is lost without a release (renewals failed); the process should stop writing. */
  onStoppedLeading: () => void;
}

/**
 * Lease-based leader election, as client-go does it: acquire when the Lease is free or
 * expired, renew every leaseDuration/3, step down if renewals fail for 2/3 of the lease, and
 * release on shutdown by clearing the holder so another replica takes over at once.
 * Optimistic concurrency (resourceVersion on replace) makes two writers impossible.
 */
export class LeaderElector {
  private readonly api: k8s.CoordinationV1Api;
  private leading = false;
  private stopped = false;
  private known = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;

  constructor(private readonly opts: LeaderOptions) {
    this.api = opts.kubeConfig.makeApiClient(k8s.CoordinationV1Api);
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** True once the first attempt has told us whether we lead or follow. */
  get stateKnown(): boolean {
    return this.known;
  }

  start(): void {
    this.loop ??= this.run();
  }

  private async run(): Promise<void> {
    const retryMs = Math.max(200, this.opts.leaseDurationMs / 5);
    const renewMs = Math.max(200, this.opts.leaseDurationMs / 3);
    const renewDeadlineMs = (this.opts.leaseDurationMs * 2) / 3;
    let lastRenew = 0;
    while (!this.stopped) {
      let ok = false;
      try {
        ok = await this.tryAcquireOrRenew();
        // Known only once the Lease API has answered: a broken API must not look like "follower".
        this.known = true;
      } catch (err) {
        this.opts.log.warn({ err: describeError(err) }, 'leader election: lease update failed');
      }
      if (ok) {
        lastRenew = Date.now();
        if (!this.leading) this.becomeLeader();
      } else if (this.leading && Date.now() - lastRenew > renewDeadlineMs) {
        this.loseLeadership();
      }
      await this.pause(this.leading ? renewMs : retryMs);
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.opts;
    const now = new k8s.V1MicroTime();
    const durationSeconds = Math.ceil(this.opts.leaseDurationMs / 1000);
    let lease: k8s.V1Lease;
    try {
      lease = await this.api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
      await this.api.createNamespacedLease({
        namespace,
        body: {
          metadata: { name, namespace },
          spec: {
            holderIdentity: identity,
            leaseDurationSeconds: durationSeconds,
            acquireTime: now,
            renewTime: now,
            leaseTransitions: 0,
          },
        },
      });
      return true;
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const renewedAt = spec.renewTime ? new Date(spec.renewTime).getTime() : 0;
    const expired = renewedAt + (spec.leaseDurationSeconds ?? durationSeconds) * 1000 < Date.now();
    if (holder !== '' && holder !== identity && !expired) return false;
    const takingOver = holder !== identity;
    lease.spec = {
      ...spec,
      holderIdentity: identity,
      leaseDurationSeconds: durationSeconds,
      renewTime: now,
      ...(takingOver
        ? { acquireTime: now, leaseTransitions: (spec.leaseTransitions ?? 0) + 1 }
        : {}),
    };
    await this.api.replaceNamespacedLease({ name, namespace, body: lease });
    return true;
  }

  private becomeLeader(): void {
    this.leading = true;
    this.opts.metrics.isLeader.set(1);
    this.opts.log.info(
      { identity: this.opts.identity, lease: `${this.opts.namespace}/${this.opts.name}` },
      'became leader',
    );
    this.opts.onStartedLeading();
  }

  private loseLeadership(): void {
    this.leading = false;
    this.opts.metrics.isLeader.set(0);
    this.opts.log.error({ identity: this.opts.identity }, 'lost leadership: lease renewals failed');
    this.opts.onStoppedLeading();
  }

  private async pause(ms: number): Promise<void> {
    const ac = new AbortController();
    this.wake = () => ac.abort();
    await sleep(ms, undefined, { signal: ac.signal }).catch(() => undefined);
    this.wake = undefined;
  }

  /** Stops the loop; if leading, releases the Lease so a follower can take over immediately. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    if (!this.leading) return;
    this.leading = false;
    this.opts.metrics.isLeader.set(0);
    try {
      const lease = await this.api.readNamespacedLease({
        name: this.opts.name,
        namespace: this.opts.namespace,
      });
      if (lease.spec?.holderIdentity !== this.opts.identity) return;
      lease.spec = {
        ...lease.spec,
        holderIdentity: '',
        renewTime: new k8s.V1MicroTime(0),
        leaseDurationSeconds: 1,
      };
      await this.api.replaceNamespacedLease({
        name: this.opts.name,
        namespace: this.opts.namespace,
        body: lease,
      });
      this.opts.log.info({ identity: this.opts.identity }, 'released leader lease');
    } catch (err) {
      this.opts.log.warn({ err: describeError(err) }, 'could not release leader lease');
    }
  }
}
