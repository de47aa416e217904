import type * as k8s from '@kubernetes/client-node';
import type { Condition, DNSEndpoint, DNSEndpointStatus } from '../api/v1alpha1.js';
import type { Config } from '../config/index.js';
import { batches } from '../dns/batch.js';
import { plan, statusKey, type RecordStatus } from '../dns/plan.js';
import { applyPolicy } from '../dns/policy.js';
import { InvalidBatchError, type DnsProvider } from '../dns/providers/route53.js';
import {
  recordKey,
  type Change,
  type ChangeGroup,
  type DesiredRecord,
  type RecordSet,
  type Zone,
} from '../dns/types.js';
import { filterZones, zoneFor } from '../dns/zones.js';
import { isNotFound, type CrdClient } from '../kube/crd-client.js';
import type { EventRecorder } from '../kube/events.js';
import { describeError, ResilientInformer } from '../kube/informer.js';
import { WorkQueue } from '../kube/queue.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { canonical } from '../sources/ingress.js';

type Endpoint = DNSEndpoint & k8s.KubernetesObject;

export const addressSeenAnnotation = 'certroute.io/address-seen-at';
const defaultTtl = 300;
/** Events within this window are synced together: one plan, few Route53 calls. */
const debounceMs = 50;
/** How stale the zone list may be when a host finds no zone in it. */
const noZoneRefreshMs = 60_000;

export interface DnsDeps {
  kubeConfig: k8s.KubeConfig;
  crds: CrdClient;
  provider: DnsProvider;
  config: Config;
  log: Logger;
  metrics: Metrics;
  events: EventRecorder;
  isLeader: () => boolean;
}

interface ZoneCache {
  records: Map<string, RecordSet>;
  listedAt: number;
}

/** The owner written into ownership TXT records: the Ingress, or the DNSEndpoint itself if made by hand. */
export function resourceOf(e: Endpoint): string {
  const owner = e.metadata?.ownerReferences?.find((r) => r.controller);
  const ns = e.metadata?.namespace ?? '';
  return owner?.kind === 'Ingress'
    ? `ingress/${ns}/${owner.name}`
    : `dnsendpoint/${ns}/${e.metadata?.name ?? ''}`;
}

/**
 * DNSEndpoint → Route53. Work is keyed by zone: every change touching a zone schedules one
 * sync of that zone, which plans all its desired records at once (pure planner, then policy,
 * then batches of at most 1,000 records). Statuses are written per DNSEndpoint afterwards.
 */
export class DnsController {
  readonly endpoints: ResilientInformer<Endpoint>;
  readonly queue: WorkQueue;
  private readonly log: Logger;
  private zoneList: { zones: Zone[]; at: number } | undefined;
  private zoneListing: Promise<Zone[]> | undefined;
  private readonly zoneCache = new Map<string, ZoneCache>();
  private readonly states = new Map<string, RecordStatus & { zoneId: string }>();
  private resync: NodeJS.Timeout | undefined;
  /**
   * Change groups Route53 refused, by content: the same content is not sent again until the
   * resync interval has passed (a refused value stays refused), but any edit retries at once.
   */
  private readonly rejected = new Map<string, { message: string; at: number }>();

  constructor(private readonly d: DnsDeps) {
    this.log = d.log.child({ controller: 'dns' });
    this.endpoints = new ResilientInformer<Endpoint>({
      kubeConfig: d.kubeConfig,
      resource: 'dnsendpoints',
      path: d.crds.watchPath('dnsendpoints'),
      list: () => d.crds.list<Endpoint>('dnsendpoints'),
      log: this.log,
      metrics: d.metrics,
    });
    this.queue = new WorkQueue({
      name: 'dns',
      concurrency: d.config.workers,
      reconcile: (k) => this.reconcile(k),
      log: this.log,
      metrics: d.metrics,
    });
    this.endpoints.on((_ev, e) => this.onEndpoint(e));
  }

  get synced(): boolean {
    return this.endpoints.synced;
  }

