import { setTimeout as sleep } from 'node:timers/promises';
import { describeError } from '../errors.js';
import { jitteredBackoff } from '../kube/backoff.js';
import { canonical } from '../kube/canonical.js';
import type { ControllerDeps } from '../kube/controller-deps.js';
import type { InformerEvent } from '../kube/informer.js';
import type { Informer } from '../kube/scoped-informer.js';
import { ownedByIngress, sameController } from '../kube/ownership.js';
import { WorkQueue } from '../kube/queue.js';
import type { Logger } from '../observability/logger.js';
import { ChangeSender, setGroupStatus } from './apply.js';
import { EndpointStatusWriter } from './endpoint-status.js';
import {
  problemsAnnotation,
  dnsEndpointInformer,
  endpointKey,
  resourceOf,
  toDesired,
  type DerivedEndpoints,
  type Endpoint,
} from './endpoints.js';
import { DeletionGuard } from './deletion-guard.js';
import { InSyncWatcher } from './insync.js';
import { plan } from './plan.js';
import { applyPolicy } from './policy.js';
import type { DnsProvider } from './providers/provider.js';
import { classifyProviderError } from './providers/classify.js';
import { isRfc2136AuthError, refusedStatuses } from './providers/rfc2136-status.js';
import { RecordStates } from './records.js';
import { desiredFor } from './desired.js';
import { ZonePacer } from './pacing.js';
import { BackgroundSweep } from './sweep.js';
import { countOwned } from './registry.js';
import type { Tenancy } from '../tenancy/controller.js';
import type { Zone } from './types.js';
import { ZoneCache } from './zone-cache.js';

/** Events within this window are synced together: one plan, few Route53 calls. */
const debounceMs = 50;
/** Statuses a sync or an INSYNC settled are written this long after, in one write each. */
const statusSettleMs = 1000;
/** A failed background relist is tried again after 1 s, doubling up to 1 min. */
const relistRetryBaseMs = 1000;
const relistRetryMaxMs = 60_000;

export interface DnsDeps extends ControllerDeps {
  provider: DnsProvider;
  /** A DNSEndpoint informer to share (the Ingress shim uses the same one). */
  endpoints?: Informer<Endpoint>;
  /**
   * DNSEndpoint specs derived in memory from their Ingresses (the shim's). When given, the
   * records of Ingress-owned DNSEndpoints come from here, the moment the Ingress changes,
   * instead of after the shim's write has gone through the API server and back; the stored
   * objects then carry status only. Hand-written DNSEndpoints are read from the informer.
   */
  derived?: DerivedEndpoints;
  /** DomainPolicies: a denied host gets no record (its state is Denied). Absent: all allowed. */
  tenancy?: Tenancy;
}

/**
 * DNSEndpoint → Route53, the thin loop. Work is keyed by zone: every change touching a zone
 * schedules one sync of that zone, a straight line: the cached records (zone-cache.ts), the
 * desired records of every DNSEndpoint in it, the pure plan and policy, batches sent
 * (apply.ts), INSYNC awaited outside the sync (insync.ts). Statuses are written per
 * DNSEndpoint afterwards (endpoint-status.ts), on a queue of their own.
 */
export class DnsController {
  readonly endpoints: Informer<Endpoint>;
  readonly queue: WorkQueue;
  readonly statusQueue: WorkQueue;
  private readonly log: Logger;
  private readonly zones: ZoneCache;
  private readonly states = new RecordStates();
  private readonly sender: ChangeSender;
  private readonly inSync: InSyncWatcher;
  private readonly status: EndpointStatusWriter;
  private resync: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The zone listing of the last enqueueAll(), for settled(). */
  private queuedAll: Promise<void> = Promise.resolve();
  /** Per zone id: the timer of a failed background relist's next try. */
  private readonly relistRetries = new Map<string, NodeJS.Timeout>();
  /** Generations of stored Ingress-owned DNSEndpoints (with `derived`), by uid. */
  private readonly storedGenerations = new Map<string, string>();
  /** Per stored (not derived) DNSEndpoint uid: its source's problems annotation last seen. */
  private readonly storedProblems = new Map<string, string>();
  /** Per DNSEndpoint uid: the spec generation last seen and the zones its hosts were in. */
  private readonly endpointZones = new Map<
    string,
    { generation?: number | string; zones: Set<string> }
  >();
  /**
   * Per zone id: since when each of our records nothing asks for has been unwanted, by this
   * process's clock (a restart starts every count again: it errs on keeping).
   */
  private readonly unwanted = new Map<string, Map<string, number>>();
  /** The per-zone deletion cap and its approvals. */
  private readonly guard: DeletionGuard;
  /** The least time between two change calls to a zone (--zone-change-interval). */
  private readonly pacer: ZonePacer;
  /** Zones nothing asks a record of, listed in the background (cleanup only). */
  private readonly sweep: BackgroundSweep;

