/**
 * New ACME orders per namespace in a sliding window (an hour), in memory: a restart or a new
 * leader starts with a full budget. Pure apart from the injected clock.
 */
export type Take = { ok: true } | { ok: false; retryAfterMs: number };

export class OrderBudget {
  /** Per namespace, the times (ms) of the orders taken within the window, oldest first. */
  private readonly taken = new Map<string, number[]>();

  constructor(
    private readonly now: () => number = Date.now,
    readonly windowMs = 3_600_000,
  ) {}

  /** Takes one order of `limit` for `namespace`, or says when the oldest one leaves the window. */
  take(namespace: string, limit: number): Take {
    return this.check(namespace, limit, true);
  }

  /** Would take() succeed now? Takes nothing. */
  peek(namespace: string, limit: number): Take {
    return this.check(namespace, limit, false);
  }

  private check(namespace: string, limit: number, take: boolean): Take {
    const now = this.now();
    const times = this.recent(namespace, now);
    if (times.length >= limit) {
      const oldest = times[times.length - limit] ?? now;
      return { ok: false, retryAfterMs: Math.max(1, oldest + this.windowMs - now) };
    }
    if (!take) return { ok: true };
    times.push(now);
    this.taken.set(namespace, times);
    return { ok: true };
  }

  /** Orders taken within the window. */
  used(namespace: string): number {
    return this.recent(namespace, this.now()).length;
  }

  private recent(namespace: string, now: number): number[] {
    const times = (this.taken.get(namespace) ?? []).filter((t) => t > now - this.windowMs);
    if (times.length === 0) this.taken.delete(namespace);
    else this.taken.set(namespace, times);
    return times;
  }
}
