/**
 * The lab's authoritative DNS server: serves moto's Route53 hosted zones over UDP and TCP so that
 * Pebble (DNS-01 validation, CAA lookups) and the operator's self-checks see exactly what the
 * operator wrote to "Route53".
 *
 * Zone data is fetched from moto for every query, without caching, so a test that changes a
 * record sees the change on its very next query.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import type { Answer, CaaData, OptAnswer, Packet, SoaData, StringAnswer } from 'dns-packet';
import { ListHostedZonesCommand, ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import type { HostedZone, ResourceRecordSet, Route53Client } from '@aws-sdk/client-route-53';

// ---------------------------------------------------------------------------------------------
// Pure part: (query, zones) -> answer. No I/O, so unit tests can drive it with plain objects.
// ---------------------------------------------------------------------------------------------

export interface ZoneData {
  /** Hosted zone name as Route53 returns it, e.g. `example.test.`. */
  name: string;
  records: ResourceRecordSet[];
}

export interface DnsQuery {
  name: string;
  /** Record type as dns-packet spells it: `A`, `TXT`, ... */
  type: string;
}

export type AnswerRcode = 'NOERROR' | 'NXDOMAIN' | 'REFUSED';

export interface DnsAnswer {
  rcode: AnswerRcode;
  answers: Answer[];
  authority: Answer[];
}

/** CNAME and ALIAS hops followed per query; also what stops CNAME/ALIAS loops. */
export const MAX_HOPS = 8;

/** Types we can turn into wire data. Other types at an existing name answer NODATA. */
const SUPPORTED_TYPES = new Set(['A', 'AAAA', 'CNAME', 'TXT', 'NS', 'SOA', 'CAA']);

/** Route53 always has a TTL on plain record sets; this only covers odd data. */
const DEFAULT_TTL = 300;

interface NamedSet {
  /** Normalised owner name (see normName). */
  name: string;
  set: ResourceRecordSet;
}

interface Zone {
  name: string;
  sets: NamedSet[];
}

interface Walk {
  zones: Zone[];
  /** Remaining CNAME/ALIAS hops, shared by the whole query. */
  hops: number;
}

export function answer(query: DnsQuery, zones: ZoneData[]): DnsAnswer {
  const walk: Walk = { zones: zones.map(normZone), hops: MAX_HOPS };
  return resolve(stripDot(query.name), query.type.toUpperCase(), walk);
}

function resolve(owner: string, type: string, walk: Walk): DnsAnswer {
  const name = normName(owner);
  const zone = findZone(name, walk.zones);
  if (!zone) return { rcode: 'REFUSED', answers: [], authority: [] };
  const sets = setsAt(zone, name);
  if (!sets) return negative('NXDOMAIN', zone);
  const direct = pick(sets, type);
  if (direct) return positive(materialize(owner, direct, walk), zone);
  const cname = type === 'CNAME' ? undefined : pick(sets, 'CNAME');
  if (cname) return chase(owner, cname, type, zone, walk);
  return negative('NOERROR', zone);
}

/** Answers the CNAME and, if its target is ours too, the target's records (RFC 1034 4.3.2). */
function chase(
  owner: string,
  cnameSet: ResourceRecordSet,
  type: string,
  zone: Zone,
  walk: Walk,
): DnsAnswer {
  const cname = materialize(owner, cnameSet, walk).find(isCname);
  if (!cname) return negative('NOERROR', zone);
  if (walk.hops <= 0) return { rcode: 'NOERROR', answers: [cname], authority: [] };
  walk.hops--;
  const next = resolve(cname.data, type, walk);
  // A target outside moto's zones is someone else's business: the client follows it itself.
  if (next.rcode === 'REFUSED') return { rcode: 'NOERROR', answers: [cname], authority: [] };
  // RFC 6604: the rcode describes the last name in the chain.
  return { rcode: next.rcode, answers: [cname, ...next.answers], authority: next.authority };
}

function materialize(owner: string, set: ResourceRecordSet, walk: Walk): Answer[] {
  if (set.AliasTarget) return followAlias(owner, set, walk);
  const type = set.Type ?? '';
  const ttl = set.TTL ?? DEFAULT_TTL;
  return (set.ResourceRecords ?? []).map((r) => toAnswer(owner, type, ttl, r.Value ?? ''));
}

