export interface TokenBucketOptions {
  /** Milliseconds since some epoch; tests inject a fake clock. */
  now?: () => number;
}

interface Waiter {
  resolve: () => void;
}

/**
 * A token bucket: `rate` requests per second, bursting up to `rate`. Waiters are served by
 * priority (0 first, then 1, ...) and in arrival order within a priority. Priorities only
 * reorder who gets the next token: grants never exceed the bucket's rate, and a waiter that
 * arrives while tokens are left gets one at once whatever its priority.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  /** Waiters by priority, each queue oldest first. */
  private readonly waiters: Waiter[][] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(
    private readonly rate: number,
    opts: TokenBucketOptions = {},
  ) {
    if (!(rate > 0)) throw new Error(`token bucket rate must be positive, got ${rate}`);
    this.now = opts.now ?? (() => Date.now());
    this.tokens = rate;
    this.last = this.now();
  }

  /** Resolves when a token is granted. `priority` is a small integer; lower is served first. */
  take(priority = 0): Promise<void> {
    const p = Math.max(0, Math.floor(priority));
    return new Promise<void>((resolve) => {
      for (let i = this.waiters.length; i <= p; i++) this.waiters.push([]);
      this.waiters[p]?.push({ resolve });
      this.pump();
    });
  }

  /** Waiters not yet granted (tests, diagnostics). */
  get waiting(): number {
    return this.waiters.reduce((n, q) => n + q.length, 0);
  }

  private pump(): void {
    this.refill();
    for (;;) {
      const next = this.waiters.find((q) => q.length > 0);
      if (!next) return;
      if (this.tokens < 1) break;
      this.tokens -= 1;
      next.shift()?.resolve();
    }
    if (this.timer) return;
    const waitMs = Math.max(1, Math.ceil(((1 - this.tokens) / this.rate) * 1000));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, waitMs);
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(
      this.rate,
      this.tokens + (Math.max(0, now - this.last) / 1000) * this.rate,
    );
    this.last = now;
  }
}
