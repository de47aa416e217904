import { Resolver } from 'node:dns/promises';
import type { Solver } from '../../api/v1alpha1.js';
import type { DnsProvider, ProviderFactory } from '../../dns/providers/provider.js';
import { Rfc2136Provider } from '../../dns/providers/rfc2136.js';
import { isRfc2136AuthError } from '../../dns/providers/rfc2136-errors.js';
import type { DnsServer } from '../../dns/providers/rfc2136-transport.js';
import type { TsigKey } from '../../dns/providers/tsig.js';
import type { Zone } from '../../dns/types.js';
import { filterZones, zoneFor, type ZoneFilter } from '../../dns/zones.js';
import type { SecretKeyReader } from '../../kube/secrets.js';
import type { Logger } from '../../observability/logger.js';
import { secretNamespace, type IssuerKey } from '../issuer-ref.js';
import { checkAuthorities, checkNameserver, type AuthorityDns } from './dns01-authority.js';
import { Dns01ConfigError } from './dns01-error.js';
import { providerKey, rfc2136Key, rfc2136Server, type Rfc2136Ref } from './dns01-rfc2136.js';
import { WireAuthorityDns } from './dns01-wire.js';

export { Dns01ConfigError } from './dns01-error.js';

export type Route53Solver = NonNullable<NonNullable<Solver['dns01']>['route53']>;

/** What a DNS-01 challenge is solved with: a route53 solver, or an rfc2136 one and its issuer's namespace. */
export type Dns01Ref = Route53Solver | Rfc2136Ref;

/** A provider that can say which of its server's zones holds a name (Rfc2136Provider). */
export type ZoneFindingProvider = DnsProvider & Pick<Rfc2136Provider, 'findZone'>;

export function isRfc2136(ref: Dns01Ref): ref is Rfc2136Ref {
  return 'rfc2136' in ref;
}

/**
 * A solver's dns01 block as the solver uses it for one issuer: an rfc2136 solver's Secret is in
 * the issuer's Secret namespace (the operator's for a ClusterIssuer, the Issuer's own).
 */
export function dns01Ref(
  dns01: Solver['dns01'],
  issuer: IssuerKey,
  operatorNamespace: string,
): Dns01Ref | undefined {
  if (dns01?.rfc2136)
    return { rfc2136: dns01.rfc2136, namespace: secretNamespace(issuer, operatorNamespace) };
  return dns01?.route53;
}

export interface Dns01Options {
  /** The DNS provider for a solver's region and role (Route53: route53Factory()). */
  providers: ProviderFactory;
  /** Reads an rfc2136 solver's TSIG Secret (secretKeyReader(); required for such solvers). */
  secrets?: SecretKeyReader;
  /** The RFC 2136 provider for a server and key; by default an Rfc2136Provider over TCP. */
  rfc2136?: (server: DnsServer, key: TsigKey) => ZoneFindingProvider;
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
  /**
   * An rfc2136 solver's nameserver: the propagation check asks it alone, as cert-manager does
   * (it is the server that took the update), instead of the zone's NS set.
   */
  server?: DnsServer;
}

/**
 * DNS-01 through Route53 or RFC 2136. One TXT record set per name holds every value in flight (a
 * wildcard and its base share `_acme-challenge.<host>`), and each challenge adds and removes
 * only its own value, serialised per name. Propagation is checked at each authoritative
 * nameserver of the zone (dns01-authority.ts), polled by the caller's requeue (never a fixed
 * sleep).
 */
export class Dns01Solver {
  private readonly providers = new Map<string, DnsProvider>();
  private readonly rfc2136Providers = new Map<string, ZoneFindingProvider>();
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

  /** The provider for any solver: an rfc2136 one reads its TSIG Secret first. */
  async providerFor(ref: Dns01Ref): Promise<DnsProvider> {
    return isRfc2136(ref) ? (await this.rfc2136Provider(ref)).provider : this.provider(ref);
  }

