import type { Config } from '../config/index.js';
import { describeError } from '../errors.js';
import { jitteredBackoff } from '../kube/backoff.js';
import { canonical } from '../kube/canonical.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { batches } from './batch.js';
import { statusKey, type RecordStatus } from './plan.js';
import type { DnsProvider } from './providers/provider.js';
import { classifyProviderError } from './providers/classify.js';
import type { Change, ChangeGroup, Zone } from './types.js';

/** Calls one sync may spend isolating refused changes before deferring the rest. */
const splitBudget = 32;
/** A zone whose calls keep failing (throttled past the SDK's retries, 5xx, ...) backs off. */
const failedBaseMs = 1000;
const failedMaxMs = 60_000;

interface SendResult {
  group: ChangeGroup;
  changeId?: string;
  /** Route53 refused the change (InvalidChangeBatch); `relist` if it says the cache is wrong. */
  error?: string;
  relist?: boolean;
  /** Not sent: the split budget of this sync ran out. */
  deferred?: boolean;
  /** The call failed (throttled, timed out, ...), or an earlier one of this sync did: retried. */
  failed?: string;
}

export interface ApplyHooks {
  /** Route53 accepted these changes: the zone's cache takes them. */
  applied(zone: Zone, changes: Change[]): void;
  /**
   * Sync the zone again in `delayMs` (1 s if not given); `relist` first when Route53 said the
   * cache disagrees with it.
   */
  again(zone: Zone, relist: boolean, delayMs?: number): void;
  /** These records were sent in this change. */
  sent(keys: string[], changeId: string): void;
}

/**
 * Sends a zone's planned change groups to the provider in batches within Route53's limits.
 * What a failed call means is decided by classifyRoute53Error(): a refused batch is split to
 * isolate the bad group(s), so the rest lands; a refused group is not sent again with the same
 * content until the resync interval has passed (a refused value stays refused), but any edit
 * retries at once, and only a refusal saying the cache is wrong relists the zone. A call that
 * failed otherwise (throttled past the SDK's retries, a timeout) ends the sync's sending: the
 * unsent groups stay Pending, the zone's cache is kept, and the zone is synced again after a
 * backoff that grows while its calls keep failing.
 */
export class ChangeSender {
  private readonly rejected = new Map<string, { message: string; at: number }>();
  /** Per zone id: calls failed in a row (reset by an accepted one). */
  private readonly failures = new Map<string, number>();

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
    let failed: string | undefined;
    for (const batch of batches(groups)) {
      const results: SendResult[] = failed
        ? batch.map((group) => ({ group, failed }))
        : await this.send(zone, batch, log, budget);
      for (const r of results) this.settle(zone, r, statuses, seen);
      for (const r of results) {
        failed ??= r.failed;
        if (!r.changeId) continue;
        changeIds.push(r.changeId);
        this.hooks.sent(groupKeys(r.group), r.changeId);
      }
    }
    if (failed) this.retryLater(zone, failed, log);
    else this.failures.delete(zone.id);
    const ids = [...new Set(changeIds)];
    log.info({ groups: groups.length, calls: ids.length }, 'changes sent');
    return ids;
  }

  /** A call failed: the zone's cache is kept and the zone synced again after a backoff. */
  private retryLater(zone: Zone, error: string, log: Logger): void {
    const n = (this.failures.get(zone.id) ?? 0) + 1;
    this.failures.set(zone.id, n);
    const delayMs = Math.round(jitteredBackoff(n, failedBaseMs, failedMaxMs));
    // Still a failed sync for the metric and its alert, though the sync itself completes.
    this.metrics.dnsSyncErrors.inc({ zone: zone.name });
    log.warn(
      { err: error, failures: n, retryInMs: delayMs },
      `${this.provider.label} change failed; the unsent changes are retried, the zone cache is kept`,
    );
    this.hooks.again(zone, false, delayMs);
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
        message: `${this.provider.label} refused a batch holding this change; isolating the bad change continues on the next sync`,
      });
      this.hooks.again(zone, false);
      return;
    }
    if (r.failed) {
      setGroupStatus(statuses, r.group, {
        state: 'Pending',
        message: `${this.provider.label} call failed (${r.failed}); the change is sent again soon`,
      });
      return;
    }
    if (r.error) {
      setGroupStatus(statuses, r.group, { state: 'Error', message: r.error });
      // Withheld until the resync interval unless it changes: if the relist below shows the
      // cache was right, the same change would be refused again.
      this.rejected.set(fingerprint(zone, r.group), { message: r.error, at: Date.now() });
      // Route53 knows something the cache missed (a record made behind our back): relist and
      // plan again soon, so the status shows who really holds the name.
      if (r.relist) this.hooks.again(zone, true);
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
      const action = classifyProviderError(err);
      if (action === 'retry') return batch.map((group) => ({ group, failed: callError(err) }));
      const message = describeError(err);
      if (batch.length === 1) {
        log.warn(
          { resource: batch[0]?.resource, record: batch[0]?.key, err: message, action },
          `${this.provider.label} rejected a change`,
        );
        return [
          {
            group: batch[0] as ChangeGroup,
            error: `${this.provider.label} rejected the change: ${message}`,
            relist: action === 'relist',
          },
        ];
      }
      const mid = Math.ceil(batch.length / 2);
      const first = await this.send(zone, batch.slice(0, mid), log, budget);
      const failed = first.find((r) => r.failed)?.failed;
      const rest = batch.slice(mid);
      return [
        ...first,
        ...(failed
          ? rest.map((group) => ({ group, failed }))
          : await this.send(zone, rest, log, budget)),
      ];
    }
  }

  private stillRejected(zone: Zone, g: ChangeGroup, statuses: Map<string, RecordStatus>): boolean {
    // Nothing refused (the usual case): no fingerprint to compute for every group of a sync.
    if (this.rejected.size === 0) return false;
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

/** A failed call for a status and a log line: the error's name and message. */
function callError(err: unknown): string {
  const name = (err as { name?: unknown } | undefined)?.name;
  const message = describeError(err);
  return typeof name === 'string' && name !== 'Error' && !message.startsWith(name)
    ? `${name}: ${message}`
    : message;
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
