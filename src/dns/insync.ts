import { setTimeout as sleep } from 'node:timers/promises';
import { describeError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { DnsProvider } from './providers/provider.js';
import { classifyProviderError } from './providers/classify.js';
import type { Zone } from './types.js';

/** GetChange polling per zone: the first poll this long after a change, doubling up to the max. */
const inSyncFirstPollMs = 250;
const inSyncMaxPollMs = 5000;
/** A change not INSYNC this long after it was sent is forgotten, and its zone relisted. */
const inSyncTimeoutMs = 300_000;

/** A zone's changes sent and not yet confirmed INSYNC, oldest first, and its one poller. */
interface ZoneChanges {
  changes: { id: string; sentAt: number }[];
  polling: boolean;
}

export interface InSyncHandlers {
  /** These changes are INSYNC. */
  confirmed(zone: Zone, changeIds: Set<string>): void;
  /** These changes were not confirmed (a GetChange error, or the timeout). */
  notConfirmed(zone: Zone, changeIds: Set<string>, err: unknown): void;
}

/**
 * Waits for INSYNC outside the zone's sync, so the zone keeps serving new changes meanwhile:
 * one GetChange poller per zone (every 250 ms, doubling up to 5 s). Route53 applies a zone's
 * changes in order, so only the newest outstanding change is polled: once it is INSYNC, so is
 * every earlier one. A failed poll (throttled, say) is polled again; a change Route53 does not
 * know, or one not INSYNC within 5 minutes, is reported not confirmed. A poller ends when
 * nothing is outstanding, or on stop.
 */
export class InSyncWatcher {
  private readonly unconfirmed = new Map<string, ZoneChanges>();
  private readonly stopping = new AbortController();

  constructor(
    private readonly provider: DnsProvider,
    private readonly handlers: InSyncHandlers,
  ) {}

  /** Hands sent change ids to the zone's poller, starting it if it is not running. */
  track(zone: Zone, changeIds: string[], log: Logger): void {
    if (changeIds.length === 0) return;
    let t = this.unconfirmed.get(zone.id);
    if (!t) this.unconfirmed.set(zone.id, (t = { changes: [], polling: false }));
    const sentAt = Date.now();
    for (const id of changeIds) t.changes.push({ id, sentAt });
    if (t.polling) return;
    t.polling = true;
    void this.poll(zone, t, log);
  }

  /** Cancels the pollers' sleeps. */
  stop(): void {
    this.stopping.abort();
  }

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  private async poll(zone: Zone, t: ZoneChanges, log: Logger): Promise<void> {
    let delay = inSyncFirstPollMs;
    try {
      while (t.changes.length > 0) {
        await sleep(delay, undefined, { signal: this.stopping.signal });
        delay = Math.min(delay * 2, inSyncMaxPollMs);
        const upTo = t.changes.length;
        const newest = t.changes[upTo - 1]?.id ?? '';
        let inSync = false;
        try {
          inSync = await this.provider.isInSync(newest);
        } catch (err) {
          if (this.stopped) return;
          // A failed poll (throttled, a timeout) says nothing about the change: poll again,
          // within the timeout. Only Route53 not knowing the change forgets it now.
          if (classifyProviderError(err) !== 'retry') {
            this.handlers.notConfirmed(zone, ids(t.changes.splice(0, upTo)), err);
            continue;
          }
          log.debug(
            { changeId: newest, err: describeError(err) },
            'GetChange failed; polling again',
          );
        }
        if (inSync) {
          this.handlers.confirmed(zone, ids(t.changes.splice(0, upTo)));
          continue;
        }
        const now = Date.now();
        const firstInTime = t.changes.findIndex((c) => now - c.sentAt <= inSyncTimeoutMs);
        const late = t.changes.splice(0, firstInTime === -1 ? t.changes.length : firstInTime);
        if (late.length > 0)
          this.handlers.notConfirmed(
            zone,
            ids(late),
            new Error(`change ${newest} not INSYNC after ${inSyncTimeoutMs} ms`),
          );
      }
    } catch (err) {
      // The sleep rejects when the controller stops; anything else is a bug, and the next
      // change sent in this zone starts a new poller.
      if (!this.stopped) log.error({ err: describeError(err) }, 'INSYNC poller failed');
    } finally {
      t.polling = false;
      if (t.changes.length === 0 && this.unconfirmed.get(zone.id) === t)
        this.unconfirmed.delete(zone.id);
    }
  }
}

/** Change ids in the order sent (a Set keeps it: the last one is the newest). */
function ids(changes: { id: string }[]): Set<string> {
  return new Set(changes.map((c) => c.id));
}