  async start(): Promise<void> {
    await this.endpoints.start();
    this.resync = setInterval(() => this.enqueueAll(), this.d.config.resyncInterval);
    this.resync.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.resync);
    await this.queue.shutdown();
    await this.endpoints.stop();
  }

  /** Every zone and every endpoint status: on becoming leader and on the resync interval. */
  enqueueAll(): void {
    void this.zones()
      .then((zones) => {
        for (const z of zones) this.queue.add(`zone/${z.id}`);
        for (const e of this.endpoints.list())
          this.queue.add(`status/${e.metadata?.namespace}/${e.metadata?.name}`);
      })
      .catch((err: unknown) =>
        this.log.warn({ err: describeError(err) }, 'listing hosted zones failed'),
      );
  }

  private onEndpoint(e: Endpoint): void {
    void this.zonesCovering(e)
      .then((zones) => {
        this.queue.add(`status/${e.metadata?.namespace}/${e.metadata?.name}`);
        const filtered = this.d.config.domainFilter;
        // Current and previous hosts alike: a removed host's zone must sync to delete it.
        const ids = new Set<string>();
        for (const ep of e.spec?.endpoints ?? []) {
          const z = zoneFor(ep.dnsName, zones, filtered);
          if (z) ids.add(z.id);
        }
        for (const s of this.states.values()) if (s.owner === undefined) ids.add(s.zoneId);
        for (const id of ids) this.queue.addAfter(`zone/${id}`, debounceMs);
      })
      .catch((err: unknown) =>
        this.log.warn({ err: describeError(err) }, 'listing hosted zones failed'),
      );
  }

  /**
   * The managed zones, listed at most once per resync interval; or once a minute when a host
   * found no zone (`maxAgeMs`), so a zone created after start is picked up without waiting.
   */
  private async zones(maxAgeMs = this.d.config.resyncInterval): Promise<Zone[]> {
    if (this.zoneList && Date.now() - this.zoneList.at < maxAgeMs) return this.zoneList.zones;
    this.zoneListing ??= this.d.provider
      .zones()
      .then((all) => {
        const zones = filterZones(all, this.d.config);
        this.zoneList = { zones, at: Date.now() };
        return zones;
      })
      .finally(() => {
        this.zoneListing = undefined;
      });
    return this.zoneListing;
  }

  /** Zones for an endpoint's hosts, refreshing the list (rate-limited) if some host has none. */
  private async zonesCovering(e: Endpoint): Promise<Zone[]> {
    const zones = await this.zones();
    const orphan = (e.spec?.endpoints ?? []).some(
      (ep) => !zoneFor(ep.dnsName, zones, this.d.config.domainFilter),
    );
    return orphan ? this.zones(noZoneRefreshMs) : zones;
  }

  async reconcile(key: string): Promise<void> {
    if (!this.d.isLeader()) return;
    const [kind, ...rest] = key.split('/');
    if (kind === 'zone') return this.syncZone(rest.join('/'));
    if (kind === 'status') return this.writeStatus(rest[0] ?? '', rest[1] ?? '');
  }

  private async zoneRecords(zone: Zone): Promise<Map<string, RecordSet>> {
    const cached = this.zoneCache.get(zone.id);
    if (cached && Date.now() - cached.listedAt < this.d.config.resyncInterval)
      return cached.records;
    const records = new Map<string, RecordSet>();
    for (const r of await this.d.provider.records(zone.id))
      records.set(recordKey(r.name, r.type), r);
    this.zoneCache.set(zone.id, { records, listedAt: Date.now() });
    return records;
  }

  private inScope = (resource: string): boolean => {
    const ns = resource.split('/')[1] ?? '';
    const watched = this.d.config.watchNamespaces;
    return watched.length === 0 || watched.includes(ns);
  };

  private desiredFor(
    zone: Zone,
    zones: Zone[],
  ): { desired: DesiredRecord[]; waiting: Set<string>; seen: Map<string, number> } {
    const desired: DesiredRecord[] = [];
    const waiting = new Set<string>();
    const seen = new Map<string, number>();
    for (const e of this.endpoints.list()) {
      const resource = resourceOf(e);
      const seenAt = Date.parse(e.metadata?.annotations?.[addressSeenAnnotation] ?? '');
      for (const ep of e.spec?.endpoints ?? []) {
        if (zoneFor(ep.dnsName, zones, this.d.config.domainFilter)?.id !== zone.id) continue;
        const d = toDesired(ep, resource);
        if (!d) {
          waiting.add(resource);
          continue;
        }
        desired.push(d);
        if (!Number.isNaN(seenAt)) seen.set(statusKey(resource, d.name, d.type), seenAt);
      }
    }
    return { desired, waiting, seen };
  }

  private async syncZone(zoneId: string): Promise<void> {
    const zones = await this.zones();
    const zone = zones.find((z) => z.id === zoneId);
    if (!zone) return;
    const log = this.log.child({ zone: zone.name });
    try {
      const current = await this.zoneRecords(zone);
      const { desired, waiting, seen } = this.desiredFor(zone, zones);
      const p = plan({
        zone,
        current,
        desired,
        ownerId: this.d.config.ownerId,
        adoptOwnerIds: this.d.config.adoptOwnerIds,
        inScope: this.inScope,
        waiting,
      });
      const allowed = applyPolicy(this.d.config.policy, p.groups);
      for (const g of p.groups.filter((x) => !allowed.includes(x)))
        markPolicySkipped(p.statuses, g, this.d.config.policy);
      const groups = allowed.filter((g) => !this.stillRejected(zone, g, p.statuses));
      if (groups.length > 0) await this.apply(zone, groups, p.statuses, seen, log);
      this.saveStates(zone.id, p.statuses);
      this.d.metrics.dnsRecords.set(
        { zone: zone.name },
        countOwned(current, this.d.config.ownerId),
      );
      this.d.metrics.dnsLastSync.set({ zone: zone.name }, Date.now() / 1000);
    } catch (err) {
      this.d.metrics.dnsSyncErrors.inc({ zone: zone.name });
      this.zoneCache.delete(zone.id);
      throw new Error(`[zone ${zone.name}] sync: ${describeError(err)}`, { cause: err });
    }
  }

  private async apply(
    zone: Zone,
    groups: ChangeGroup[],
    statuses: Map<string, RecordStatus>,
    seen: Map<string, number>,
    log: Logger,
  ): Promise<void> {
    if (this.d.config.dryRun) {
      for (const g of groups)
        log.info(
          { resource: g.resource, changes: g.changes.map(describeChange) },
          'dry run: would change',
        );
      for (const g of groups)
        setGroupStatus(statuses, g, { state: 'Pending', message: 'dry run: change not sent' });
      return;
    }
    const changeIds: string[] = [];
    log.debug({ changes: groups.flatMap((g) => g.changes.map(describeChange)) }, 'sending changes');
    for (const batch of batches(groups)) {
      const results = await this.send(zone, batch, log);
      for (const r of results) {
        if (r.error) {
          setGroupStatus(statuses, r.group, { state: 'Error', message: r.error });
          this.rejected.set(fingerprint(zone, r.group), { message: r.error, at: Date.now() });
          // Maybe the cache missed something Route53 knows (a record made behind our back):
          // relist and plan again soon, so the status shows who really holds the name.
          this.zoneCache.delete(zone.id);
          this.queue.addAfter(`zone/${zone.id}`, 1000);
          continue;
        }
        this.observeLatency(r.group, seen);
        this.applyToCache(zone.id, r.group.changes);
        for (const c of r.group.changes)
          this.d.metrics.dnsChanges.inc({ zone: zone.name, action: c.action });
      }
      changeIds.push(...new Set(results.flatMap((r) => (r.changeId ? [r.changeId] : []))));
    }
    await Promise.all(changeIds.map((id) => this.d.provider.waitInSync(id)));
    for (const g of groups)
      if (groupState(statuses, g) === 'Pending')
        setGroupStatus(statuses, g, { state: 'Published' });
    log.info({ groups: groups.length, calls: changeIds.length }, 'changes in sync');
  }

  /** Sends a batch; if Route53 refuses it, splits it to isolate the bad group(s) so the rest lands. */
  private async send(
    zone: Zone,
    batch: ChangeGroup[],
    log: Logger,
  ): Promise<{ group: ChangeGroup; changeId?: string; error?: string }[]> {
    try {
      const changeId = await this.d.provider.applyChanges(
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
        ...(await this.send(zone, batch.slice(0, mid), log)),
        ...(await this.send(zone, batch.slice(mid), log)),
      ];
    }
  }

  private stillRejected(zone: Zone, g: ChangeGroup, statuses: Map<string, RecordStatus>): boolean {
    const key = fingerprint(zone, g);
    const r = this.rejected.get(key);
    if (!r) return false;
    if (Date.now() - r.at >= this.d.config.resyncInterval) {
      this.rejected.delete(key);
      return false;
    }
    setGroupStatus(statuses, g, { state: 'Error', message: r.message });
    return true;
  }

  private observeLatency(g: ChangeGroup, seen: Map<string, number>): void {
    const rec = g.changes.find((c) => c.record.type !== 'TXT' && c.action !== 'DELETE');
    const at = rec ? seen.get(statusKey(g.resource, rec.record.name, rec.record.type)) : undefined;
    if (at !== undefined) this.d.metrics.dnsLatency.observe(Math.max(0, Date.now() - at) / 1000);
  }

  private applyToCache(zoneId: string, changes: Change[]): void {
    const records = this.zoneCache.get(zoneId)?.records;
    if (!records) return;
    for (const c of changes) {
      const k = recordKey(c.record.name, c.record.type);
      if (c.action === 'DELETE') records.delete(k);
      else records.set(k, c.record);
    }
  }

  private saveStates(zoneId: string, statuses: Map<string, RecordStatus>): void {
    const touched = new Set<string>();
    for (const [k, s] of this.states) {
      if (s.zoneId === zoneId) {
        this.states.delete(k);
        touched.add(k.split('|')[0] ?? '');
      }
    }
    for (const [k, s] of statuses) {
      this.states.set(k, { ...s, zoneId });
      touched.add(k.split('|')[0] ?? '');
    }
    for (const e of this.endpoints.list()) {
      if (touched.has(resourceOf(e)))
        this.queue.add(`status/${e.metadata?.namespace}/${e.metadata?.name}`);
    }
  }

  private async writeStatus(namespace: string, name: string): Promise<void> {
    const e = this.endpoints.get(name, namespace);
    if (!e) return;
    const zones = await this.zonesCovering(e);
    const resource = resourceOf(e);
    const records = (e.spec?.endpoints ?? []).map((ep) => {
      const base = { dnsName: ep.dnsName, recordType: ep.recordType ?? '' };
      if (!ep.recordType || ep.targets.length === 0)
        return {
          ...base,
          state: 'WaitingForAddress' as const,
          message: 'the Ingress has no load balancer address yet',
        };
      const zone = zoneFor(ep.dnsName, zones, this.d.config.domainFilter);
      if (!zone)
        return {
          ...base,
          state: 'NoZone' as const,
          message: `no managed Route53 hosted zone contains ${ep.dnsName}`,
        };
      const s = this.states.get(statusKey(resource, ep.dnsName, ep.recordType));
      return {
        ...base,
        zoneID: zone.id,
        state: s?.state ?? ('Pending' as const),
        ...(s?.owner ? { owner: s.owner } : {}),
        ...(s?.message ? { message: s.message } : {}),
      };
    });
    const status = endpointStatus(e, records);
    if (canonical(stripTimes(status)) === canonical(stripTimes(e.status ?? {}))) return;
    try {
      await this.d.crds.patchStatus('dnsendpoints', namespace, name, status);
    } catch (err) {
      if (isNotFound(err)) return; // deleted meanwhile
      throw err;
    }
    await this.reportEvents(e, records, e.status?.endpoints ?? []);
  }

  private async reportEvents(
    e: Endpoint,
    now: NonNullable<DNSEndpointStatus['endpoints']>,
    before: NonNullable<DNSEndpointStatus['endpoints']>,
  ): Promise<void> {
    const owner = e.metadata?.ownerReferences?.find((r) => r.controller && r.kind === 'Ingress');
    const target = owner
      ? {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'Ingress',
          metadata: { name: owner.name, namespace: e.metadata?.namespace, uid: owner.uid },
        }
      : { apiVersion: 'certroute.io/v1alpha1', kind: 'DNSEndpoint', metadata: e.metadata ?? {} };
    const prev = new Map(before.map((r) => [`${r.dnsName}|${r.recordType}`, r.state]));
    for (const r of now) {
      if (prev.get(`${r.dnsName}|${r.recordType}`) === r.state) continue;
      const what = `${r.recordType || 'record'} ${r.dnsName}`;
      if (r.state === 'Published')
        await this.d.events.record(
          target,
          'Normal',
          'RecordPublished',
          `${what} published in Route53`,
        );
      else if (r.state === 'OwnedByOther' || r.state === 'NoZone' || r.state === 'Error')
        await this.d.events.record(
          target,
          'Warning',
          `Record${r.state}`,
          `${what}: ${r.message ?? r.state}`,
        );
    }
  }
}

