import type { Zone } from './types.js';

export interface ZoneFilter {
  domainFilter: readonly string[];
  zoneIdFilter: readonly string[];
  zoneType: 'public' | 'private' | 'all';
}

function under(name: string, domain: string): boolean {
  return name === domain || name.endsWith(`.${domain}`);
}

/** The zones certroute may manage. A zone passes the domain filter if it is in, or contains, a filtered domain. */
export function filterZones(zones: readonly Zone[], f: ZoneFilter): Zone[] {
  return zones.filter((z) => {
    if (f.zoneType === 'public' && z.private) return false;
    if (f.zoneType === 'private' && !z.private) return false;
    if (f.zoneIdFilter.length > 0 && !f.zoneIdFilter.includes(z.id)) return false;
    if (f.domainFilter.length === 0) return true;
    return f.domainFilter.some((d) => under(z.name, d) || under(d, z.name));
  });
}

/** The most specific zone containing the host (longest matching suffix), or undefined. */
export function zoneFor(
  host: string,
  zones: readonly Zone[],
  domainFilter: readonly string[] = [],
): Zone | undefined {
  if (domainFilter.length > 0 && !domainFilter.some((d) => under(host.replace(/^\*\./, ''), d)))
    return undefined;
  let best: Zone | undefined;
  for (const z of zones) {
    if (under(host, z.name) && (!best || z.name.length > best.name.length)) best = z;
  }
  return best;
}
