import type { Config } from '../config/index.js';
import { describeError } from '../errors.js';
import { jitteredBackoff } from '../kube/backoff.js';
import type { Logger } from '../observability/logger.js';
import type { DnsProvider } from './providers/provider.js';
import { recordKey, type Change, type RecordSet, type Zone } from './types.js';
import { filterZones, zoneFor } from './zones.js';

/** How stale the zone list may be when a host finds no zone in it. */
const noZoneRefreshMs = 60_000;

interface Cached {
  records: Map<string, RecordSet>;
  /** When the listing behind `records` started. */
  listedAt: number;
  /**
   * While a background relist runs: every batch of changes applied to `records` since it
   * started, oldest first, replayed onto the new listing before it replaces this cache.
   */
  journal?: Change[][];
}

/**
 * The managed zones and each zone's records as last listed, with the changes certroute sent
 * since applied on top: syncs plan against memory, and Route53 is listed once per interval.
 */
export class ZoneCache {
  private zoneList: { zones: Zone[]; at: number } | undefined;
  private zoneListing: Promise<Zone[]> | undefined;
  private zoneFailure: { err: unknown; failures: number; retryAt: number } | undefined;
  private readonly cache = new Map<string, Cached>();

  constructor(
    private readonly provider: DnsProvider,
    private readonly config: Config,
    private readonly log: Logger,
  ) {}

  /**
   * The managed zones, listed at most once per resync interval; or once a minute when a host
   * found no zone (`maxAgeMs`), so a zone created after start is picked up without waiting.
   */
  async zones(maxAgeMs = this.config.resyncInterval): Promise<Zone[]> {
    if (this.zoneList && Date.now() - this.zoneList.at < maxAgeMs) return this.zoneList.zones;
    // After a failure (no credentials, no network), every event would otherwise call again.
    if (this.zoneFailure && Date.now() < this.zoneFailure.retryAt) throw this.zoneFailure.err;
    this.zoneListing ??= this.provider
      .zones()
      .then((all) => {
        const zones = filterZones(all, this.config);
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

  /** The zone of a host, under the domain filter. */
  zoneOf(host: string, zones: readonly Zone[]): Zone | undefined {
    return zoneFor(host, zones, this.config.domainFilter);
  }

  /** Zones for some hosts, refreshing the list (rate-limited) if some host has none. */
  async zonesCovering(hosts: readonly string[]): Promise<Zone[]> {
    const zones = await this.zones();
    const orphan = hosts.some((h) => !this.zoneOf(h, zones));
    return orphan ? this.zones(noZoneRefreshMs) : zones;
  }

  has(zoneId: string): boolean {
    return this.cache.has(zoneId);
  }

  /** Forgets a zone's records: its next sync lists it again. */
  drop(zoneId: string): void {
    this.cache.delete(zoneId);
  }

  /**
   * The zone's records, from the cache. A sync lists the zone only when there is no cache
   * (first sync, or after an error dropped it): refreshing a stale cache is the resync
   * interval's job (`refresh()`), so no event-triggered sync waits for a relist.
   */
  async records(zone: Zone, opts: { background?: boolean } = {}): Promise<Map<string, RecordSet>> {
    const cached = this.cache.get(zone.id);
    if (cached) return cached.records;
    const listedAt = Date.now();
    const records = await this.list(zone.id, opts);
    // A sync may have listed it meanwhile (a background listing is not shared): keep that one,
    // it may hold changes applied since.
    const now = this.cache.get(zone.id);
    if (now) return now.records;
    this.cache.set(zone.id, { records, listedAt });
    return records;
  }

  /**
   * Relists a zone in the background, outside its queue key, so its syncs go on planning
   * against the cache meanwhile. Changes applied while the listing runs are journalled and
   * replayed onto it before it replaces the cache. If the cache was dropped or replaced
   * meanwhile (an error path relisted it), the listing is discarded. A zone listed less than
   * half an interval ago is not listed again. Resolves `running` while a relist is already
   * running (it is the one to sync afterwards), `failed` when the listing failed (the cached
   * copy is kept, stale but valid: it only holds what Route53 accepted), else `done`.
   */
  async refresh(zone: Zone): Promise<'done' | 'running' | 'failed'> {
    const cache = this.cache.get(zone.id);
    if (cache?.journal) return 'running';
    if (cache && Date.now() - cache.listedAt >= this.config.resyncInterval / 2) {
      const journal: Change[][] = (cache.journal = []);
      const listedAt = Date.now();
      try {
        const records = await this.list(zone.id);
        if (this.cache.get(zone.id) === cache) {
          for (const changes of journal) applyChanges(records, changes);
          this.cache.set(zone.id, { records, listedAt });
        }
      } catch (err) {
        this.log.warn(
          { zone: zone.name, err: describeError(err) },
          'relisting zone records failed; the cached copy is kept',
        );
        return 'failed';
      } finally {
        cache.journal = undefined;
      }
    }
    return 'done';
  }

  /** Applies accepted changes to the cache, and to the journal of a relist in progress. */
  applied(zoneId: string, changes: Change[]): void {
    const cache = this.cache.get(zoneId);
    if (!cache) return;
    applyChanges(cache.records, changes);
    cache.journal?.push(changes);
  }

  private async list(
    zoneId: string,
    opts: { background?: boolean } = {},
  ): Promise<Map<string, RecordSet>> {
    const records = new Map<string, RecordSet>();
    for (const r of await this.provider.records(zoneId, opts))
      records.set(recordKey(r.name, r.type), r);
    return records;
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