/** The record an endpoint asks for, or undefined while it has no address yet. */
function toDesired(
  ep: DNSEndpoint['spec']['endpoints'][number],
  resource: string,
): DesiredRecord | undefined {
  if (!ep.recordType || ep.targets.length === 0) return undefined;
  const alias = ep.aliasHostedZoneID
    ? { alias: { hostedZoneId: ep.aliasHostedZoneID, dnsName: ep.targets[0] ?? '' } }
    : {};
  return {
    name: ep.dnsName,
    type: ep.recordType,
    ttl: ep.recordTTL ?? defaultTtl,
    values: ep.targets,
    resource,
    ...alias,
  };
}

type StatusRecord = NonNullable<DNSEndpointStatus['endpoints']>[number];

function endpointStatus(e: Endpoint, records: StatusRecord[]): DNSEndpointStatus {
  const generation = e.metadata?.generation;
  return {
    observedGeneration: generation,
    endpoints: records,
    conditions: [readyCondition(e, records)],
  };
}

function readyCondition(e: Endpoint, records: StatusRecord[]): Condition {
  const bad = records.find((r) => r.state !== 'Published');
  const status = records.length > 0 && !bad ? 'True' : 'False';
  const reason = bad ? bad.state : 'Published';
  const message = bad
    ? `${bad.recordType || 'record'} ${bad.dnsName}: ${bad.message ?? bad.state}`
    : `all ${records.length} records published`;
  const prior = e.status?.conditions?.find((c) => c.type === 'Ready');
  const same = prior?.status === status && prior.reason === reason && prior.message === message;
  const lastTransitionTime = same && prior ? prior.lastTransitionTime : new Date().toISOString();
  return {
    type: 'Ready',
    status,
    reason,
    message,
    lastTransitionTime,
    observedGeneration: e.metadata?.generation,
  };
}

