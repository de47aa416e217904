import type { RecordStatus } from './plan.js';

type Stored = RecordStatus & { zoneId: string };

/**
 * Per-record states of the last sync of each zone, by status key (resource|name|type), and
 * the records sent and not yet INSYNC. A record that matches but whose change is not yet
 * confirmed is Pending, not Published. Each method returns the resources whose states changed,
 * whose DNSEndpoint statuses need writing.
 */
export class RecordStates {
  private readonly states = new Map<string, Stored>();
  /** Status keys of records sent and not yet INSYNC, with their change id. */
  private readonly inFlight = new Map<string, string>();

  get(key: string): Stored | undefined {
    return this.states.get(key);
  }

  sent(keys: readonly string[], changeId: string): void {
    for (const k of keys) this.inFlight.set(k, changeId);
  }

  /** Replaces a zone's record states with a sync's. */
  save(zoneId: string, statuses: Map<string, RecordStatus>): Set<string> {
    const before = new Map<string, Stored>();
    for (const [k, st] of this.states) {
      if (st.zoneId !== zoneId) continue;
      before.set(k, st);
      this.states.delete(k);
    }
    const touched = new Set<string>();
    for (const [k, planned] of statuses) {
      // The record matches, but Route53 has not confirmed the change yet.
      const st =
        planned.state === 'Published' && this.inFlight.has(k)
          ? { ...planned, state: 'Pending' as const }
          : planned;
      this.states.set(k, { ...st, zoneId });
      if (!sameStatus(before.get(k), st)) touched.add(resourceOfKey(k));
      before.delete(k);
    }
    for (const k of before.keys()) touched.add(resourceOfKey(k));
    return touched;
  }

  /** Records whose change is now INSYNC become Published. */
  confirmed(changeIds: ReadonlySet<string>): Set<string> {
    const touched = new Set<string>();
    for (const [k, id] of this.inFlight) {
      if (!changeIds.has(id)) continue;
      this.inFlight.delete(k);
      const st = this.states.get(k);
      if (st?.state === 'Pending') {
        this.states.set(k, { ...st, state: 'Published', message: undefined });
        touched.add(resourceOfKey(k));
      }
    }
    return touched;
  }

  /** Changes that were never confirmed: their records are no longer in flight. */
  lost(changeIds: ReadonlySet<string>): void {
    for (const [k, id] of this.inFlight) if (changeIds.has(id)) this.inFlight.delete(k);
  }
}

function resourceOfKey(statusKey: string): string {
  return statusKey.split('|')[0] ?? '';
}

/** Field by field (a RecordStatus is flat): a sync compares every record of its zone. */
function sameStatus(a: RecordStatus | undefined, b: RecordStatus): boolean {
  return (
    a !== undefined &&
    a.state === b.state &&
    a.owner === b.owner &&
    a.message === b.message &&
    a.rule === b.rule
  );
}