/**
 * Route53 answers an ALIAS with the target's records of the same type, under the alias's own
 * name. We can do that only when the target is a name in a moto zone. Real alias targets (ELB,
 * CloudFront, S3 website endpoints, ...) have no addresses in the lab; inventing some would let a
 * self-check "succeed" for a record nothing could reach, and SERVFAIL would make resolvers retry
 * and hide the cause, so an unknown target answers NODATA for that type.
 */
function followAlias(owner: string, set: ResourceRecordSet, walk: Walk): Answer[] {
  if (walk.hops <= 0 || !set.Type) return [];
  walk.hops--;
  const target = stripDot(set.AliasTarget?.DNSName ?? '');
  const result = resolve(target, set.Type, walk);
  return result.answers.filter((a) => a.type === set.Type).map((a) => ({ ...a, name: owner }));
}

function positive(answers: Answer[], zone: Zone): DnsAnswer {
  // An ALIAS whose target we cannot resolve materialises to nothing: that is NODATA.
  return answers.length > 0
    ? { rcode: 'NOERROR', answers, authority: [] }
    : negative('NOERROR', zone);
}

/** NXDOMAIN or NODATA, with the zone SOA so resolvers can cache the negative answer (RFC 2308). */
function negative(rcode: 'NOERROR' | 'NXDOMAIN', zone: Zone): DnsAnswer {
  return { rcode, answers: [], authority: [zoneSoa(zone)] };
}

function pick(sets: NamedSet[], type: string): ResourceRecordSet | undefined {
  if (!SUPPORTED_TYPES.has(type)) return undefined;
  // Weighted/latency/... routing stores several sets per name and type; Route53 would answer
  // with one of them, and the lab has no policy to pick by, so the first listed wins.
  return sets.find((s) => s.set.Type === type)?.set;
}

/**
 * Record sets that answer for `name`: its own sets, or a wildcard's. `undefined` means the name
 * does not exist (NXDOMAIN). An empty list is an existing name without sets of its own (an empty
 * non-terminal such as `_acme-challenge` above `x._acme-challenge`), which answers NODATA.
 */
function setsAt(zone: Zone, name: string): NamedSet[] | undefined {
  if (exists(zone, name)) return zone.sets.filter((s) => s.name === name);
  // RFC 4592: only the wildcard directly below the closest existing ancestor may match, so an
  // existing `b.example.test` stops `*.example.test` from answering for `a.b.example.test`.
  for (let anc = parent(name); isAtOrBelow(anc, zone.name); anc = parent(anc)) {
    if (!exists(zone, anc)) continue;
    const wild = zone.sets.filter((s) => s.name === `*.${anc}`);
    return wild.length > 0 ? wild : undefined;
  }
  return undefined;
}

/** A name exists if it or any name below it owns a record set; the apex always exists. */
function exists(zone: Zone, name: string): boolean {
  return name === zone.name || zone.sets.some((s) => isAtOrBelow(s.name, name));
}

function findZone(name: string, zones: Zone[]): Zone | undefined {
  let best: Zone | undefined;
  for (const zone of zones) {
    if (isAtOrBelow(name, zone.name) && (!best || zone.name.length > best.name.length)) {
      best = zone;
    }
  }
  return best;
}

function normZone(zone: ZoneData): Zone {
  const name = normName(zone.name);
  const sets = zone.records.map((set) => ({ name: normName(set.Name ?? ''), set }));
  // Anything not inside the zone cannot be answered from it; ignore it rather than guess.
  return { name, sets: sets.filter((s) => isAtOrBelow(s.name, name)) };
}

/**
 * Comparable form of a DNS name: lower case, no trailing dot, Route53's octal escapes decoded
 * (Route53 returns `*` as `\052`; moto returns whatever it was given, so both occur).
 */
export function normName(name: string): string {
  return decodeOctal(name).toLowerCase().replace(/\.+$/, '');
}

function decodeOctal(name: string): string {
  return name.replace(/\\([0-3][0-7]{2})/g, (_m, oct: string) =>
    String.fromCharCode(parseInt(oct, 8)),
  );
}

function stripDot(name: string): string {
  return name.trim().replace(/\.+$/, '');
}

function isAtOrBelow(name: string, ancestor: string): boolean {
  if (ancestor === '') return true;
  return name === ancestor || name.endsWith(`.${ancestor}`);
}

function parent(name: string): string {
  const dot = name.indexOf('.');
  return dot < 0 ? '' : name.slice(dot + 1);
}

