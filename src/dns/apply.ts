import type { Config } from '../config/index.js';
import { canonical } from '../kube/canonical.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { batches } from './batch.js';
import { statusKey, type RecordStatus } from './plan.js';
import { InvalidBatchError, type DnsProvider } from './providers/provider.js';
import type { Change, ChangeGroup, Zone } from './types.js';

/** Calls one sync may spend isolating refused changes before deferring the rest. */
const splitBudget = 32;

interface SendResult {
  group: ChangeGroup;
  changeId?: string;
  error?: string;
  /** Not sent: the split budget of this sync ran out. */
  deferred?: boolean;
}

export interface ApplyHooks {
  /** Route53 accepted these changes: the zone's cache takes them. */
  applied(zone: Zone, changes: Change[]): void;
  /** Sync the zone again soon; `relist` first when the cache may have missed something. */
  again(zone: Zone, relist: boolean): void;
  /** These records were sent in this change. */
  sent(keys: string[], changeId: string): void;
}

/**
 * Sends a zone's planned change groups to the provider in batches within Route53's limits.
 * A refused batch is split to isolate the bad group(s), so the rest lands; a refused group is
 * not sent again with the same content until the resync interval has passed (a refused value
 * stays refused), but any edit retries at once.
 */
export class ChangeSender {
  private readonly rejected = new Map<string, { message: string; at: number }>();

  constructor(
    private readonly provider: DnsProvider,
    private readonly config: Config,
    private readonly metrics: Metrics,
    private readonly hooks: ApplyHooks,
  ) {}

  /** Groups refused earlier with the same content, marked Error in `statuses`, are left out. */
  notRejected(zone: Zone, groups: ChangeGroup[], statuses: Map<string, RecordStatus>) {
    return groups.filter((g) => !this.stillRejected(zone, g, statuses));
  }

  /** Sends the groups; returns the change ids to wait INSYNC for. */
  async apply(
    zone: Zone,
    groups: ChangeGroup[],
    statuses: Map<string, RecordStatus>,
    seen: Map<string, number>,
    log: Logger,
  ): Promise<string[]> {
    if (this.config.dryRun) {
      for (const g of groups)
        log.info(
          { resource: g.resource, changes: g.changes.map(describeChange) },
          'dry run: would change',
        );
      for (const g of groups)
        setGroupStatus(statuses, g, { state: 'Pending', message: 'dry run: change not sent' });
      return [];
    }
    const changeIds: string[] = [];
    const budget = { calls: splitBudget };
    log.debug({ changes: groups.flatMap((g) => g.changes.map(describeChange)) }, 'sending changes');
    for (const batch of batches(groups)) {
      const results = await this.send(zone, batch, log, budget);
      for (const r of results) this.settle(zone, r, statuses, seen);
      for (const r of results) {
        if (!r.changeId) continue;
        changeIds.push(r.changeId);
        this.hooks.sent(groupKeys(r.group), r.changeId);
      }
    }
    const ids = [...new Set(changeIds)];
    log.info({ groups: groups.length, calls: ids.length }, 'changes sent');
    return ids;
  }

  private settle(
    zone: Zone,
    r: SendResult,
    statuses: Map<string, RecordStatus>,
    seen: Map<string, number>,
  ): void {
    if (r.deferred) {
      setGroupStatus(statuses, r.group, {
        state: 'Pending',
        message:
          'Route53 refused a batch holding this change; isolating the bad change continues on the next sync',
      });
      this.hooks.again(zone, false);
      return;
    }
    if (r.error) {
      setGroupStatus(statuses, r.group, { state: 'Error', message: r.error });
      this.rejected.set(fingerprint(zone, r.group), { message: r.error, at: Date.now() });
      // Maybe the cache missed something Route53 knows (a record made behind our back):
      // relist and plan again soon, so the status shows who really holds the name.
      this.hooks.again(zone, true);
      return;
    }
    this.observeLatency(r.group, seen);
    this.hooks.applied(zone, r.group.changes);
    for (const c of r.group.changes)
      this.metrics.dnsChanges.inc({ zone: zone.name, action: c.action });
  }

  /**
   * Sends a batch; if Route53 refuses it, splits it to isolate the bad group(s) so the rest
   * lands. Splitting is capped per sync (`budget` calls): when every change in a large batch is
   * bad, isolating them one by one would cost a call each; the rest waits for the next sync.
   */
  private async send(
    zone: Zone,
    batch: ChangeGroup[],
    log: Logger,
    budget: { calls: number },
  ): Promise<SendResult[]> {
    if (budget.calls <= 0) return batch.map((group) => ({ group, deferred: true }));
    budget.calls--;
    try {
      const changeId = await this.provider.applyChanges(
        zone.id,
        batch.flatMap((g) => g.changes),
      );
      return batch.map((group) => ({ group, changeId }));
    } catch (err) {
      if (!(err instanceof InvalidBatchError)) throw err;
      if (batch.length === 1) {
        log.warn(
          { resource: batch[0]?.resource, record: batch[0]?.key, err: err.message },
          'Route53 rejected a change',
        );
        return [
          { group: batch[0] as ChangeGroup, error: `Route53 rejected the change: ${err.message}` },
        ];
      }
      const mid = Math.ceil(batch.length / 2);
      return [
        ...(await this.send(zone, batch.slice(0, mid), log, budget)),
        ...(await this.send(zone, batch.slice(mid), log, budget)),
      ];
    }
  }

  private stillRejected(zone: Zone, g: ChangeGroup, statuses: Map<string, RecordStatus>): boolean {
    const key = fingerprint(zone, g);
    const r = this.rejected.get(key);
    if (!r) return false;
    if (Date.now() - r.at >= this.config.resyncInterval) {
      this.rejected.delete(key);
      return false;
    }
    setGroupStatus(statuses, g, { state: 'Error', message: r.message });
    return true;
  }

  private observeLatency(g: ChangeGroup, seen: Map<string, number>): void {
    const rec = g.changes.find((c) => c.record.type !== 'TXT' && c.action !== 'DELETE');
    const at = rec ? seen.get(statusKey(g.resource, rec.record.name, rec.record.type)) : undefined;
    if (at !== undefined) this.metrics.dnsLatency.observe(Math.max(0, Date.now() - at) / 1000);
  }
}

function fingerprint(zone: Zone, g: ChangeGroup): string {
  return `${zone.id}|${g.resource}|${canonical(g.changes)}`;
}

function groupKeys(g: ChangeGroup): string[] {
  return g.changes
    .filter((c) => c.record.type !== 'TXT')
    .map((c) => statusKey(g.resource, c.record.name, c.record.type));
}

export function setGroupStatus(
  statuses: Map<string, RecordStatus>,
  g: ChangeGroup,
  s: RecordStatus,
): void {
  for (const k of groupKeys(g)) if (statuses.has(k)) statuses.set(k, s);
}

function describeChange(c: Change): string {
  return `${c.action} ${c.record.type} ${c.record.name} ${c.record.alias ? `ALIAS ${c.record.alias.dnsName}` : c.record.values.join(',')}`;
}