  constructor(private readonly d: DnsDeps) {
    this.log = d.log.child({ controller: 'dns' });
    this.endpoints =
      d.endpoints ??
      dnsEndpointInformer(
        d.kubeConfig,
        d.crds,
        this.log,
        d.metrics,
        d.config.kubeApiCompression,
        d.config.watchNamespaces,
      );
    this.zones = new ZoneCache(d.provider, d.config, this.log);
    this.pacer = new ZonePacer(d.config.zoneChangeInterval);
    this.sweep = new BackgroundSweep({
      list: (z) => this.zones.records(z, { background: true }),
      listed: (z) => this.queue.add(z.id),
      log: this.log,
    });
    this.guard = new DeletionGuard({
      ...d,
      log: this.log,
      recheck: (zoneId, ms) => this.queue.addAfter(zoneId, ms),
    });
    this.sender = new ChangeSender(d.provider, d.config, d.metrics, {
      applied: (zone, changes) => this.zones.applied(zone.id, changes),
      again: (zone, relist, delayMs) => {
        if (relist) this.zones.drop(zone.id);
        this.queue.addAfter(zone.id, delayMs ?? 1000);
      },
      sent: (keys, changeId) => this.states.sent(keys, changeId),
    });
    this.inSync = new InSyncWatcher(d.provider, {
      confirmed: (_zone, ids) => this.enqueueStatusOf(this.states.confirmed(ids)),
      notConfirmed: (zone, ids, err) => {
        this.states.lost(ids);
        this.zones.drop(zone.id);
        this.queue.addAfter(zone.id, 1000);
        this.log.warn(
          {
            zone: zone.name,
            changeId: [...ids].at(-1),
            changes: ids.size,
            err: describeError(err),
          },
          'change not confirmed INSYNC; the zone is relisted and synced again',
        );
      },
    });
    this.status = new EndpointStatusWriter({
      ...d,
      log: this.log,
      states: this.states,
      zoneOf: (host, zones) => this.zones.zoneOf(host, zones),
    });
    // Two queues: zone syncs (keyed by zone id) must never wait behind thousands of
    // per-DNSEndpoint status writes (keyed by namespace/name) after a burst.
    this.queue = new WorkQueue({
      name: 'dns-zones',
      concurrency: d.config.workers,
      reconcile: (id) => (this.d.isLeader() ? this.pacedSync(id) : Promise.resolve()),
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
    // A policy change may allow or deny any host: every zone is planned again.
    d.tenancy?.onChange(() => this.enqueueAll());
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
    for (const t of this.relistRetries.values()) clearTimeout(t);
    this.relistRetries.clear();
    this.stopped = true;
    this.inSync.stop();
    await Promise.all([this.queue.shutdown(), this.statusQueue.shutdown(), this.sweep.stop()]);
    await this.endpoints.stop();
  }

  /**
   * Every zone and every endpoint status: on becoming leader. The zones some host is in are
   * synced at once; the others, with nothing asked of them, are listed in the background.
   */
  enqueueAll(): void {
    const swept: Zone[] = [];
    let wanted: Set<string> | undefined;
    this.queuedAll = this.forAllZones((z, zones) => {
      wanted ??= this.zonesInUse(zones);
      if (wanted.has(z.id) || this.zones.has(z.id)) this.queue.add(z.id);
      else swept.push(z);
    }).then(() => this.sweep.add(swept));
  }

  /** The zones any published host (with an address or still waiting for one) is in. */
  private zonesInUse(zones: Zone[]): Set<string> {
    const out = new Set<string>();
    for (const e of this.published())
      for (const ep of e.spec?.endpoints ?? []) {
        const z = this.zones.zoneOf(ep.dnsName, zones);
        if (z) out.add(z.id);
      }
    return out;
  }

  /**
   * Resolves once every zone enqueueAll() queued has had its sync (sent, or failed and
   * retried later): what the Ingress shim's writes wait for on a start (writesAfter).
   */
  async settled(): Promise<void> {
    await this.queuedAll;
    while (this.queue.isHeld && !this.stopped) await sleep(50);
    await this.queue.idle();
  }

  /**
   * The resync interval (tests call it directly): each zone the leader has cached is relisted
   * in the background and then synced; the others are synced (a zone with no cache is listed
   * by its sync). Every endpoint status is queued too.
   */
  resyncAll(): void {
    void this.forAllZones((z) => {
      if (this.d.isLeader() && this.zones.has(z.id)) void this.refreshZone(z);
      else this.queue.add(z.id);
    });
  }

  private async refreshZone(zone: Zone, attempt = 1): Promise<void> {
    const result = await this.zones.refresh(zone);
    // running: a relist is already running; it queues the sync.
    if (result === 'running' || this.stopped) return;
    this.queue.add(zone.id);
    // A failed relist kept the cached copy; it is tried again after a backoff, not only at
    // the next interval (one retry chain per zone).
    if (result === 'failed' && !this.relistRetries.has(zone.id)) {
      const ms = jitteredBackoff(attempt, relistRetryBaseMs, relistRetryMaxMs);
      const timer = setTimeout(() => {
        this.relistRetries.delete(zone.id);
        if (this.d.isLeader() && !this.stopped) void this.refreshZone(zone, attempt + 1);
      }, ms);
      timer.unref();
      this.relistRetries.set(zone.id, timer);
    }
  }

  private forAllZones(each: (zone: Zone, zones: Zone[]) => void): Promise<void> {
    return this.zones
      .zones()
      .then((zones) => {
        for (const z of zones) each(z, zones);
        for (const e of this.endpoints.list()) this.statusQueue.add(endpointKey(e));
      })
      .catch((err: unknown) => this.noZoneList(err));
  }

  /** zones() logs each failed call once; thousands of events must not repeat it. */
  private noZoneList(err: unknown): void {
    this.log.debug({ err: describeError(err) }, 'no zone list; waiting for the next try');
  }

  /**
   * A DNSEndpoint changed. Status-only updates (our own writes: same generation) are ignored.
   * The zones of its current and previous hosts are synced (a removed host must be deleted),
   * and its status is written at once only for states no zone sync will settle.
   */
  private onEndpoint(ev: InformerEvent, e: Endpoint): void {
    const uid = e.metadata?.uid ?? endpointKey(e);
    if (this.d.derived && ownedByIngress(e)) return this.onStoredDerived(ev, e, uid);
    const prev = this.endpointZones.get(uid);
    // The source's problems are an annotation: a change keeps the generation, but not SourceValid.
    const problems = e.metadata?.annotations?.[problemsAnnotation] ?? '';
    const problemsChanged = (this.storedProblems.get(uid) ?? '') !== problems;
    if (ev === 'delete') this.storedProblems.delete(uid);
    else this.storedProblems.set(uid, problems);
    if (ev === 'update' && prev && prev.generation === e.metadata?.generation) {
      if (problemsChanged) this.statusQueue.addAfter(endpointKey(e), statusSettleMs);
      return;
    }
    void this.zonesCovering(e)
      .then((zones) => this.scheduleFor(ev, e, uid, zones, prev?.zones, e.metadata?.generation))
      .catch((err: unknown) => this.noZoneList(err));
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
    // The generation, and the source's problems (an annotation: no new generation).
    const now = `${e.metadata?.generation ?? ''}|${e.metadata?.annotations?.[problemsAnnotation] ?? ''}`;
    this.storedGenerations.set(uid, now);
    if (ev === 'add' || seen !== now) this.statusQueue.addAfter(endpointKey(e), statusSettleMs);
  }

  /** An Ingress changed what it asks for: sync the zones of its old and new hosts now. */
  private onDerived(ev: 'update' | 'delete', e: Endpoint): void {
    const key = `derived:${endpointKey(e)}`;
    const prev = this.endpointZones.get(key);
    const generation = canonical(e.spec);
    if (ev === 'update' && prev && prev.generation === generation) return;
    void this.zonesCovering(e)
      .then((zones) => this.scheduleFor(ev, e, key, zones, prev?.zones, generation))
      .catch((err: unknown) => this.noZoneList(err));
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
      const z = this.zones.zoneOf(ep.dnsName, zones);
      if (z) now.add(z.id);
      unsettled ||= !z || toDesired(ep, '') === undefined;
    }
    if (ev === 'delete') this.endpointZones.delete(uid);
    else this.endpointZones.set(uid, { generation, zones: now });
    if (unsettled && ev !== 'delete') this.statusQueue.add(endpointKey(e));
    const at = performance.now();
    for (const id of new Set([...now, ...(previous ?? [])]))
      this.queue.addAfter(id, Math.max(debounceMs, this.pacer.waitMs(id, at)));
  }

  private zonesCovering(e: Endpoint): Promise<Zone[]> {
    return this.zones.zonesCovering((e.spec?.endpoints ?? []).map((ep) => ep.dnsName));
  }

  /** One zone sync now (tests use it to observe a full pass deterministically). */
  async syncZoneNow(zoneId: string): Promise<void> {
    await this.syncZone(zoneId);
  }

  private inScope = (resource: string): boolean => {
    const ns = resource.split('/')[1] ?? '';
    const watched = this.d.config.watchNamespaces;
    return watched.length === 0 || watched.includes(ns);
  };

  /**
   * A zone's sync from its queue: not before --zone-change-interval has passed since its last
   * change call. Until then everything asked of the zone waits, and goes out in one batch.
   */
  private async pacedSync(zoneId: string): Promise<void> {
    const wait = this.pacer.waitMs(zoneId, performance.now());
    if (wait > 0) return this.queue.addAfter(zoneId, wait);
    await this.syncZone(zoneId);
  }

  /** One straight line: current records, desired records, plan, policy, send, await INSYNC. */
  private async syncZone(zoneId: string): Promise<void> {
    const zones = await this.zones.zones();
    const zone = zones.find((z) => z.id === zoneId);
    if (!zone) return;
    const log = this.log.child({ zone: zone.name });
    const { config } = this.d;
    const wanted = desiredFor(this.published(), {
      inZone: (host) => this.zones.zoneOf(host, zones)?.id === zone.id,
      ...(this.d.tenancy ? { tenancy: this.d.tenancy } : {}),
    });
    try {
      const current = await this.zones.records(zone);
      const { desired, waiting, seen, denied } = wanted;
      const now = Date.now();
      const p = plan({
        zone,
        current,
        desired,
        ownerId: config.ownerId,
        adoptOwnerIds: config.adoptOwnerIds,
        inScope: this.inScope,
        waiting,
        gracePeriodMs: config.claimGracePeriod,
        now,
        unwantedSince: this.unwanted.get(zone.id),
      });
      for (const [k, st] of denied) p.statuses.set(k, st);
      this.unwanted.set(zone.id, p.unwanted);
      this.d.metrics.dnsRecordsInGrace.set({ zone: zone.name }, p.inGrace);
      // A grace period ends: sync then, not only at the next resync.
      if (p.graceEndsAt !== undefined) this.queue.addAfter(zone.id, p.graceEndsAt - now + 100);
      const byPolicy = applyPolicy(config.policy, p.groups);
      for (const g of p.groups.filter((x) => !byPolicy.includes(x)))
        setGroupStatus(p.statuses, g, {
          state: 'Published',
          message: `existing record left as it is (policy ${config.policy})`,
        });
      const allowed = await this.guard.apply(zone, byPolicy, log);
      const groups = this.sender.notRejected(zone, allowed, p.statuses);
      if (groups.length > 0) this.pacer.called(zone.id, performance.now());
      const sent =
        groups.length > 0 ? await this.sender.apply(zone, groups, p.statuses, seen, log) : [];
      this.enqueueStatusOf(this.states.save(zone.id, p.statuses));
      // Route53 takes tens of seconds to reach INSYNC: wait for it outside the zone's sync, so
      // the zone keeps serving new changes meanwhile. Records stay Pending until then.
      this.inSync.track(zone, sent, log);
      this.d.metrics.dnsRecords.set({ zone: zone.name }, countOwned(current, config.ownerId));
      this.d.metrics.dnsLastSync.set({ zone: zone.name }, Date.now() / 1000);
    } catch (err) {
      this.d.metrics.dnsSyncErrors.inc({ zone: zone.name });
      // The cache only ever takes changes Route53 accepted: a failed call (a listing, a
      // change, the Kubernetes API) leaves it valid. Only Route53 saying it is wrong drops it.
      if (classifyProviderError(err) === 'relist') this.zones.drop(zone.id);
      // The server refused the key, its ACLs or the clock (RFC 2136): every record asked of
      // the zone says so (a condition and an Event); nothing is planned, so nothing is lost.
      if (isRfc2136AuthError(err))
        this.enqueueStatusOf(
          this.states.save(zone.id, refusedStatuses(wanted.desired, err.message)),
        );
      throw new Error(`[zone ${zone.name}] sync: ${describeError(err)}`, { cause: err });
    }
  }

  private enqueueStatusOf(resources: Set<string>): void {
    if (resources.size === 0) return;
    // A short wait: a record Pending now and INSYNC a moment later is written once, Published.
    for (const e of this.endpoints.list())
      if (resources.has(resourceOf(e))) this.statusQueue.addAfter(endpointKey(e), statusSettleMs);
  }

  private async writeStatus(namespace: string, name: string): Promise<void> {
    const stored = this.endpoints.get(name, namespace);
    if (!stored) return;
    const e = this.specOf(stored);
    await this.status.write(stored, e, await this.zonesCovering(e));
  }
}
