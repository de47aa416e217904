import { Resolver } from 'node:dns/promises';
import type { Solver } from '../../api/v1alpha1.js';
import type { DnsProvider, ProviderFactory } from '../../dns/providers/provider.js';
import type { Zone } from '../../dns/types.js';
import { filterZones, zoneFor, type ZoneFilter } from '../../dns/zones.js';
import { Failure } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import { checkAuthorities, type AuthorityDns } from './dns01-authority.js';
import { WireAuthorityDns } from './dns01-wire.js';

type Route53Solver = NonNullable<Solver['dns01']>['route53'];

/** A problem the user must fix (bad region, no zone): a condition, not a hot retry. */
export class Dns01ConfigError extends Failure {
  override name = 'Dns01ConfigError';
}

export interface Dns01Options {
  /** The DNS provider for a solver's region and role (Route53: route53Factory()). */
  providers: ProviderFactory;
  /** The operator's own zone filters; a pinned hostedZoneID bypasses them. */
  filter: ZoneFilter;
  /** Resolvers for the propagation check (the configured recursive nameservers). */
  nameservers: readonly string[];
  /** AWS_REGION of the process, used when a solver names none. */
  defaultRegion: string | undefined;
  zoneCacheMs?: number;
  /** The port authoritative nameservers are asked on (--dns01-nameserver-port; 53). */
  nameserverPort?: number;
  /** The authoritative check's DNS I/O; by default over the network (WireAuthorityDns). */
  authority?: AuthorityDns;
  log?: Logger;
}

export interface Placement {
  zoneId: string;
  /** Where the TXT record is written: _acme-challenge.<host>, or its CNAME target. */
  name: string;
}

/**
 * DNS-01 through Route53. One TXT record set per name holds every value in flight (a
 * wildcard and its base share `_acme-challenge.<host>`), and each challenge adds and removes
 * only its own value, serialised per name. Propagation is checked at each authoritative
 * nameserver of the zone (dns01-authority.ts), polled by the caller's requeue (never a fixed
 * sleep).
 */
export class Dns01Solver {
  private readonly providers = new Map<string, DnsProvider>();
  private readonly zones = new Map<string, { at: number; zones: Promise<Zone[]> }>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly authority: AuthorityDns;
  /** Zones whose fallback to the recursive resolvers has been logged. */
  private readonly fellBack = new Set<string>();

  constructor(private readonly opts: Dns01Options) {
    this.authority =
      opts.authority ?? new WireAuthorityDns(opts.nameservers, opts.nameserverPort ?? 53);
  }

  /** The provider for a solver's region and role (cached; credentials refresh). */
  provider(cfg: Route53Solver): DnsProvider {
    const region = cfg.region ?? this.opts.defaultRegion;
    if (!region)
      throw new Dns01ConfigError(
        'Route53RegionMissing',
        'the dns01.route53 solver names no region and AWS_REGION is not set; set spec.acme.solvers[].dns01.route53.region',
      );
    const key = `${region}|${cfg.role ?? ''}`;
    let p = this.providers.get(key);
    if (!p) {
      p = this.opts.providers(region, cfg.role);
      this.providers.set(key, p);
    }
    return p;
  }

  /** The zone and name for a host's challenge record, following a CNAME delegation. */
  async place(cfg: Route53Solver, host: string): Promise<Placement> {
    const base = `_acme-challenge.${host}`;
    const name = (await this.delegation(base)) ?? base;
    if (cfg.hostedZoneID) return { zoneId: cfg.hostedZoneID, name };
    let zone = zoneFor(name, filterZones(await this.listZones(cfg), this.opts.filter));
    if (!zone) {
      // A zone created since the list was cached: one fresh listing before giving up.
      this.zones.delete(zonesKey(cfg));
      zone = zoneFor(name, filterZones(await this.listZones(cfg), this.opts.filter));
    }
    if (!zone)
      throw new Dns01ConfigError(
        'NoZoneForChallenge',
        `${name} is in no Route53 hosted zone certroute may write (check the zone filters, or pin dns01.route53.hostedZoneID)`,
      );
    return { zoneId: zone.id, name };
  }