function isCname(a: Answer): a is StringAnswer & { type: 'CNAME' } {
  return a.type === 'CNAME';
}

// ---------------------------------------------------------------------------------------------
// Route53 presentation format -> dns-packet answers
// ---------------------------------------------------------------------------------------------

function toAnswer(owner: string, type: string, ttl: number, value: string): Answer {
  const name = owner;
  switch (type) {
    case 'A':
    case 'AAAA':
      return { name, ttl, type, data: parseAddress(type, value) };
    case 'CNAME':
    case 'NS':
      return { name, ttl, type, data: stripDot(decodeOctal(value)) };
    case 'TXT':
      return { name, ttl, type, data: parseTxt(value) };
    case 'CAA':
      return { name, ttl, type, data: parseCaa(value) };
    case 'SOA':
      return { name, ttl, type, data: parseSoaOrThrow(value) };
    default:
      throw new Error(`unsupported record type ${type}`);
  }
}

function parseAddress(type: 'A' | 'AAAA', value: string): string {
  const ip = value.trim();
  const ok = type === 'A' ? net.isIPv4(ip) : net.isIPv6(ip);
  // Garbage in moto must surface (as SERVFAIL) instead of being encoded as some other address.
  if (!ok) throw new Error(`invalid ${type} value ${JSON.stringify(value)}`);
  return ip;
}

/**
 * Route53 TXT values are zone-file character-strings: `"a b" "c"` is two strings, `\"` and `\\`
 * escape, `\ooo` is an octal byte. Strings over 255 bytes cannot go on the wire, so they are
 * split the way a zone-file parser would have had to.
 */
export function parseTxt(value: string): Buffer[] {
  const strings = parseCharacterStrings(value).flatMap(chunk255);
  // A TXT record needs at least one (possibly empty) string.
  return strings.length > 0 ? strings : [Buffer.alloc(0)];
}

export function parseCharacterStrings(value: string): Buffer[] {
  const strings: Buffer[] = [];
  let i = 0;
  while (i < value.length) {
    if (/\s/.test(value.charAt(i))) {
      i++;
      continue;
    }
    const quoted = value.charAt(i) === '"';
    const read = readCharacterString(value, quoted ? i + 1 : i, quoted);
    strings.push(Buffer.from(read.bytes));
    i = read.end;
  }
  return strings;
}

interface Read {
  bytes: number[];
  /** Index just after what was consumed. */
  end: number;
}

function readCharacterString(value: string, start: number, quoted: boolean): Read {
  const bytes: number[] = [];
  let i = start;
  while (i < value.length) {
    const ch = String.fromCodePoint(value.codePointAt(i) ?? 0);
    if (quoted ? ch === '"' : /\s/.test(ch)) return { bytes, end: i + 1 };
    if (ch === '\\') {
      const esc = readEscape(value, i + 1);
      bytes.push(...esc.bytes);
      i = esc.end;
      continue;
    }
    bytes.push(...Buffer.from(ch));
    i += ch.length;
  }
  // An unterminated quote takes the rest of the value rather than failing the whole answer.
  return { bytes, end: i };
}

function readEscape(value: string, start: number): Read {
  const octal = /^[0-3][0-7]{2}/.exec(value.slice(start, start + 3));
  if (octal) return { bytes: [parseInt(octal[0], 8)], end: start + 3 };
  const cp = value.codePointAt(start);
  if (cp === undefined) return { bytes: [], end: start };
  // `\"`, `\\` and any other escaped character stand for themselves.
  const ch = String.fromCodePoint(cp);
  return { bytes: [...Buffer.from(ch)], end: start + ch.length };
}

function chunk255(buf: Buffer): Buffer[] {
  if (buf.length <= 255) return [buf];
  const chunks: Buffer[] = [];
  for (let i = 0; i < buf.length; i += 255) chunks.push(buf.subarray(i, i + 255));
  return chunks;
}

/** `0 issue "pebble.test"` -> CAA data. */
function parseCaa(value: string): CaaData {
  const m = /^\s*(\d+)\s+(\S+)\s+(.*?)\s*$/.exec(value);
  if (!m) throw new Error(`invalid CAA value ${JSON.stringify(value)}`);
  const [, flags = '0', tag = '', rest = ''] = m;
  const text = rest.startsWith('"') ? Buffer.concat(parseCharacterStrings(rest)).toString() : rest;
  // dns-packet writes any tag; its types only list the common ones.
  return { flags: Number(flags), tag: tag.toLowerCase() as CaaData['tag'], value: text };
}

