/**
 * Which CA bundle is trusted for each ACME server origin, now that a namespace can bring its own
 * issuer. Trust is per origin (acme-client shares one HTTP client), so one issuer's caBundle
 * applies to every issuer of that origin. The rule: when any ClusterIssuer names an origin,
 * only ClusterIssuers decide its trust (their bundles, or the system roots if none has one); an
 * Issuer can neither replace nor remove it. An origin named only by Issuers trusts the union
 * of their bundles (each tenant's private CA keeps working).
 */
import { trustCaBundle } from './client.js';

export interface TrustEntry {
  cluster: boolean;
  server: string;
  caBundle: string | undefined;
}

function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

/** Origin → the PEM to trust (undefined: the system roots). Pure. */
export function originTrust(entries: Iterable<TrustEntry>): Map<string, string | undefined> {
  const byOrigin = new Map<string, TrustEntry[]>();
  for (const e of entries) {
    const o = originOf(e.server);
    if (!o) continue;
    byOrigin.set(o, [...(byOrigin.get(o) ?? []), e]);
  }
  const out = new Map<string, string | undefined>();
  for (const [origin, list] of byOrigin) {
    const cluster = list.filter((e) => e.cluster);
    const deciding = cluster.length > 0 ? cluster : list;
    const pems = [...new Set(deciding.map((e) => e.caBundle?.trim()).filter((p) => !!p))].sort();
    out.set(origin, pems.length > 0 ? `${pems.join('\n')}\n` : undefined);
  }
  return out;
}

/**
 * The live registry: one entry per issuer key, applied to the ACME client on every change. Only
 * the origins a change touches are worked out again, so a start with many Issuers stays linear.
 */
export class CaTrust {
  private readonly byOrigin = new Map<string, Map<string, TrustEntry>>();
  private readonly originOfKey = new Map<string, string>();
  private readonly applied = new Map<string, string | undefined>();

  constructor(
    private readonly apply: (url: string, pem: string | undefined) => void = trustCaBundle,
  ) {}

  set(key: string, entry: TrustEntry | undefined): void {
    const before = this.originOfKey.get(key);
    const after = entry ? originOf(entry.server) : undefined;
    if (before) this.byOrigin.get(before)?.delete(key);
    this.originOfKey.delete(key);
    if (after && entry) {
      const list = this.byOrigin.get(after) ?? new Map<string, TrustEntry>();
      list.set(key, entry);
      this.byOrigin.set(after, list);
      this.originOfKey.set(key, after);
    }
    for (const origin of new Set([before, after])) if (origin) this.refresh(origin);
  }

  private refresh(origin: string): void {
    const list = this.byOrigin.get(origin);
    if (!list || list.size === 0) {
      this.byOrigin.delete(origin);
      if (this.applied.has(origin)) this.apply(origin, undefined);
      this.applied.delete(origin);
      return;
    }
    const pem = originTrust(list.values()).get(origin);
    if (this.applied.has(origin) && this.applied.get(origin) === pem) return;
    this.applied.set(origin, pem);
    this.apply(origin, pem);
  }
}
