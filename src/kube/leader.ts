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
  /**
   * Milliseconds on a local monotonic clock (default: performance.now()). Every expiry and
   * deadline is measured on it; no wall-clock time from this or another node is compared.
   */
  clock?: () => number;
}

/** The Lease as last observed, and when, on the observer's own monotonic clock. */
export interface Observed {
  /** Everything a renewal or takeover changes (see leaseRecord). */
  record: string;
  /** Local monotonic time at which this record was first seen. */
  at: number;
}

/**
 * The fields a holder's write changes: any renewal, takeover or release gives a new record.
 * The resourceVersion is in it too, so a write that keeps every field still counts as a change.
 * Timestamps are compared as opaque strings, never with the local clock.
 */
export function leaseRecord(lease: k8s.V1Lease): string {
  const s = lease.spec ?? {};
  return JSON.stringify([
    s.holderIdentity ?? '',
    s.renewTime ? new Date(s.renewTime).toISOString() : '',
    s.acquireTime ? new Date(s.acquireTime).toISOString() : '',
    s.leaseDurationSeconds ?? 0,
    s.leaseTransitions ?? 0,
    lease.metadata?.resourceVersion ?? '',
  ]);
}

/** The observation after reading `record` at local time `now`: its first sighting is kept. */
export function observe(prev: Observed | undefined, record: string, now: number): Observed {
  return prev?.record === record ? prev : { record, at: now };
}

export type LeaseVerdict =
  /** The Lease is ours: renew it. */
  | { action: 'renew' }
  /** Free (no holder) or expired by our clock: take it over. */
  | { action: 'acquire' }
  /** Another holder's record changed less than a lease duration ago: follow; look again in `waitMs`. */
  | { action: 'follow'; waitMs: number };

/**
 * What to do with a Lease held by `holder`, as client-go's leaderelection decides it: another
 * holder's Lease counts as expired only when its record has not changed for its lease duration
 * by the observer's own clock since the observer first saw that record. The holder's
 * `renewTime` is never compared with the local clock, so clock skew between nodes cannot make
 * a live Lease look expired (or a dead one look live).
 */
export function leaseVerdict(
  holder: string,
  identity: string,
  observed: Observed,
  leaseDurationMs: number,
  now: number,
): LeaseVerdict {
  if (holder === identity) return { action: 'renew' };
  if (holder === '') return { action: 'acquire' };
  const left = observed.at + leaseDurationMs - now;
  return left <= 0 ? { action: 'acquire' } : { action: 'follow', waitMs: left };
}

/**
 * Lease-based leader election, as client-go does it: acquire when the Lease is free or its
 * record has not changed for the lease duration by our own monotonic clock, renew every
 * leaseDuration/3, step down once no renewal has succeeded for 2/3 of the lease (on the same
 * clock, by a timer, also while a request hangs), and release on shutdown by clearing the
 * holder so another replica takes over at once. Optimistic concurrency (resourceVersion on
 * replace) makes two concurrent takeovers impossible. The holder's renew deadline (2/3 of the
 * lease, from when its last successful renewal was sent) ends before any follower can count
 * the record as expired (a full lease from when it saw that renewal), whatever the wall clocks say.
 */
export class LeaderElector {
  private readonly api: k8s.CoordinationV1Api;
  private readonly clock: () => number;
  private readonly renewDeadlineMs: number;
  private leading = false;
  private stopped = false;
  private known = false;
  private observed: Observed | undefined;
  /** Local time at which the last successful renewal (or acquisition) was sent. */
  private lastRenew = 0;
  private deadline: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;

  constructor(private readonly opts: LeaderOptions) {
    this.api = opts.kubeConfig.makeApiClient(k8s.CoordinationV1Api);
    this.clock = opts.clock ?? (() => performance.now());
    this.renewDeadlineMs = (opts.leaseDurationMs * 2) / 3;
  }

  /** Leading, and within the renew deadline of the last successful renewal (local clock). */
  get isLeader(): boolean {
    return this.leading && this.clock() - this.lastRenew < this.renewDeadlineMs;
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
    while (!this.stopped) {
      const sentAt = this.clock();
      let verdict: LeaseVerdict | 'lost' | undefined;
      try {
        verdict = await this.tryAcquireOrRenew();
        // Known only once the Lease API has answered: a broken API must not look like "follower".
        this.known = true;
      } catch (err) {
        this.opts.log.warn({ err: describeError(err) }, 'leader election: lease update failed');
      }
      if (this.stopped) break;
      if (verdict && verdict !== 'lost' && verdict.action !== 'follow') {
        this.renewed(sentAt);
        if (!this.leading) this.becomeLeader();
      } else if (this.leading && (verdict === 'lost' || !this.isLeader)) {
        this.loseLeadership();
      }
      // A follower looks again when the observed record would expire, if that is sooner.
      const wait =
        verdict && verdict !== 'lost' && verdict.action === 'follow'
          ? Math.min(retryMs, verdict.waitMs + 10)
          : this.leading
            ? renewMs
            : retryMs;
      await this.pause(wait);
    }
  }

  /** A renewal sent at `sentAt` succeeded: the step-down deadline moves to sentAt + 2/3 lease. */
  private renewed(sentAt: number): void {
    this.lastRenew = sentAt;
    this.armDeadline(sentAt);
  }

  /**
   * Steps down at sentAt + renew deadline by the elector's clock, unless a later renewal
   * re-arms it first; also while a request hangs. Re-armed when it fires early by that clock
   * (a timer runs on the event loop's time, which may differ by a millisecond, or be another
   * clock altogether in tests).
   */
  private armDeadline(sentAt: number): void {
    clearTimeout(this.deadline);
    const left = sentAt + this.renewDeadlineMs - this.clock();
    if (left <= 1) {
      if (this.leading && !this.stopped && this.lastRenew === sentAt) this.loseLeadership();
      return;
    }
    this.deadline = setTimeout(() => this.armDeadline(sentAt), left);
    this.deadline.unref();
  }

  /**
   * One read and, if it is ours to take or keep, one write. Returns the verdict acted on, or
   * 'lost' when we led but the Lease now names another holder.
   */
  private async tryAcquireOrRenew(): Promise<LeaseVerdict | 'lost'> {
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
      return { action: 'acquire' };
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    this.observed = observe(this.observed, leaseRecord(lease), this.clock());
    // The holder's own lease duration, as it wrote it; ours if it wrote none.
    const durationMs = (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
    const verdict = leaseVerdict(holder, identity, this.observed, durationMs, this.clock());
    if (verdict.action === 'follow') return this.leading ? 'lost' : verdict;
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
    const written = await this.api.replaceNamespacedLease({ name, namespace, body: lease });
    // Our own write is the record a follower now watches; no need to wait it out ourselves.
    this.observed = { record: leaseRecord(written), at: this.clock() };
    return verdict;
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
    clearTimeout(this.deadline);
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
    clearTimeout(this.deadline);
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
