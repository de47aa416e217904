import type * as k8s from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Condition, DNSEndpoint, DNSEndpointStatus } from '../api/v1alpha1.js';
import type { Config } from '../config/index.js';
import { batches } from './batch.js';
import { plan, statusKey, type RecordStatus } from './plan.js';
import { applyPolicy } from './policy.js';
import { ownerOfTxt } from './registry.js';
import { InvalidBatchError, type DnsProvider } from './providers/route53.js';
import {
  recordKey,
  type Change,
  type ChangeGroup,
  type DesiredRecord,
  type RecordSet,
  type Zone,
} from './types.js';
import { filterZones, zoneFor } from './zones.js';
import { isNotFound, type CrdClient } from '../kube/crd-client.js';
import type { EventRecorder } from '../kube/events.js';
import { ResilientInformer, type InformerEvent } from '../kube/informer.js';
import { describeError } from '../errors.js';
import { jitteredBackoff } from '../kube/backoff.js';
import { WorkQueue } from '../kube/queue.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { canonical, sameStatus } from '../kube/canonical.js';
import { controllerOf, ownedByIngress, sameController } from '../kube/ownership.js';
import { addressSeenAnnotation } from '../sources/ingress.js';

type Endpoint = DNSEndpoint & k8s.KubernetesObject;

const defaultTtl = 300;
/** Events within this window are synced together: one plan, few Route53 calls. */
const debounceMs = 50;
/** How stale the zone list may be when a host finds no zone in it. */
const noZoneRefreshMs = 60_000;
/** GetChange polling per zone: the first poll this long after a change, doubling up to the max. */
const inSyncFirstPollMs = 250;
const inSyncMaxPollMs = 5000;
/** A change not INSYNC this long after it was sent is forgotten, and its zone relisted. */
const inSyncTimeoutMs = 300_000;

export interface DnsDeps {
  kubeConfig: k8s.KubeConfig;
  crds: CrdClient;
  provider: DnsProvider;
  config: Config;
  log: Logger;
  metrics: Metrics;
  events: EventRecorder;
  isLeader: () => boolean;
  /** A DNSEndpoint informer to share (the Ingress shim uses the same one). */
  endpoints?: ResilientInformer<Endpoint>;
  /**
   * DNSEndpoint specs derived in memory from their Ingresses (the shim's). When given, the
   * records of Ingress-owned DNSEndpoints come from here, the moment the Ingress changes,
   * instead of after the shim's write has gone through the API server and back; the stored
   * objects then carry status only. Hand-written DNSEndpoints are read from the informer.
   */
  derived?: DerivedEndpoints;
}

/** What the Ingress shim derives, by namespace/name of the DNSEndpoint it writes. */
export interface DerivedEndpoints {
  list(): Endpoint[];
  get(namespace: string, name: string): Endpoint | undefined;
  /** `update` carries the new spec; `delete` the last one (the source no longer asks). */
  on(handler: (ev: 'update' | 'delete', e: Endpoint) => void): void;
}

interface ZoneCache {
  records: Map<string, RecordSet>;
  /** When the listing behind `records` started. */
  listedAt: number;
  /**
   * While a background relist runs: every batch of changes applied to `records` since it
   * started, oldest first, replayed onto the new listing before it replaces this cache.
   */
  journal?: Change[][];
}

/** A zone's changes sent and not yet confirmed INSYNC, oldest first, and its one poller. */
interface ZoneChanges {
  changes: { id: string; sentAt: number }[];
  polling: boolean;
}

/** Every DNSEndpoint: those the shim derives from Ingresses and those written by hand. */
export function dnsEndpointInformer(
  kubeConfig: k8s.KubeConfig,
  crds: CrdClient,
  log: Logger,
  metrics: Metrics,
  compression: boolean,
): ResilientInformer<Endpoint> {
  return new ResilientInformer<Endpoint>({
    kubeConfig,
    compression,
    resource: 'dnsendpoints',
    path: crds.watchPath('dnsendpoints'),
    list: (options) => crds.list<Endpoint>('dnsendpoints', undefined, options),
    log,
    metrics,
  });
}

