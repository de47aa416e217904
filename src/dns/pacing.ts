/**
 * When each hosted zone may next be sent a change call (--zone-change-interval). The first
 * change to a quiet zone goes out at once; changes that arrive within the interval of the
 * last call wait for it and go out together, in one batch. A burst of thousands of hosts so
 * costs a call per zone per interval instead of a call per sync. Pure: the caller gives the
 * clock (a monotonic one: performance.now()).
 */
export class ZonePacer {
  /** Zone id → when its last change call started (ms). */
  private readonly lastCall = new Map<string, number>();

  constructor(private readonly intervalMs: number) {}

  /** Milliseconds until a change call to the zone may start; 0 means now. */
  waitMs(zoneId: string, now: number): number {
    const last = this.lastCall.get(zoneId);
    if (last === undefined || this.intervalMs <= 0) return 0;
    return Math.max(0, last + this.intervalMs - now);
  }

  /** A change call to the zone starts now. */
  called(zoneId: string, now: number): void {
    this.lastCall.set(zoneId, now);
  }

  /** The zone is gone: nothing to pace. */
  forget(zoneId: string): void {
    this.lastCall.delete(zoneId);
  }
}