function stripTimes(s: DNSEndpointStatus): unknown {
  return { ...s, conditions: s.conditions?.map((c) => ({ ...c, lastTransitionTime: '' })) };
}

function fingerprint(zone: Zone, g: ChangeGroup): string {
  return `${zone.id}|${g.resource}|${canonical(g.changes)}`;
}

function groupKeys(g: ChangeGroup): string[] {
  return g.changes
    .filter((c) => c.record.type !== 'TXT')
    .map((c) => statusKey(g.resource, c.record.name, c.record.type));
}

function groupState(statuses: Map<string, RecordStatus>, g: ChangeGroup): string | undefined {
  return groupKeys(g)
    .map((k) => statuses.get(k)?.state)
    .find(Boolean);
}

function setGroupStatus(
  statuses: Map<string, RecordStatus>,
  g: ChangeGroup,
  s: RecordStatus,
): void {
  for (const k of groupKeys(g)) if (statuses.has(k)) statuses.set(k, s);
}

function markPolicySkipped(
  statuses: Map<string, RecordStatus>,
  g: ChangeGroup,
  policy: string,
): void {
  setGroupStatus(statuses, g, {
    state: 'Published',
    message: `existing record left as it is (policy ${policy})`,
  });
}

function describeChange(c: Change): string {
  return `${c.action} ${c.record.type} ${c.record.name} ${c.record.alias ? `ALIAS ${c.record.alias.dnsName}` : c.record.values.join(',')}`;
}

function countOwned(records: Map<string, RecordSet>, ownerId: string): number {
  let n = 0;
  for (const r of records.values())
    if (r.type === 'TXT' && r.values.some((v) => v.includes(`certroute/owner=${ownerId},`))) n++;
  return n;
}