  /** Adds `value` to the TXT set; returns the change id to wait for, or undefined if present. */
  async present(cfg: Route53Solver, at: Placement, value: string): Promise<string | undefined> {
    return this.locked(at.name, async () => {
      const p = this.provider(cfg);
      const cur = await p.recordSet(at.zoneId, at.name, 'TXT');
      const quoted = `"${value}"`;
      if (cur?.values.includes(quoted)) return undefined;
      return p.applyChanges(at.zoneId, [
        {
          action: 'UPSERT',
          record: { name: at.name, type: 'TXT', ttl: 60, values: [...(cur?.values ?? []), quoted] },
        },
      ]);
    });
  }

  /** Removes only `value`; deletes the set when it was the last one. */
  async cleanup(cfg: Route53Solver, at: Placement, value: string): Promise<void> {
    await this.locked(at.name, async () => {
      const p = this.provider(cfg);
      const cur = await p.recordSet(at.zoneId, at.name, 'TXT');
      const quoted = `"${value}"`;
      if (!cur?.values.includes(quoted)) return;
      const rest = cur.values.filter((v) => v !== quoted);
      await p.applyChanges(at.zoneId, [
        rest.length === 0
          ? { action: 'DELETE', record: cur }
          : { action: 'UPSERT', record: { ...cur, values: rest } },
      ]);
    });
  }

  /** One GetChange: is the change INSYNC now? */
  async inSyncNow(cfg: Route53Solver, changeId: string): Promise<boolean> {
    return this.provider(cfg).isInSync(changeId);
  }

  /**
   * Does the CA's view show the value? As the CA resolves: every authoritative nameserver of
   * the zone (found through the configured resolvers) is asked directly, and each must show
   * it. Should no NS set or nameserver address be found, every configured resolver must see
   * it instead (logged once per zone): a broken NS lookup must not block issuance forever.
   */
  async visible(at: Placement, value: string): Promise<{ ok: boolean; message: string }> {
    const port = this.opts.nameserverPort ?? 53;
    const check = await checkAuthorities(this.authority, at.name, value, port);
    if (check.kind === 'checked') return check.seen;
    if (!this.fellBack.has(at.zoneId)) {
      this.fellBack.add(at.zoneId);
      this.opts.log?.warn(
        { zoneId: at.zoneId, name: at.name, why: check.message },
        'DNS-01: no authoritative nameserver found; checking through the recursive resolvers instead',
      );
    }
    return this.visibleRecursive(at.name, value);
  }

  /**
   * Does every configured resolver see the value? With no resolvers configured, the
   * system's. A CA resolves from elsewhere, so one stale resolver means "not yet".
   */
  async visibleRecursive(name: string, value: string): Promise<{ ok: boolean; message: string }> {
    const servers = this.opts.nameservers.length > 0 ? this.opts.nameservers : [undefined];
    for (const server of servers) {
      const r = new Resolver({ timeout: 2000, tries: 1 });
      if (server) r.setServers([server]);
      const txt = await r.resolveTxt(name).catch((): string[][] => []);
      if (!txt.some((chunks) => chunks.join('') === value))
        return {
          ok: false,
          message: `${name} TXT not yet visible${server ? ` at ${server}` : ''}`,
        };
    }
    return { ok: true, message: `${name} TXT visible` };
  }

  private async delegation(name: string): Promise<string | undefined> {
    const r = new Resolver({ timeout: 2000, tries: 1 });
    if (this.opts.nameservers.length > 0) r.setServers([...this.opts.nameservers]);
    try {
      const [target] = await r.resolveCname(name);
      return target ? target.replace(/\.$/, '').toLowerCase() : undefined;
    } catch {
      return undefined;
    }
  }

  private listZones(cfg: Route53Solver): Promise<Zone[]> {
    const key = zonesKey(cfg);
    const hit = this.zones.get(key);
    if (hit && Date.now() - hit.at < (this.opts.zoneCacheMs ?? 60_000)) return hit.zones;
    const zones = this.provider(cfg).zones();
    this.zones.set(key, { at: Date.now(), zones });
    zones.catch(() => this.zones.delete(key));
    return zones;
  }

  private async locked<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prior = this.locks.get(name) ?? Promise.resolve();
    const run = prior.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(name, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(name) === tail) this.locks.delete(name);
    }
  }
}

function zonesKey(cfg: Route53Solver): string {
  return `${cfg.region ?? ''}|${cfg.role ?? ''}`;
}
