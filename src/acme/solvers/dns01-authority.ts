/**
 * The DNS-01 propagation check as the CA makes it: find the zone cut above the challenge name
 * (its NS set, through the configured resolvers), resolve each nameserver's addresses, and ask
 * each address directly, without recursion, for the TXT. Every one must show the value. The
 * pure parts (where the zone cut is, what counts as seen) are separate from the DNS I/O, which
 * sits behind AuthorityDns.
 */
import { isIP } from 'node:net';

/** What the configured resolvers said about the NS set at one name. */
export type NsAnswer =
  | { kind: 'ns'; hosts: string[] }
  /** NXDOMAIN or NODATA: no zone cut here, look one label up. */
  | { kind: 'none' }
  /** SERVFAIL, timeout, refused: nothing can be said, and going up could pick a parent zone. */
  | { kind: 'error'; message: string };

/** One authoritative server's answer to a non-recursive TXT query. */
export type TxtAnswer =
  | { kind: 'answer'; rcode: string; authoritative: boolean; values: string[] }
  | { kind: 'error'; message: string };

/** The DNS I/O the check needs, and nothing else. */
export interface AuthorityDns {
  /** The NS host names at `name`, through the configured (recursive) resolvers. */
  ns(name: string): Promise<NsAnswer>;
  /** A host's addresses through the configured resolvers: IPv4, else IPv6; [] if none. */
  addresses(host: string): Promise<string[]>;
  /**
   * A host's addresses as the system resolves it (where an RFC 2136 update is sent: a cluster
   * Service name resolves there, maybe not through the configured resolvers). Absent: addresses().
   */
  lookup?(host: string): Promise<string[]>;
  /** The TXT strings at `name`, asked of `address` itself (no recursion); `port` if given. */
  txt(address: string, name: string, port?: number): Promise<TxtAnswer>;
}

export type ZoneCut = { ok: true; zone: string; hosts: string[] } | { ok: false; message: string };

/** `a.b.c` -> [`a.b.c`, `b.c`, `c`]: where a zone cut may be, closest first, never the root. */
export function candidates(name: string): string[] {
  const labels = name.toLowerCase().replace(/\.+$/, '').split('.').filter(Boolean);
  return labels.map((_l, i) => labels.slice(i).join('.'));
}

/**
 * What one NS answer at `name` decides: the zone cut (an NS set), a failure (an error, which
 * must not be skipped: the next label up may be the parent zone, whose servers do not hold the
 * record), or undefined: no cut here, go one label up.
 */
export function cutAt(name: string, answer: NsAnswer): ZoneCut | undefined {
  if (answer.kind === 'error')
    return { ok: false, message: `NS lookup of ${name} failed: ${answer.message}` };
  if (answer.kind === 'none') return undefined;
  const hosts = [...new Set(answer.hosts.map((h) => h.toLowerCase().replace(/\.+$/, '')))]
    .filter(Boolean)
    .sort();
  return hosts.length > 0
    ? { ok: true, zone: name, hosts }
    : { ok: false, message: `NS lookup of ${name} returned no host names` };
}

/** Walks up from `name` to the first NS set: the zone that serves it. */
export async function findZoneCut(dns: AuthorityDns, name: string): Promise<ZoneCut> {
  for (const c of candidates(name)) {
    const cut = cutAt(c, await dns.ns(c));
    if (cut) return cut;
  }
  return { ok: false, message: `no NS set found at ${name} or above` };
}

/** One nameserver address's part in the check. */
export interface ServerResult {
  host: string;
  address: string;
  answer: TxtAnswer;
}

export type Seen = { ok: true; message: string } | { ok: false; message: string };

/** Why one server's answer does not show `value` yet, or undefined if it does. */
export function notSeen(answer: TxtAnswer, value: string): string | undefined {
  if (answer.kind === 'error') return answer.message;
  if (answer.rcode !== 'NOERROR') return `answered ${answer.rcode}`;
  // A server that is not authoritative for the zone (a lame delegation, a resolver's cache)
  // says nothing about what the CA will see.
  if (!answer.authoritative) return 'answered without authority (not a server of the zone)';
  if (!answer.values.includes(value))
    return answer.values.length === 0 ? 'has no TXT there yet' : 'has other TXT values only';
  return undefined;
}

/** Every address must show the value; the message names the first that does not. */
export function allSeen(
  name: string,
  value: string,
  results: readonly ServerResult[],
  port: number,
): Seen {
  if (results.length === 0)
    return { ok: false, message: `${name}: no authoritative nameserver address to ask` };
  const stale = results
    .map((r) => ({ r, why: notSeen(r.answer, value) }))
    .filter((x): x is { r: ServerResult; why: string } => x.why !== undefined);
  const first = stale[0];
  if (!first)
    return {
      ok: true,
      message: `${name} TXT visible at all ${results.length} authoritative nameserver addresses`,
    };
  const more = stale.length > 1 ? ` (and ${stale.length - 1} more of ${results.length})` : '';
  return {
    ok: false,
    message: `${name} TXT not yet visible at authoritative nameserver ${first.r.host} (${hostPort(first.r.address, port)}): ${first.why}${more}`,
  };
}

export function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/**
 * The check for an rfc2136 solver: the one nameserver it updates (every address of it, found
 * as the update's connection finds it) must show the value, asked without recursion on its
 * own port.
 */
export async function checkNameserver(
  dns: AuthorityDns,
  server: { host: string; port: number },
  name: string,
  value: string,
): Promise<Seen> {
  const addresses = isIP(server.host)
    ? [server.host]
    : await (dns.lookup ?? dns.addresses).call(dns, server.host);
  if (addresses.length === 0)
    return { ok: false, message: `${name}: the nameserver ${server.host} has no address` };
  const results = await Promise.all(
    addresses.map(async (address) => ({
      host: server.host,
      address,
      answer: await dns.txt(address, name, server.port),
    })),
  );
  return allSeen(name, value, results, server.port);
}

export type AuthorityCheck =
  | { kind: 'checked'; seen: Seen }
  /** No NS set or no address found: the caller falls back to the recursive resolvers. */
  | { kind: 'no-authority'; message: string };

/** The whole check for one name and value. */
export async function checkAuthorities(
  dns: AuthorityDns,
  name: string,
  value: string,
  port: number,
): Promise<AuthorityCheck> {
  const cut = await findZoneCut(dns, name);
  if (!cut.ok) return { kind: 'no-authority', message: cut.message };
  const servers = await Promise.all(
    cut.hosts.map(async (host) => ({ host, addresses: await dns.addresses(host) })),
  );
  const targets = servers.flatMap((s) => s.addresses.map((address) => ({ ...s, address })));
  if (targets.length === 0)
    return {
      kind: 'no-authority',
      message: `no nameserver of ${cut.zone} (${cut.hosts.join(', ')}) has an address`,
    };
  const results = await Promise.all(
    targets.map(async (t) => ({
      host: t.host,
      address: t.address,
      answer: await dns.txt(t.address, name),
    })),
  );
  return { kind: 'checked', seen: allSeen(name, value, results, port) };
}
