import type { Tenancy } from '../tenancy/controller.js';
import {
  addressSeenAnnotation,
  hostIndexes,
  resourceOf,
  toDesired,
  type Endpoint,
} from './endpoints.js';
import { statusKey, type RecordStatus } from './plan.js';
import type { DesiredRecord } from './types.js';

export interface DesiredInZone {
  desired: DesiredRecord[];
  /** Resources with a host in the zone still waiting for its address. */
  waiting: Set<string>;
  /** When each desired record's address was first seen (for the latency histogram). */
  seen: Map<string, number>;
  /** Records a DomainPolicy does not allow, with their Denied status. */
  denied: Map<string, RecordStatus>;
}

/** What the published DNSEndpoints ask of one zone. Pure, given the tenancy verdicts. */
export function desiredFor(
  published: Endpoint[],
  opts: { inZone: (host: string) => boolean; tenancy?: Pick<Tenancy, 'checkRecord'> },
): DesiredInZone {
  const out: DesiredInZone = {
    desired: [],
    waiting: new Set(),
    seen: new Map(),
    denied: new Map(),
  };
  for (const e of published) {
    const resource = resourceOf(e);
    const seenAt = Date.parse(e.metadata?.annotations?.[addressSeenAnnotation] ?? '');
    const hosts = hostIndexes(e);
    for (const ep of e.spec?.endpoints ?? []) {
      if (!opts.inZone(ep.dnsName)) continue;
      const d = toDesired(ep, resource);
      if (!d) {
        out.waiting.add(resource);
        continue;
      }
      const denial = denialOf(e, d, hosts.get(ep.dnsName) ?? 0, opts.tenancy);
      // Denied: not desired, so a record published before is treated like any record
      // nothing asks for (plan.ts); the status says why.
      if (denial) {
        out.denied.set(statusKey(resource, d.name, d.type), denial);
        continue;
      }
      out.desired.push(d);
      if (!Number.isNaN(seenAt)) out.seen.set(statusKey(resource, d.name, d.type), seenAt);
    }
  }
  return out;
}

/** The Denied status of a record a DomainPolicy does not allow, else undefined. */
function denialOf(
  e: Endpoint,
  d: DesiredRecord,
  hostIndex: number,
  tenancy: Pick<Tenancy, 'checkRecord'> | undefined,
): RecordStatus | undefined {
  const verdict = tenancy?.checkRecord({
    namespace: e.metadata?.namespace ?? '',
    name: d.name,
    type: d.type,
    targets: d.alias ? [d.alias.dnsName] : d.values,
    alias: !!d.alias,
    hostIndex,
  });
  if (!verdict || verdict.allowed) return undefined;
  return {
    state: 'Denied',
    message: verdict.message,
    ...(verdict.rule ? { rule: verdict.rule } : {}),
  };
}