  /**
   * An rfc2136 solver's server and provider, cached per server and key (the secret by hash):
   * the Secret is read on every use, so a rotated secret is used at once.
   */
  async rfc2136Provider(
    ref: Rfc2136Ref,
  ): Promise<{ server: DnsServer; provider: ZoneFindingProvider }> {
    const server = rfc2136Server(ref.rfc2136);
    if (!this.opts.secrets) throw new Error('dns01.rfc2136: no Secret reader configured');
    const s = ref.rfc2136.tsigSecretSecretRef;
    const key = rfc2136Key(ref, await this.opts.secrets(ref.namespace, s.name, s.key));
    const k = providerKey(server, key);
    let provider = this.rfc2136Providers.get(k);
    if (!provider) {
      provider = this.opts.rfc2136?.(server, key) ?? new Rfc2136Provider({ server, key });
      this.rfc2136Providers.set(k, provider);
    }
    return { server, provider };
  }

  /** The zone and name for a host's challenge record, following a CNAME delegation. */
  async place(ref: Dns01Ref, host: string): Promise<Placement> {
    const base = `_acme-challenge.${host}`;
    const name = (await this.delegation(base)) ?? base;
    return isRfc2136(ref) ? this.placeRfc2136(ref, name) : this.placeRoute53(ref, name);
  }

  /**
   * The zone is the one the nameserver itself says holds the name (one signed SOA query), so
   * the solver needs no zone list, and a wrong key or server shows here, before any order.
   */
  private async placeRfc2136(ref: Rfc2136Ref, name: string): Promise<Placement> {
    const { server, provider } = await this.rfc2136Provider(ref);
    const zone = await provider.findZone(name).catch((err: unknown) => {
      throw asConfigError(err);
    });
    if (!zone)
      throw new Dns01ConfigError(
        'NoZoneForChallenge',
        `${name} is in no zone of the RFC 2136 nameserver ${ref.rfc2136.nameserver} (asked for its SOA, it refused or answered without authority); check dns01.rfc2136.nameserver and that the server is the primary of the zone`,
      );
    return { zoneId: zone, name, server };
  }

  private async placeRoute53(cfg: Route53Solver, name: string): Promise<Placement> {
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
  async present(ref: Dns01Ref, at: Placement, value: string): Promise<string | undefined> {
    return this.locked(at.name, async () => {
      const p = await this.providerFor(ref);
      const cur = await p.recordSet(at.zoneId, at.name, 'TXT');
      const quoted = `"${value}"`;
      if (cur?.values.includes(quoted)) return undefined;
      return p
        .applyChanges(at.zoneId, [
          {
            action: 'UPSERT',
            record: {
              name: at.name,
              type: 'TXT',
              ttl: 60,
              values: [...(cur?.values ?? []), quoted],
            },
          },
        ])
        .catch((err: unknown) => {
          throw asConfigError(err);
        });
    });
  }

  /** Removes only `value`; deletes the set when it was the last one. */
  async cleanup(ref: Dns01Ref, at: Placement, value: string): Promise<void> {
    await this.locked(at.name, async () => {
      const p = await this.providerFor(ref);
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

  /** One GetChange: is the change INSYNC now? (RFC 2136: always, once the server took it.) */
  async inSyncNow(ref: Dns01Ref, changeId: string): Promise<boolean> {
    return (await this.providerFor(ref)).isInSync(changeId);
  }

  /**
   * Does the CA's view show the value? For an rfc2136 solver: its nameserver, asked directly
   * without recursion, shows it. Otherwise as the CA resolves: every authoritative nameserver of
   * the zone (found through the configured resolvers) is asked directly, and each must show
   * it. Should no NS set or nameserver address be found, every configured resolver must see
   * it instead (logged once per zone): a broken NS lookup must not block issuance forever.
   */
  async visible(at: Placement, value: string): Promise<{ ok: boolean; message: string }> {
    // The one place that decides whom to ask: an rfc2136 solver's own nameserver, else the
    // zone's authoritative nameservers.
    if (at.server) return checkNameserver(this.authority, at.server, at.name, value);
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

/**
 * The server refusing the key (BADSIG, BADKEY, BADTIME, REFUSED, NOTAUTH) is the user's to
 * fix: a Dns01ConfigError (a condition and an Event, no hot retry). Anything else as it is.
 */
function asConfigError(err: unknown): unknown {
  if (!isRfc2136AuthError(err)) return err;
  return new Dns01ConfigError('Rfc2136Refused', err.message, { cause: err });
}
