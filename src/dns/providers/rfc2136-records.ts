/**
 * Record values between certroute's RecordSet (Route53's presentation: TXT values quoted, one
 * string per value) and dns-packet's answers, and the RFC 2136 UPDATE message a batch of
 * changes becomes. Pure functions.
 */
import dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket } from 'dns-packet';
import type { Change, RecordSet } from '../types.js';
import { InvalidBatchError } from './provider.js';
import { canonicalName } from './tsig-wire.js';

const CLASS_NONE = 254;
const OPCODE_UPDATE = 5;

/** The types certroute writes; anything else is read (to leave it alone) but never written. */
const writable = new Set(['A', 'AAAA', 'CNAME', 'TXT']);

export function normalizeName(n: string): string {
  return n.toLowerCase().replace(/\.$/, '');
}

/** `"a b" "c\"d"` → ['a b', 'c"d'] (RFC 1035 §5.1 character-strings, as Route53 shows TXT). */
export function parseTxtValue(value: string): Buffer[] {
  const out: Buffer[] = [];
  let i = 0;
  const s = value.trim();
  if (!s.startsWith('"')) return [Buffer.from(s, 'utf8')];
  while (i < s.length) {
    while (s[i] === ' ') i++;
    if (i >= s.length) break;
    if (s[i] !== '"') throw new InvalidBatchError(`malformed TXT value: ${value}`);
    i++;
    const bytes: number[] = [];
    while (i < s.length && s[i] !== '"') {
      if (s[i] === '\\') {
        const digits = /^\d{3}/.exec(s.slice(i + 1));
        if (digits) {
          bytes.push(Number(digits[0]));
          i += 4;
          continue;
        }
        i++;
      }
      bytes.push(...Buffer.from(s[i] ?? '', 'utf8'));
      i++;
    }
    if (s[i] !== '"') throw new InvalidBatchError(`unterminated TXT value: ${value}`);
    i++;
    if (bytes.length > 255) throw new InvalidBatchError('TXT character-string over 255 bytes');
    out.push(Buffer.from(bytes));
  }
  return out;
}

/** ['a b', 'c"d'] → `"a b" "c\"d"`. */
export function formatTxtValue(strings: (Buffer | string)[]): string {
  return strings
    .map((b) => {
      const buf = typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
      let t = '';
      for (const c of buf) {
        if (c === 0x22 || c === 0x5c) t += `\\${String.fromCharCode(c)}`;
        else if (c < 0x20 || c > 0x7e) t += `\\${String(c).padStart(3, '0')}`;
        else t += String.fromCharCode(c);
      }
      return `"${t}"`;
    })
    .join(' ');
}

/** One answer's value as a RecordSet value; undefined for a type certroute does not read. */
export function valueOf(a: Answer): string | undefined {
  switch (a.type) {
    case 'A':
    case 'AAAA':
      return a.data;
    case 'CNAME':
    case 'NS':
    case 'PTR':
      return normalizeName(a.data);
    case 'TXT': {
      const d = a.data;
      return formatTxtValue(Array.isArray(d) ? d : [d]);
    }
    case 'SOA':
      return `${a.data.mname} ${a.data.rname} ${a.data.serial}`;
    default:
      return undefined;
  }
}

/** Answers (an AXFR, or a query's answer section) grouped into record sets, in order. */
export function toRecordSets(answers: Answer[]): RecordSet[] {
  const sets = new Map<string, RecordSet>();
  for (const a of answers) {
    if (a.type === 'OPT' || a.type === 'TSIG') continue;
    const name = normalizeName(a.name).replace(/\\042|\\052/g, '*');
    const key = `${name}|${a.type}`;
    const value = valueOf(a) ?? '';
    const set = sets.get(key);
    if (set) {
      if (!set.values.includes(value)) set.values.push(value);
    } else {
      sets.set(key, { name, type: a.type, ttl: a.ttl ?? 0, values: [value] });
    }
  }
  return [...sets.values()];
}

type RR = Buffer;

function rr(name: string, type: string, ttl: number, data: unknown, klass = 1): RR {
  const isEmpty = data === undefined;
  // One record: a packet holding only it, less the 12-byte header (dns-packet never compresses).
  const enc = dnsPacket
    .encode({
      type: 'query',
      answers: [
        {
          name,
          type: (isEmpty ? `UNKNOWN_${typeCode(type)}` : type) as 'A',
          class: 'IN',
          ttl,
          data: (isEmpty ? Buffer.alloc(0) : data) as string,
        },
      ],
    })
    .subarray(12);
  // dns-packet knows classes IN and ANY only: the class is written here (after the name).
  enc.writeUInt16BE(klass, canonicalName(name).length + 2);
  return enc;
}

