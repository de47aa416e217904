import type { RecordSet } from './types.js';

/**
 * The TXT ownership registry. Each managed record (name, type) has a companion TXT record
 * whose name carries the type as a prefix, the way external-dns's current format does
 * (`a-www.example.test` for the A record at `www.example.test`), so a companion never sits at
 * the same name as a CNAME. Its value says who owns the record:
 *   heritage=certroute,certroute/owner=<owner id>,certroute/resource=ingress/<ns>/<name>
 */
export interface Owner {
  heritage: 'certroute' | 'external-dns';
  owner: string;
  resource?: string;
}

/**
 * The companion name for a record. The type prefix goes on the first label; at a zone apex
 * that would leave the zone (`a-example.test`), so apex records use `_certroute-a.<apex>`,
 * whose leading underscore can never be a host name.
 */
export function companionName(name: string, type: string, zoneName: string): string {
  const t = type.toLowerCase();
  if (name === zoneName) return `_certroute-${t}.${name}`;
  return `${t}-${name}`;
}

/** external-dns's companions for a record: its new (type-prefixed) and legacy (same name) formats. */
export function externalDnsCompanionNames(name: string, type: string): string[] {
  return [`${type.toLowerCase()}-${name}`, name];
}

export function ownerValue(ownerId: string, resource: string): string {
  return `"heritage=certroute,certroute/owner=${ownerId},certroute/resource=${resource}"`;
}

/** Parses a companion TXT value (quoted, as Route53 returns it); undefined if it is not one. */
export function parseOwner(value: string): Owner | undefined {
  const text = value.replace(/^"|"$/g, '').replace(/\\"/g, '"');
  const fields = new Map<string, string>();
  for (const part of text.split(',')) {
    const i = part.indexOf('=');
    if (i > 0) fields.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  const heritage = fields.get('heritage');
  if (heritage !== 'certroute' && heritage !== 'external-dns') return undefined;
  const owner = fields.get(`${heritage}/owner`) ?? '';
  const resource = fields.get(`${heritage}/resource`);
  return { heritage, owner, ...(resource ? { resource } : {}) };
}

/**
 * The owner a TXT record set names. Record sets are never changed in place (a change replaces
 * the object), so each is parsed once: every sync of a zone asks again for all of them.
 */
export function ownerOfTxt(rs: RecordSet | undefined): Owner | undefined {
  if (!rs) return undefined;
  const known = parsed.get(rs);
  if (known !== undefined) return known ?? undefined;
  let found: Owner | null = null;
  for (const v of rs.values) {
    const o = parseOwner(v);
    if (o) {
      found = o;
      break;
    }
  }
  parsed.set(rs, found);
  return found ?? undefined;
}

const parsed = new WeakMap<RecordSet, Owner | null>();

export function describeOwner(o: Owner | undefined): string {
  if (!o) return 'unmanaged (no ownership record)';
  const who =
    o.heritage === 'certroute' ? `certroute owner "${o.owner}"` : `external-dns owner "${o.owner}"`;
  return o.resource ? `${who} (${o.resource})` : who;
}

/** How many of a zone's TXT ownership records say this certroute instance owns them. */
export function countOwned(records: Map<string, RecordSet>, ownerId: string): number {
  let n = 0;
  for (const r of records.values()) {
    const o = r.type === 'TXT' ? ownerOfTxt(r) : undefined;
    if (o?.heritage === 'certroute' && o.owner === ownerId) n++;
  }
  return n;
}