/** `mname rname serial refresh retry expire minimum`, or undefined if it is not that. */
function parseSoa(value: string): SoaData | undefined {
  // moto 5.1 stores the SOA value as the repr of a Python dict: {'Value': '...'}.
  const unwrapped = /^\{'Value': '(.*)'\}$/.exec(value.trim())?.[1] ?? value;
  const fields = unwrapped.trim().split(/\s+/);
  if (fields.length !== 7) return undefined;
  const [mname = '', rname = '', ...numbers] = fields;
  const [serial, refresh, retry, expire, minimum] = numbers.map(Number);
  if (numbers.some((n) => !/^\d+$/.test(n))) return undefined;
  return {
    mname: stripDot(mname),
    rname: stripDot(rname),
    serial,
    refresh,
    retry,
    expire,
    minimum,
  };
}

function parseSoaOrThrow(value: string): SoaData {
  const soa = parseSoa(value);
  if (!soa) throw new Error(`invalid SOA value ${JSON.stringify(value)}`);
  return soa;
}

/** The zone's SOA for the authority section, with the RFC 2308 negative-caching TTL. */
function zoneSoa(zone: Zone): Answer {
  const set = zone.sets.find((s) => s.name === zone.name && s.set.Type === 'SOA')?.set;
  const value = set?.ResourceRecords?.[0]?.Value;
  // A zone always has an SOA in Route53; should moto's ever be unreadable, a made-up one still
  // lets resolvers tell NXDOMAIN/NODATA apart from a lame answer.
  const data = (value === undefined ? undefined : parseSoa(value)) ?? fallbackSoa(zone.name);
  const ttl = Math.min(set?.TTL ?? DEFAULT_TTL, data.minimum ?? DEFAULT_TTL);
  return { name: zone.name, type: 'SOA', ttl, data };
}

function fallbackSoa(zone: string): SoaData {
  return {
    mname: `ns.${zone}`,
    rname: `hostmaster.${zone}`,
    serial: 1,
    refresh: 7200,
    retry: 900,
    expire: 1209600,
    minimum: DEFAULT_TTL,
  };
}

// ---------------------------------------------------------------------------------------------
// Fetching zone data from moto
// ---------------------------------------------------------------------------------------------

/**
 * Loads the zone that serves `qname` plus, transitively, the zones that its CNAME and ALIAS
 * targets live in. Loading every zone would cost one ListResourceRecordSets call per zone per
 * query, which gets slow once tests have created many zones.
 */
export async function loadZones(client: Route53Client, qname: string): Promise<ZoneData[]> {
  const served = servedZones(await listHostedZones(client));
  const loaded = new Map<string, ZoneData>();
  let wanted = zonesFor([qname], served);
  while (wanted.length > 0) {
    const fetched = await Promise.all(wanted.map((z) => fetchZone(client, z)));
    for (const zone of fetched) loaded.set(normName(zone.name), zone);
    const targets = fetched.flatMap((z) => referencedNames(z.records));
    wanted = zonesFor(targets, served).filter((z) => !loaded.has(normName(z.Name ?? '')));
  }
  return [...loaded.values()];
}

/**
 * moto answers one request at a time; a burst of queries (a CA validating 200 hosts at once)
 * would queue hundreds of zone listings behind each other and time the resolvers out. Reads
 * of the same listing share one call, cached for CACHE_MS, and every write through the lab
 * AWS proxy clears the cache (see invalidateZoneCache), so answers are never staler than a
 * real authoritative server's. Writes straight to moto (benchmarks seeding it) bypass that.
 */
const CACHE_MS = 2000;
const shared = new Map<string, { at: number; value: Promise<unknown> }>();

function once<T>(key: string, load: () => Promise<T>): Promise<T> {
  const hit = shared.get(key);
  if (hit && Date.now() - hit.at < CACHE_MS) return hit.value as Promise<T>;
  const value = load();
  shared.set(key, { at: Date.now(), value });
  value.catch(() => shared.delete(key));
  if (shared.size > 1000)
    for (const [k, v] of shared) if (Date.now() - v.at >= CACHE_MS) shared.delete(k);
  return value;
}