const typeCodes: Record<string, number> = { A: 1, NS: 2, CNAME: 5, SOA: 6, TXT: 16, AAAA: 28 };

function typeCode(type: string): number {
  const c = typeCodes[type];
  if (c === undefined)
    throw new InvalidBatchError(`record type ${type} is not written over RFC 2136`);
  return c;
}

function rdata(type: string, value: string): unknown {
  if (type === 'TXT') return parseTxtValue(value);
  if (type === 'CNAME') return normalizeName(value);
  return value;
}

function addAll(r: RecordSet): RR[] {
  return r.values.map((v) => rr(r.name, r.type, r.ttl ?? 300, rdata(r.type, v)));
}

function check(r: RecordSet): void {
  if (r.alias)
    throw new InvalidBatchError(
      `${r.type} ${r.name}: an ALIAS record (Route53 only) cannot be written over RFC 2136; point a CNAME at ${r.alias.dnsName} or publish its addresses`,
    );
  if (r.setIdentifier)
    throw new InvalidBatchError(`${r.name}: routing policies (set identifiers) are Route53 only`);
  if (!writable.has(r.type))
    throw new InvalidBatchError(`record type ${r.type} is not written over RFC 2136`);
  if (r.values.length === 0) throw new InvalidBatchError(`${r.type} ${r.name} has no values`);
}

/**
 * The prerequisites and updates of a batch (RFC 2136 §2.4, §2.5), applied atomically by the
 * server. CREATE requires the RRset absent (as Route53 refuses to create an existing one);
 * DELETE requires it to hold exactly the values we think (so a record changed behind our back
 * is not deleted); UPSERT replaces the RRset unconditionally.
 */
export function updateSections(changes: Change[]): { prereqs: RR[]; updates: RR[] } {
  const prereqs: RR[] = [];
  const updates: RR[] = [];
  for (const c of changes) {
    const r = c.record;
    check(r);
    const name = normalizeName(r.name);
    const rec = { ...r, name };
    if (c.action === 'CREATE') {
      prereqs.push(rr(name, r.type, 0, undefined, CLASS_NONE));
      updates.push(...addAll(rec));
    } else if (c.action === 'UPSERT') {
      updates.push(rr(name, r.type, 0, undefined, 255));
      updates.push(...addAll(rec));
    } else {
      for (const v of r.values) prereqs.push(rr(name, r.type, 0, rdata(r.type, v)));
      updates.push(rr(name, r.type, 0, undefined, 255));
    }
  }
  return { prereqs, updates };
}

/** The UPDATE message for a zone (unsigned): zone section, prerequisites, updates. */
export function updateMessage(id: number, zone: string, changes: Change[]): Buffer {
  const { prereqs, updates } = updateSections(changes);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(OPCODE_UPDATE << 11, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(prereqs.length, 6);
  header.writeUInt16BE(updates.length, 8);
  const zoneSection = dnsPacket
    .encode({ type: 'query', questions: [{ name: zone, type: 'SOA', class: 'IN' }] })
    .subarray(12);
  return Buffer.concat([header, zoneSection, ...prereqs, ...updates]);
}

/** A query (AXFR, or one name and type), unsigned. */
export function queryMessage(id: number, name: string, type: string): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id,
    flags: 0,
    questions: [{ name, type: type as 'A', class: 'IN' }],
  });
}

/**
 * The zone a server's SOA answer for `name` names: the SOA owner in the answer section (the
 * name is the apex) or, for an authoritative NODATA/NXDOMAIN, in the authority section. The
 * owner must be `name` or above it; a response without authority (a referral, a cache) names
 * no zone.
 */
export function soaZoneOf(name: string, res: DecodedPacket): string | undefined {
  if (!res.flag_aa) return undefined;
  const n = normalizeName(name);
  const soa = [...(res.answers ?? []), ...(res.authorities ?? [])].find((a) => a.type === 'SOA');
  if (!soa) return undefined;
  const owner = normalizeName(soa.name);
  return n === owner || n.endsWith(`.${owner}`) ? owner : undefined;
}
