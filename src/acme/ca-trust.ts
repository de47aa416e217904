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

/** The live registry: one entry per issuer key, applied to the ACME client on every change. */
export class CaTrust {
  private readonly entries = new Map<string, TrustEntry>();
  private applied = new Map<string, string | undefined>();

  constructor(
    private readonly apply: (url: string, pem: string | undefined) => void = trustCaBundle,
  ) {}

  set(key: string, entry: TrustEntry | undefined): void {
    if (entry) this.entries.set(key, entry);
    else this.entries.delete(key);
    const next = originTrust(this.entries.values());
    for (const [origin, pem] of next)
      if (!this.applied.has(origin) || this.applied.get(origin) !== pem) this.apply(origin, pem);
    for (const origin of this.applied.keys()) if (!next.has(origin)) this.apply(origin, undefined);
    this.applied = next;
  }
}