/** Drops every cached listing: the next query reads moto again. */
export function invalidateZoneCache(): void {
  shared.clear();
}

function listHostedZones(client: Route53Client): Promise<HostedZone[]> {
  return once('zones', () => listHostedZonesUncached(client));
}

async function listHostedZonesUncached(client: Route53Client): Promise<HostedZone[]> {
  const zones: HostedZone[] = [];
  let marker: string | undefined;
  do {
    const page = await client.send(new ListHostedZonesCommand({ Marker: marker }));
    zones.push(...(page.HostedZones ?? []));
    marker = page.IsTruncated ? page.NextMarker : undefined;
  } while (marker);
  return zones;
}

async function fetchZone(client: Route53Client, zone: HostedZone): Promise<ZoneData> {
  const id = zone.Id ?? '';
  return {
    name: zone.Name ?? '',
    records: await once(`zone|${id}`, () => listRecordSets(client, id)),
  };
}

async function listRecordSets(client: Route53Client, zoneId: string): Promise<ResourceRecordSet[]> {
  const records: ResourceRecordSet[] = [];
  let start = {};
  for (;;) {
    const page = await client.send(
      new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, ...start }),
    );
    records.push(...(page.ResourceRecordSets ?? []));
    if (!page.IsTruncated || !page.NextRecordName) return records;
    start = {
      StartRecordName: page.NextRecordName,
      StartRecordType: page.NextRecordType,
      StartRecordIdentifier: page.NextRecordIdentifier,
    };
  }
}

/**
 * One zone per name. Route53 allows a public and private zones of the same name; the CA and the
 * self-checks stand for the public internet, so the public zone wins, then listing order.
 */
function servedZones(zones: HostedZone[]): HostedZone[] {
  const isPrivate = (z: HostedZone): number => (z.Config?.PrivateZone ? 1 : 0);
  const byName = new Map<string, HostedZone>();
  for (const zone of [...zones].sort((a, b) => isPrivate(a) - isPrivate(b))) {
    const name = normName(zone.Name ?? '');
    if (!byName.has(name)) byName.set(name, zone);
  }
  return [...byName.values()];
}

/** The most specific served zone of each name, without duplicates. */
function zonesFor(names: string[], served: HostedZone[]): HostedZone[] {
  const found = new Set<HostedZone>();
  for (const name of names) {
    const n = normName(name);
    const best = served
      .filter((z) => isAtOrBelow(n, normName(z.Name ?? '')))
      .sort((a, b) => (b.Name ?? '').length - (a.Name ?? '').length)[0];
    if (best) found.add(best);
  }
  return [...found];
}

function referencedNames(records: ResourceRecordSet[]): string[] {
  return records.flatMap((r) => {
    if (r.AliasTarget?.DNSName) return [r.AliasTarget.DNSName];
    if (r.Type !== 'CNAME') return [];
    return (r.ResourceRecords ?? []).map((v) => v.Value ?? '');
  });
}

// ---------------------------------------------------------------------------------------------
// Wire protocol
// ---------------------------------------------------------------------------------------------

type Rcode = AnswerRcode | 'FORMERR' | 'SERVFAIL' | 'NOTIMP';

const RCODES: Record<Rcode, number> = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
};

const OPCODE_MASK = 0xf << 11;

/** Classic limit for UDP answers to clients that do not advertise a bigger one via EDNS. */
const UDP_DEFAULT_MAX = 512;

/** What we advertise back via EDNS: the DNS flag day 2020 recommendation. */
const EDNS_UDP_SIZE = 1232;

interface Deps {
  route53: Route53Client;
  log: (msg: string) => void;
  view?: ZoneView;
}

/** Rewrites the zones a query is answered from (dns-authority.ts: answer as the nameservers). */
export type ZoneView = (zones: ZoneData[]) => ZoneData[];

/** The response to send, or undefined to stay silent. Never throws. */
async function respond(query: Packet, deps: Deps): Promise<Packet | undefined> {
  // Never answer answers: two servers pointed at each other would ping-pong forever.
  if (query.type === 'response') return undefined;
  const question = query.questions?.[0];
  if (((query.flags ?? 0) & OPCODE_MASK) !== 0) return reply(query, 'NOTIMP');
  if (!question || query.questions?.length !== 1) return reply(query, 'FORMERR');
  try {
    const loaded = await loadZones(deps.route53, question.name);
    const zones = deps.view ? deps.view(loaded) : loaded;
    const result = answer({ name: question.name, type: question.type }, zones);
    return reply(query, result.rcode, result);
  } catch (err) {
    deps.log(`lab dns: ${question.name} ${question.type}: SERVFAIL: ${errorText(err)}`);
    return reply(query, 'SERVFAIL');
  }
}

