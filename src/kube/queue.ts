import { setImmediate as yieldNow } from 'node:timers/promises';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { jitteredBackoff } from './backoff.js';
import { describeError } from '../errors.js';

/** What a reconcile may ask for besides success or failure (a thrown error). */
export interface ReconcileResult {
  /** Reconcile this key again after this long (e.g. a renewal timer), even without events. */
  requeueAfterMs?: number;
}

export type Reconciler = (key: string) => Promise<ReconcileResult | void>;

export interface QueueOptions {
  name: string;
  concurrency: number;
  reconcile: Reconciler;
  log: Logger;
  metrics: Metrics;
  baseRetryMs?: number;
  maxRetryMs?: number;
}

/**
 * A keyed work queue in the client-go mould:
 * - a key is worked on by at most one worker at a time;
 * - adding a key that is already waiting coalesces into one reconcile;
 * - adding a key that is being worked on marks it dirty, so it runs once more afterwards;
 * - failures retry with jittered exponential backoff per key; success resets it;
 * - up to `concurrency` keys run in parallel.
 */
export class WorkQueue {
  private readonly waiting = new Set<string>();
  private readonly order: string[] = [];
  private readonly active = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { timer: NodeJS.Timeout; dueAt: number }>();
  private running = 0;
  private shuttingDown = false;
  private held = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly opts: QueueOptions) {}

  add(key: string): void {
    if (this.shuttingDown) return;
    if (this.active.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.waiting.has(key)) return;
    this.waiting.add(key);
    this.order.push(key);
    this.updateDepth();
    this.pump();
  }

  /** Adds the key after a delay; an earlier pending delay for the key wins. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) return this.add(key);
    const dueAt = Date.now() + ms;
    const existing = this.timers.get(key);
    if (existing && existing.dueAt <= dueAt) return;
    if (existing) clearTimeout(existing.timer);
    // Node's timers overflow past ~24.8 days; re-arm in steps for long renewal timers.
    const step = Math.min(ms, 2 ** 31 - 1);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      if (ms > step) this.addAfter(key, ms - step);
      else this.add(key);
    }, step);
    timer.unref();
    this.timers.set(key, { timer, dueAt });
  }

  /** Drops retry state and any pending timer for a key (e.g. its object was deleted). */
  forget(key: string): void {
    this.failures.delete(key);
    clearTimeout(this.timers.get(key)?.timer);
    this.timers.delete(key);
  }

  /**
   * Keeps keys waiting (coalesced) without starting work, e.g. while informers deliver their
   * initial lists: reconciles would compete with them for the one event loop.
   */
  hold(): void {
    this.held = true;
  }

  /** Starts work on everything that waited while held. */
  release(): void {
    this.held = false;
    this.pump();
  }

  get isHeld(): boolean {
    return this.held;
  }

  get depth(): number {
    return this.waiting.size;
  }

  /** Stops intake and waits for in-flight reconciles to finish; waiting keys are dropped. */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    for (const t of this.timers.values()) clearTimeout(t.timer);
    this.timers.clear();
    this.waiting.clear();
    this.order.length = 0;
    this.updateDepth();
    if (this.running > 0) await new Promise<void>((r) => this.idleWaiters.push(r));
  }

  /** Resolves when nothing is waiting or running (tests and benchmarks). */
  async idle(): Promise<void> {
    if (this.running === 0 && (this.waiting.size === 0 || this.held)) return;
    await new Promise<void>((r) => this.idleWaiters.push(r));
  }

  private pump(): void {
    if (this.held) return;
    while (this.running < this.opts.concurrency && this.order.length > 0) {
      const key = this.order.shift();
      if (key === undefined || !this.waiting.delete(key)) continue;
      this.active.add(key);
      this.running++;
      this.updateDepth();
      void this.work(key);
    }
  }

  private async work(key: string): Promise<void> {
    // Each reconcile starts in its own turn of the event loop: reconciles served from caches
    // never wait on I/O and would otherwise run back to back, starving probes and watches.
    await yieldNow();
    const started = performance.now();
    let result: ReconcileResult | void = undefined;
    let failed = false;
    try {
      result = await this.opts.reconcile(key);
      this.failures.delete(key);
    } catch (err) {
      failed = true;
      const n = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, n);
      const delay = jitteredBackoff(
        n,
        this.opts.baseRetryMs ?? 500,
        this.opts.maxRetryMs ?? 300_000,
      );
      this.opts.metrics.reconcileErrors.inc({ controller: this.opts.name });
      this.opts.log.warn(
        {
          object: key,
          err: describeError(err),
          attempt: n,
          retryInMs: Math.round(delay),
        },
        'reconcile failed',
      );
      this.addAfter(key, delay);
    } finally {
      this.opts.metrics.reconcileDuration.observe(
        { controller: this.opts.name, result: failed ? 'error' : 'success' },
        (performance.now() - started) / 1000,
      );
      this.active.delete(key);
      this.running--;
    }
    if (!failed && result?.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs);
    if (this.dirty.delete(key)) this.add(key);
    this.pump();
    if (this.running === 0 && this.waiting.size === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private updateDepth(): void {
    this.opts.metrics.queueDepth.set({ controller: this.opts.name }, this.waiting.size);
  }
}