/** The owner written into ownership TXT records: the Ingress, or the DNSEndpoint itself if made by hand. */
export function resourceOf(e: Endpoint): string {
  const owner = controllerOf(e);
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
  readonly statusQueue: WorkQueue;
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
  /** Status keys of records sent to Route53 and not yet INSYNC, with their change id. */
  private readonly inFlight = new Map<string, string>();
  /** Per zone id: changes awaiting INSYNC. */
  private readonly unconfirmed = new Map<string, ZoneChanges>();
  private stopped = false;
  /** Generations of stored Ingress-owned DNSEndpoints (with `derived`), by uid. */
  private readonly storedGenerations = new Map<string, number | undefined>();
  /** Cancels the INSYNC pollers' sleeps on stop. */
  private readonly stopping = new AbortController();
  private zoneFailure: { err: unknown; failures: number; retryAt: number } | undefined;
  /** Per DNSEndpoint uid: the spec generation last seen and the zones its hosts were in. */
  private readonly endpointZones = new Map<
    string,
    { generation?: number | string; zones: Set<string> }
  >();

  constructor(private readonly d: DnsDeps) {
    this.log = d.log.child({ controller: 'dns' });
    this.endpoints =
      d.endpoints ??
      dnsEndpointInformer(d.kubeConfig, d.crds, this.log, d.metrics, d.config.kubeApiCompression);
    // Two queues: zone syncs (keyed by zone id) must never wait behind thousands of
    // per-DNSEndpoint status writes (keyed by namespace/name) after a burst.
    this.queue = new WorkQueue({
      name: 'dns-zones',
      concurrency: d.config.workers,
      reconcile: (id) => (this.d.isLeader() ? this.syncZone(id) : Promise.resolve()),
      log: this.log,
      metrics: d.metrics,
    });
    this.statusQueue = new WorkQueue({
      name: 'dns-status',
      concurrency: d.config.workers,
      reconcile: (key) => {
        const [namespace = '', name = ''] = key.split('/');
        return this.d.isLeader() ? this.writeStatus(namespace, name) : Promise.resolve();
      },
      log: this.log,
      metrics: d.metrics,
    });
    this.endpoints.on((ev, e) => this.onEndpoint(ev, e));
    d.derived?.on((ev, e) => this.onDerived(ev, e));
  }

  get synced(): boolean {
    return this.endpoints.synced;
  }

  async start(): Promise<void> {
    await this.endpoints.start();
    this.resync = setInterval(() => this.resyncAll(), this.d.config.resyncInterval);
    this.resync.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.resync);
    this.stopped = true;
    this.stopping.abort();
    await Promise.all([this.queue.shutdown(), this.statusQueue.shutdown()]);
    await this.endpoints.stop();
  }

  /** Every zone and every endpoint status: on becoming leader. */
  enqueueAll(): void {
    this.forAllZones((z) => this.queue.add(z.id));
  }

  /**
   * The resync interval (tests call it directly): each zone the leader has cached is relisted
   * in the background and then synced; the others are synced (a zone with no cache is listed
   * by its sync). Every endpoint status is queued too.
   */
  resyncAll(): void {
    this.forAllZones((z) => {
      if (this.d.isLeader() && this.zoneCache.has(z.id)) void this.refreshZone(z);
      else this.queue.add(z.id);
    });
  }

  private forAllZones(each: (zone: Zone) => void): void {
    void this.zones()
      .then((zones) => {
        for (const z of zones) each(z);
        for (const e of this.endpoints.list())
          this.statusQueue.add(`${e.metadata?.namespace}/${e.metadata?.name}`);
      })
      // zones() logs each failed call once; thousands of events must not repeat it.
      .catch((err: unknown) =>
        this.log.debug({ err: describeError(err) }, 'no zone list; waiting for the next try'),
      );
  }

  /**
   * A DNSEndpoint changed. Status-only updates (our own writes: same generation) are ignored.
   * The zones of its current and previous hosts are synced (a removed host must be deleted),
   * and its status is written at once only for states no zone sync will settle.
   */
  private onEndpoint(ev: InformerEvent, e: Endpoint): void {
    const uid = e.metadata?.uid ?? `${e.metadata?.namespace}/${e.metadata?.name}`;
    if (this.d.derived && ownedByIngress(e)) return this.onStoredDerived(ev, e, uid);
    const prev = this.endpointZones.get(uid);
    if (ev === 'update' && prev && prev.generation === e.metadata?.generation) return;
    void this.zonesCovering(e)
      .then((zones) => this.scheduleFor(ev, e, uid, zones, prev?.zones, e.metadata?.generation))
      // zones() logs each failed call once; thousands of events must not repeat it.
      .catch((err: unknown) =>
        this.log.debug({ err: describeError(err) }, 'no zone list; waiting for the next try'),
      );
  }

  /**
   * An Ingress-owned DNSEndpoint as stored, when its records come from the derived spec: only
   * its status needs writing, when it appears or its spec (generation) changes.
   */
  private onStoredDerived(ev: InformerEvent, e: Endpoint, uid: string): void {
    const seen = this.storedGenerations.get(uid);
    if (ev === 'delete') {
      this.storedGenerations.delete(uid);
      return;
    }
    this.storedGenerations.set(uid, e.metadata?.generation);
    if (ev === 'add' || seen !== e.metadata?.generation)
      this.statusQueue.add(`${e.metadata?.namespace}/${e.metadata?.name}`);
  }

  /** An Ingress changed what it asks for: sync the zones of its old and new hosts now. */
  private onDerived(ev: 'update' | 'delete', e: Endpoint): void {
    const key = `derived:${e.metadata?.namespace}/${e.metadata?.name}`;
    const prev = this.endpointZones.get(key);
    const generation = canonical(e.spec);
    if (ev === 'update' && prev && prev.generation === generation) return;
    void this.zonesCovering(e)
      .then((zones) => this.scheduleFor(ev, e, key, zones, prev?.zones, generation))
      .catch((err: unknown) =>
        this.log.debug({ err: describeError(err) }, 'no zone list; waiting for the next try'),
      );
  }

  /**
   * The DNSEndpoints whose records are published: hand-written ones as stored, and each
   * Ingress's as derived (unless a DNSEndpoint of that name belongs to someone else: the shim
   * reports that conflict, and the stored one is published as it is).
   */
  private published(): Endpoint[] {
    const derived = this.d.derived;
    if (!derived) return this.endpoints.list();
    const out = this.endpoints.list().filter((e) => !ownedByIngress(e));
    for (const e of derived.list()) {
      const stored = this.endpoints.get(e.metadata?.name ?? '', e.metadata?.namespace);
      if (!stored || sameController(stored, e)) out.push(e);
    }
    return out;
  }

  /** The spec to report status for: the derived one for an Ingress-owned DNSEndpoint. */
  private specOf(stored: Endpoint): Endpoint {
    if (!this.d.derived || !ownedByIngress(stored)) return stored;
    const e = this.d.derived.get(stored.metadata?.namespace ?? '', stored.metadata?.name ?? '');
    return e && sameController(e, stored) ? e : stored;
  }

  private scheduleFor(
    ev: InformerEvent,
    e: Endpoint,
    uid: string,
    zones: Zone[],
    previous: Set<string> | undefined,
    generation: number | string | undefined,
  ): void {
    const now = new Set<string>();
    let unsettled = ev === 'add';
    for (const ep of e.spec?.endpoints ?? []) {
      const z = zoneFor(ep.dnsName, zones, this.d.config.domainFilter);
      if (z) now.add(z.id);
      unsettled ||= !z || toDesired(ep, '') === undefined;
    }
    if (ev === 'delete') this.endpointZones.delete(uid);
    else this.endpointZones.set(uid, { generation, zones: now });
    if (unsettled && ev !== 'delete')
      this.statusQueue.add(`${e.metadata?.namespace}/${e.metadata?.name}`);
    for (const id of new Set([...now, ...(previous ?? [])])) this.queue.addAfter(id, debounceMs);
  }

  /**
   * The managed zones, listed at most once per resync interval; or once a minute when a host
   * found no zone (`maxAgeMs`), so a zone created after start is picked up without waiting.
   */
  private async zones(maxAgeMs = this.d.config.resyncInterval): Promise<Zone[]> {
    if (this.zoneList && Date.now() - this.zoneList.at < maxAgeMs) return this.zoneList.zones;
    // After a failure (no credentials, no network), every event would otherwise call again.
    if (this.zoneFailure && Date.now() < this.zoneFailure.retryAt) throw this.zoneFailure.err;
    this.zoneListing ??= this.d.provider
      .zones()
      .then((all) => {
        const zones = filterZones(all, this.d.config);
        this.zoneList = { zones, at: Date.now() };
        this.zoneFailure = undefined;
        return zones;
      })
      .catch((err: unknown) => {
        const failures = (this.zoneFailure?.failures ?? 0) + 1;
        const retryInMs = Math.round(jitteredBackoff(failures, 2000, 300_000));
        this.zoneFailure = { err, failures, retryAt: Date.now() + retryInMs };
        this.log.warn(
          { err: describeError(err), failures, retryInMs },
          'listing hosted zones failed',
        );
        throw err;
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

  /** One zone sync now (tests use it to observe a full pass deterministically). */
  async syncZoneNow(zoneId: string): Promise<void> {
    await this.syncZone(zoneId);
  }

  /**
   * The zone's records, from the cache. A sync lists the zone only when there is no cache
   * (first sync, or after an error dropped it): refreshing a stale cache is the resync
   * interval's job (`refreshZone()`), so no event-triggered sync waits for a relist.
   */
  private async zoneRecords(zone: Zone): Promise<Map<string, RecordSet>> {
    const cached = this.zoneCache.get(zone.id);
    if (cached) return cached.records;
    const listedAt = Date.now();
    const records = await this.listRecords(zone.id);
    this.zoneCache.set(zone.id, { records, listedAt });
    return records;
  }

  private async listRecords(zoneId: string): Promise<Map<string, RecordSet>> {
    const records = new Map<string, RecordSet>();
    for (const r of await this.d.provider.records(zoneId))
      records.set(recordKey(r.name, r.type), r);
    return records;
  }

  /**
   * Relists a zone in the background, outside its queue key, so its syncs go on planning
   * against the cache meanwhile; then queues a sync against the fresh copy. Changes applied
   * while the listing runs are journalled and replayed onto it before it replaces the cache.
   * If the cache was dropped or replaced meanwhile (an error path relisted it), the listing is
   * discarded. A zone listed less than half an interval ago is not listed again.
   */
  private async refreshZone(zone: Zone): Promise<void> {
    const cache = this.zoneCache.get(zone.id);
    if (cache?.journal) return; // a relist is already running; it queues the sync
    if (cache && Date.now() - cache.listedAt >= this.d.config.resyncInterval / 2) {
      const journal: Change[][] = (cache.journal = []);
      const listedAt = Date.now();
      try {
        const records = await this.listRecords(zone.id);
        if (this.zoneCache.get(zone.id) === cache) {
          for (const changes of journal) applyChanges(records, changes);
          this.zoneCache.set(zone.id, { records, listedAt });
        }
      } catch (err) {
        this.log.warn(
          { zone: zone.name, err: describeError(err) },
          'relisting zone records failed; the cached copy is kept',
        );
      } finally {
        cache.journal = undefined;
      }
    }
    if (!this.stopped) this.queue.add(zone.id);
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
    for (const e of this.published()) {
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
      const sent = groups.length > 0 ? await this.apply(zone, groups, p.statuses, seen, log) : [];
      this.saveStates(zone.id, p.statuses);
      // Route53 takes tens of seconds to reach INSYNC: wait for it outside the zone's sync, so
      // the zone keeps serving new changes meanwhile. Records stay Pending until then.
      this.trackInSync(zone, sent, log);
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
  ): Promise<string[]> {
    if (this.d.config.dryRun) {
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
      for (const r of results) {
        if (r.deferred) {
          setGroupStatus(statuses, r.group, {
            state: 'Pending',
            message:
              'Route53 refused a batch holding this change; isolating the bad change continues on the next sync',
          });
          this.queue.addAfter(zone.id, 1000);
          continue;
        }
        if (r.error) {
          setGroupStatus(statuses, r.group, { state: 'Error', message: r.error });
          this.rejected.set(fingerprint(zone, r.group), { message: r.error, at: Date.now() });
          // Maybe the cache missed something Route53 knows (a record made behind our back):
          // relist and plan again soon, so the status shows who really holds the name.
          this.zoneCache.delete(zone.id);
          this.queue.addAfter(zone.id, 1000);
          continue;
        }
        this.observeLatency(r.group, seen);
        this.applyToCache(zone.id, r.group.changes);
        for (const c of r.group.changes)
          this.d.metrics.dnsChanges.inc({ zone: zone.name, action: c.action });
      }
      for (const r of results) {
        if (!r.changeId) continue;
        changeIds.push(r.changeId);
        for (const k of groupKeys(r.group)) this.inFlight.set(k, r.changeId);
      }
    }
    const ids = [...new Set(changeIds)];
    log.info({ groups: groups.length, calls: ids.length }, 'changes sent');
    return ids;
  }

  /** Hands sent change ids to the zone's poller, starting it if it is not running. */
  private trackInSync(zone: Zone, changeIds: string[], log: Logger): void {
    if (changeIds.length === 0) return;
    let t = this.unconfirmed.get(zone.id);
    if (!t) this.unconfirmed.set(zone.id, (t = { changes: [], polling: false }));
    const sentAt = Date.now();
    for (const id of changeIds) t.changes.push({ id, sentAt });
    if (t.polling) return;
    t.polling = true;
    void this.pollInSync(zone, t, log);
  }

  /**
   * One GetChange poller per zone (every 250 ms, doubling up to 5 s). Route53 applies a zone's
   * changes in order, so only the newest outstanding change is polled: once it is INSYNC, so
   * is every earlier one. Ends when nothing is outstanding, or on stop.
   */
  private async pollInSync(zone: Zone, t: ZoneChanges, log: Logger): Promise<void> {
    let delay = inSyncFirstPollMs;
    try {
      while (t.changes.length > 0) {
        await sleep(delay, undefined, { signal: this.stopping.signal });
        delay = Math.min(delay * 2, inSyncMaxPollMs);
        const upTo = t.changes.length;
        const newest = t.changes[upTo - 1]?.id ?? '';
        let inSync: boolean;
        try {
          inSync = await this.d.provider.isInSync(newest);
        } catch (err) {
          if (this.stopped) return;
          this.notConfirmed(zone, t.changes.splice(0, upTo), err, log);
          continue;
        }
        if (inSync) {
          this.confirmed(t.changes.splice(0, upTo));
          continue;
        }
        const now = Date.now();
        const firstInTime = t.changes.findIndex((c) => now - c.sentAt <= inSyncTimeoutMs);
        const late = t.changes.splice(0, firstInTime === -1 ? t.changes.length : firstInTime);
        if (late.length > 0)
          this.notConfirmed(
            zone,
            late,
            new Error(`change ${newest} not INSYNC after ${inSyncTimeoutMs} ms`),
            log,
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

  /** Records whose change is now INSYNC become Published, and their status is queued. */
  private confirmed(changes: ZoneChanges['changes']): void {
    const ids = new Set(changes.map((c) => c.id));
    const touched = new Set<string>();
    for (const [k, id] of this.inFlight) {
      if (!ids.has(id)) continue;
      this.inFlight.delete(k);
      const st = this.states.get(k);
      if (st?.state === 'Pending') {
        this.states.set(k, { ...st, state: 'Published', message: undefined });
        touched.add(k.split('|')[0] ?? '');
      }
    }
    this.enqueueStatusOf(touched);
  }

  /** Forgets changes not confirmed, and plans the zone again from what Route53 really holds. */
  private notConfirmed(
    zone: Zone,
    changes: ZoneChanges['changes'],
    err: unknown,
    log: Logger,
  ): void {
    const ids = new Set(changes.map((c) => c.id));
    for (const [k, id] of this.inFlight) if (ids.has(id)) this.inFlight.delete(k);
    this.zoneCache.delete(zone.id);
    this.queue.addAfter(zone.id, 1000);
    log.warn(
      { changeId: changes.at(-1)?.id, changes: ids.size, err: describeError(err) },
      'change not confirmed INSYNC; the zone is relisted and synced again',
    );
  }

  private enqueueStatusOf(resources: Set<string>): void {
    if (resources.size === 0) return;
    for (const e of this.endpoints.list()) {
      if (resources.has(resourceOf(e)))
        this.statusQueue.add(`${e.metadata?.namespace}/${e.metadata?.name}`);
    }
  }

  /** Sends a batch; if Route53 refuses it, splits it to isolate the bad group(s) so the rest lands. */
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
        ...(await this.send(zone, batch.slice(0, mid), log, budget)),
        ...(await this.send(zone, batch.slice(mid), log, budget)),
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

  /** Applies accepted changes to the cache, and to the journal of a relist in progress. */
  private applyToCache(zoneId: string, changes: Change[]): void {
    const cache = this.zoneCache.get(zoneId);
    if (!cache) return;
    applyChanges(cache.records, changes);
    cache.journal?.push(changes);
  }

  /** Stores a zone's record states; status is rewritten only for resources whose states changed. */
  private saveStates(zoneId: string, statuses: Map<string, RecordStatus>): void {
    const before = new Map<string, string>();
    for (const [k, st] of this.states) {
      if (st.zoneId !== zoneId) continue;
      before.set(k, canonical({ ...st, zoneId: undefined }));
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
      if (before.get(k) !== canonical(st)) touched.add(k.split('|')[0] ?? '');
      before.delete(k);
    }
    for (const k of before.keys()) touched.add(k.split('|')[0] ?? '');
    if (touched.size === 0) return;
    for (const e of this.endpoints.list()) {
      if (touched.has(resourceOf(e)))
        this.statusQueue.add(`${e.metadata?.namespace}/${e.metadata?.name}`);
    }
  }

  private async writeStatus(namespace: string, name: string): Promise<void> {
    const stored = this.endpoints.get(name, namespace);
    if (!stored) return;
    const e = this.specOf(stored);
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
    const status = endpointStatus(stored, records);
    if (sameStatus(status, stored.status ?? {})) return;
    try {
      await this.d.crds.patchStatus('dnsendpoints', namespace, name, status);
    } catch (err) {
      if (isNotFound(err)) return; // deleted meanwhile
      throw err;
    }
    await this.reportEvents(stored, records, stored.status?.endpoints ?? []);
  }

  private async reportEvents(
    e: Endpoint,
    now: NonNullable<DNSEndpointStatus['endpoints']>,
    before: NonNullable<DNSEndpointStatus['endpoints']>,
  ): Promise<void> {
    const owner = ownedByIngress(e) ? controllerOf(e) : undefined;
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

/** Applies accepted changes to a copy of a zone's records, in order. */
export function applyChanges(records: Map<string, RecordSet>, changes: Change[]): void {
  for (const c of changes) {
    const k = recordKey(c.record.name, c.record.type);
    if (c.action === 'DELETE') records.delete(k);
    else records.set(k, c.record);
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

interface SendResult {
  group: ChangeGroup;
  changeId?: string;
  error?: string;
  /** Not sent: the split budget of this sync ran out. */
  deferred?: boolean;
}

/** Calls one sync may spend isolating refused changes before deferring the rest. */
const splitBudget = 32;

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

function fingerprint(zone: Zone, g: ChangeGroup): string {
  return `${zone.id}|${g.resource}|${canonical(g.changes)}`;
}

function groupKeys(g: ChangeGroup): string[] {
  return g.changes
    .filter((c) => c.record.type !== 'TXT')
    .map((c) => statusKey(g.resource, c.record.name, c.record.type));
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
  for (const r of records.values()) {
    const o = r.type === 'TXT' ? ownerOfTxt(r) : undefined;
    if (o?.heritage === 'certroute' && o.owner === ownerId) n++;
  }
  return n;
}