function reply(query: Packet, rcode: Rcode, result?: DnsAnswer): Packet {
  const authoritative = rcode === 'NOERROR' || rcode === 'NXDOMAIN';
  const flags =
    ((query.flags ?? 0) & (OPCODE_MASK | dnsPacket.RECURSION_DESIRED)) |
    (authoritative ? dnsPacket.AUTHORITATIVE_ANSWER : 0) |
    RCODES[rcode];
  return {
    type: 'response',
    id: query.id ?? 0,
    flags,
    questions: query.questions ?? [],
    answers: result?.answers ?? [],
    authorities: result?.authority ?? [],
    // RFC 6891: answer EDNS with EDNS.
    additionals: queryOpt(query) ? [ourOpt()] : [],
  };
}

function queryOpt(query: Packet): OptAnswer | undefined {
  return query.additionals?.find((a): a is OptAnswer => a.type === 'OPT');
}

function ourOpt(): OptAnswer {
  return {
    type: 'OPT',
    name: '.',
    udpPayloadSize: EDNS_UDP_SIZE,
    extendedRcode: 0,
    ednsVersion: 0,
    flags: 0,
    flag_do: false,
    options: [],
  };
}

type Encoder = (packet: Packet) => Buffer;

/** Encodes, falling back to SERVFAIL when the data cannot be put on the wire. */
function encodeSafely(encode: Encoder, response: Packet, query: Packet, deps: Deps): Buffer {
  try {
    return encode(response);
  } catch (err) {
    deps.log(`lab dns: cannot encode answer: ${errorText(err)}`);
    return encode(reply(query, 'SERVFAIL'));
  }
}

