import { describeError, reportFailure } from '../errors.js';
import type { ControllerDeps } from '../kube/controller-deps.js';
import type { Logger } from '../observability/logger.js';
import {
  approveCommand,
  DeletionApprovals,
  deletionsConfigMap,
  describeBlocked,
} from './approvals.js';
import { capDeletions, type BlockedDeletions } from './guards.js';
import type { ChangeGroup, Zone } from './types.js';

/** While a zone's deletions are blocked, how often it is synced again to notice an approval. */
const blockedRecheckMs = 10_000;

export interface DeletionGuardDeps extends Pick<
  ControllerDeps,
  'kubeConfig' | 'config' | 'log' | 'metrics' | 'events'
> {
  /** Sync the zone again after `ms` (to notice an approval while blocked). */
  recheck: (zoneId: string, ms: number) => void;
}

/**
 * The I/O around the pure cap (guards.ts) in a zone sync: the approvals read from and the
 * blocked sets written to the ConfigMap certroute-deletions, the gauge, the log and the Event.
 */
export class DeletionGuard {
  private readonly approvals: DeletionApprovals;

  constructor(private readonly d: DeletionGuardDeps) {
    this.approvals = new DeletionApprovals(d.kubeConfig, d.config.namespace, d.log);
  }

  /**
   * The deletion cap: past --max-deletions-per-zone a sync deletes nothing (creates and
   * updates still go out) until the cap is raised or a human approves exactly this set on the
   * ConfigMap certroute-deletions. Approvals are read only while deletions are blocked.
   */
  async apply(zone: Zone, groups: ChangeGroup[], log: Logger): Promise<ChangeGroup[]> {
    const max = this.d.config.maxDeletionsPerZone;
    let res = capDeletions(groups, max);
    let consumed: string | undefined;
    if (res.blocked) {
      const token = res.blocked.token;
      const approved = await this.approvals.approved().catch((err: unknown) => {
        log.warn({ err: describeError(err) }, 'could not read deletion approvals');
        return new Set<string>();
      });
      res = capDeletions(groups, max, approved);
      if (!res.blocked) {
        consumed = token;
        log.info({ token, zone: zone.name }, 'blocked deletions approved; deleting them');
      }
    }
    this.d.metrics.dnsDeletionsBlocked.set({ zone: zone.name }, res.blocked?.count ?? 0);
    if (res.blocked) await this.reportBlocked(zone, res.blocked, log);
    // No entry left for this zone (and a used approval token taken out), once per process.
    else if (consumed || !this.approvals.isWritten(zone.name, undefined))
      await this.approvals.report(zone.name, undefined, consumed);
    return res.allowed;
  }

  private async reportBlocked(zone: Zone, b: BlockedDeletions, log: Logger): Promise<void> {
    const { config } = this.d;
    this.d.recheck(zone.id, blockedRecheckMs);
    if (this.approvals.isWritten(zone.name, b.token)) return;
    const message = `zone ${zone.name}: ${b.count} records would be deleted, more than --max-deletions-per-zone=${config.maxDeletionsPerZone}; none is deleted. First: ${b.sample.join(', ')}. To delete exactly these: ${approveCommand(config.namespace, b.token)} (or raise the cap)`;
    reportFailure(log, this.d.metrics.failures, 'dns', 'DeletionsBlocked', message, {
      zone: zone.name,
      count: b.count,
      token: b.token,
    });
    await this.approvals.report(zone.name, {
      token: b.token,
      text: describeBlocked(config.namespace, b, config.maxDeletionsPerZone),
    });
    await this.d.events.record(
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: deletionsConfigMap, namespace: config.namespace },
      },
      'Warning',
      'DeletionsBlocked',
      message,
    );
  }
}