function encodeForUdp(response: Packet, query: Packet, deps: Deps): Buffer {
  const buf = encodeSafely(dnsPacket.encode, response, query, deps);
  const max = Math.max(UDP_DEFAULT_MAX, queryOpt(query)?.udpPayloadSize ?? 0);
  if (buf.length <= max) return buf;
  // Too big for UDP: send TC and no records, so the client retries over TCP (RFC 2181 9).
  const flags = (response.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE;
  return dnsPacket.encode({ ...response, flags, answers: [], authorities: [] });
}

function tryDecode(decode: () => Packet): Packet | undefined {
  try {
    return decode();
  } catch {
    return undefined;
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// ---------------------------------------------------------------------------------------------
// Sockets
// ---------------------------------------------------------------------------------------------

export interface LabDnsOptions {
  route53: Route53Client;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port, the same for UDP and TCP. */
  port?: number;
  log?: (msg: string) => void;
  /** Answer from a rewritten view of moto's zones; moto's data as it is by default. */
  view?: ZoneView;
}

export interface LabDns {
  host: string;
  port: number;
  close(): Promise<void>;
}

/** Tries with another free port if TCP finds the one UDP got taken. */
const MAX_BIND_ATTEMPTS = 20;

/** Drop idle TCP clients so a forgotten connection does not keep a test run alive. */
const TCP_IDLE_MS = 30_000;

interface Server {
  deps: Deps;
  connections: Set<net.Socket>;
  closed: boolean;
}

export async function startLabDns(opts: LabDnsOptions): Promise<LabDns> {
  const host = opts.host ?? '127.0.0.1';
  const server: Server = {
    deps: {
      route53: opts.route53,
      log: opts.log ?? (() => undefined),
      ...(opts.view ? { view: opts.view } : {}),
    },
    connections: new Set(),
    closed: false,
  };
  const { udp, tcp } = await bindPair(host, opts.port ?? 0, server);
  const port = udp.address().port;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => (closing ??= closeAll(server, udp, tcp));
  return { host, port, close };
}

async function closeAll(server: Server, udp: dgram.Socket, tcp: net.Server): Promise<void> {
  server.closed = true;
  for (const conn of server.connections) conn.destroy();
  await Promise.all([closeUdp(udp), closeTcp(tcp)]);
}

async function bindPair(
  host: string,
  port: number,
  server: Server,
): Promise<{ udp: dgram.Socket; tcp: net.Server }> {
  for (let attempt = 1; ; attempt++) {
    const udp = await bindUdp(host, port, server);
    const tcp = createTcp(server);
    try {
      await listenTcp(tcp, host, udp.address().port);
      return { udp, tcp };
    } catch (err) {
      await closeUdp(udp);
      // Only a port we picked can be swapped for another; a fixed port is the caller's choice.
      if (port !== 0 || !isAddrInUse(err) || attempt >= MAX_BIND_ATTEMPTS) throw err;
    }
  }
}

function isAddrInUse(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE';
}

async function bindUdp(host: string, port: number, server: Server): Promise<dgram.Socket> {
  const udp = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  await new Promise<void>((resolve, reject) => {
    udp.once('error', (err) => {
      udp.close();
      reject(err);
    });
    udp.bind(port, host, () => {
      udp.removeAllListeners('error');
      resolve();
    });
  });
  // Without an error listener a stray socket error would crash the test process.
  udp.on('error', (err) => server.deps.log(`lab dns: udp: ${err.message}`));
  udp.on('message', (msg, peer) => {
    serveUdp(udp, msg, peer, server).catch((err: unknown) =>
      server.deps.log(`lab dns: udp: ${errorText(err)}`),
    );
  });
  return udp;
}

async function serveUdp(
  udp: dgram.Socket,
  msg: Buffer,
  peer: dgram.RemoteInfo,
  server: Server,
): Promise<void> {
  const query = tryDecode(() => dnsPacket.decode(msg));
  if (!query) return; // malformed: a UDP server cannot tell the sender anything useful
  const response = await respond(query, server.deps);
  if (!response || server.closed) return;
  const buf = encodeForUdp(response, query, server.deps);
  udp.send(buf, peer.port, peer.address, (err) => {
    if (err) server.deps.log(`lab dns: udp send: ${err.message}`);
  });
}

function createTcp(server: Server): net.Server {
  const tcp = net.createServer((conn) => serveTcp(conn, server));
  tcp.on('error', (err) => server.deps.log(`lab dns: tcp: ${err.message}`));
  return tcp;
}

function listenTcp(tcp: net.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen({ host, port, exclusive: true }, () => {
      tcp.off('error', reject);
      resolve();
    });
  });
}

function serveTcp(conn: net.Socket, server: Server): void {
  server.connections.add(conn);
  conn.on('close', () => server.connections.delete(conn));
  conn.on('error', (err) => server.deps.log(`lab dns: tcp connection: ${err.message}`));
  conn.setTimeout(TCP_IDLE_MS, () => conn.destroy());
  let pending: Buffer = Buffer.alloc(0);
  conn.on('data', (chunk: Buffer) => {
    pending = takeFrames(Buffer.concat([pending, chunk]), conn, server);
  });
}

/** Handles every complete length-prefixed message in `buf`; returns the incomplete rest. */
function takeFrames(buf: Buffer, conn: net.Socket, server: Server): Buffer {
  let rest = buf;
  while (rest.length >= 2 && !conn.destroyed) {
    const size = rest.readUInt16BE(0);
    if (rest.length < size + 2) break;
    const frame = rest.subarray(0, size + 2);
    rest = rest.subarray(size + 2);
    // streamDecode returns null (despite its types) for a short buffer; the frame is complete.
    const query =
      size === 0 ? undefined : tryDecode(() => dnsPacket.streamDecode(frame) ?? undefined);
    // After a malformed message we can no longer trust the framing: hang up.
    if (!query) conn.destroy();
    else answerTcp(conn, query, server);
  }
  return rest;
}

function answerTcp(conn: net.Socket, query: Packet, server: Server): void {
  // Answers may go out of order; clients match them by id (RFC 7766 6.2.1.1).
  respond(query, server.deps)
    .then((response) => {
      if (!response || conn.destroyed || !conn.writable) return;
      conn.write(encodeSafely(dnsPacket.streamEncode, response, query, server.deps));
    })
    .catch((err: unknown) => server.deps.log(`lab dns: tcp: ${errorText(err)}`));
}

function closeUdp(udp: dgram.Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      udp.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}

function closeTcp(tcp: net.Server): Promise<void> {
  // A server that never listened reports ERR_SERVER_NOT_RUNNING; closed is closed either way.
  return new Promise((resolve) => tcp.close(() => resolve()));
}
