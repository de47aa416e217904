import {
  companionName,
  describeOwner,
  externalDnsCompanionNames,
  ownerOfTxt,
  ownerValue,
  parseOwner,
  type Owner,
} from './registry.js';
import {
  recordKey,
  type Change,
  type ChangeGroup,
  type DesiredRecord,
  type RecordSet,
  type Zone,
} from './types.js';

export type RecordState = 'Published' | 'Pending' | 'OwnedByOther' | 'Denied' | 'Error';

export interface RecordStatus {
  state: RecordState;
  owner?: string;
  message?: string;
  /** Denied: the DomainPolicy rule that failed (the metric's reason label). */
  rule?: string;
}

export interface PlanInput {
  zone: Zone;
  /** Every record set in the zone, by recordKey(name, type). */
  current: ReadonlyMap<string, RecordSet>;
  desired: readonly DesiredRecord[];
  ownerId: string;
  /** external-dns owner ids whose records may be adopted. */
  adoptOwnerIds: readonly string[];
  /** Whether a resource (ingress/<ns>/<name>) is in this operator's scope; others' records are never deleted. */
  inScope: (resource: string) => boolean;
  /** Resources that exist but have no address yet: their published records are kept. */
  waiting: ReadonlySet<string>;
  /**
   * The claim grace period (ms): a record of ours that nothing asks for is kept, still
   * claimed by its resource, until it has been unwanted this long. 0 (the default) deletes at once.
   */
  gracePeriodMs?: number;
  /** The caller's clock (ms since the epoch); only compared with `unwantedSince`. */
  now?: number;
  /** Per recordKey: since when it has been unwanted (the previous plan's `unwanted`). */
  unwantedSince?: ReadonlyMap<string, number>;
}

export interface Plan {
  groups: ChangeGroup[];
  /** Per desired record, keyed by statusKey(resource, name, type). */
  statuses: Map<string, RecordStatus>;
  /** Our records nothing asks for, by recordKey, with since when: pass it to the next plan. */
  unwanted: Map<string, number>;
  /** How many of them are kept because their grace period has not ended. */
  inGrace: number;
  /** When the first of those grace periods ends (ms): sync the zone again then. */
  graceEndsAt?: number;
}

export function statusKey(resource: string, name: string, type: string): string {
  return `${resource}|${name}|${type}`;
}

const conflicting: Record<string, string[]> = {
  A: ['CNAME'],
  AAAA: ['CNAME'],
  CNAME: ['A', 'AAAA', 'TXT', 'MX', 'SRV', 'CAA'],
};

/**
 * Diffs what DNSEndpoints ask for against the zone. Pure: (current records, ownership TXT
 * registry, desired records) in, change groups and per-record statuses out. Records that
 * certroute does not own are never changed or deleted; the policy filter runs afterwards.
 */
export function plan(input: PlanInput): Plan {
  const out: Plan = { groups: [], statuses: new Map(), unwanted: new Map(), inGrace: 0 };
  const winners = pickWinners(input, out.statuses);
  const ctx: Ctx = {
    input,
    out,
    desired: new Map(winners.map((d) => [recordKey(d.name, d.type), d])),
    deleted: new Set(),
    refused: new Set(),
  };
  for (const d of winners) planOne(ctx, d);
  planDeletions(ctx);
  return out;
}

/** Planning state shared by the steps of one plan() call. */
interface Ctx {
  input: PlanInput;
  out: Plan;
  /** The winning desired record per recordKey. */
  desired: Map<string, DesiredRecord>;
  /** Record keys already deleted by some group: each record set is deleted at most once. */
  deleted: Set<string>;
  /** name|resource pairs whose wanted record is refused: their old records are kept meanwhile. */
  refused: Set<string>;
}

/**
 * Claims. A name belongs to the namespace that published it first: the holder is the
 * `resource=` in our companion of any record at the name. While the holder's claim is alive,
 * claims from other namespaces are OwnedByOther naming it; within the holder's namespace the
 * name passes freely (the namespace is the tenant boundary). With no live holder, the first
 * claim by resource (ingress/<ns>/<name>, so namespace then name) takes the name: the same on
 * every run. Then one desired record per (name, type): its current owner keeps it, else the
 * first resource by name.
 */
function pickWinners(input: PlanInput, statuses: Map<string, RecordStatus>): DesiredRecord[] {
  const byName = new Map<string, DesiredRecord[]>();
  for (const d of input.desired) byName.set(d.name, [...(byName.get(d.name) ?? []), d]);
  const allowed: DesiredRecord[] = [];
  for (const [name, claims] of byName) {
    const sorted = [...claims].sort((a, b) => a.resource.localeCompare(b.resource));
    const holders = liveHolders(input, name, sorted);
    const first = sorted[0];
    const holdingNs = new Set(
      holders.length > 0
        ? holders.map((h) => namespaceOf(h.resource))
        : first
          ? [namespaceOf(first.resource)]
          : [],
    );
    for (const d of sorted) {
      if (holdingNs.has(namespaceOf(d.resource))) {
        allowed.push(d);
        continue;
      }
      statuses.set(
        statusKey(d.resource, d.name, d.type),
        holders[0] ? heldBy(d, holders[0]) : racedBy(d, first?.resource ?? ''),
      );
    }
  }
  return perRecord(input, allowed, statuses);
}

/** A claim on a name by one of our records: who, and why it is still alive. */
interface Holder {
  resource: string;
  /** Set while it lives only by the grace period: when that ends (ms). */
  graceEndsAt?: number;
}

/**
 * Our records at `name` whose claim is alive: their namespace still asks for the name, their
 * resource is out of scope or waiting for an address (nobody here may judge it), or they have
 * been unwanted for less than the grace period. A companion without its record claims nothing.
 */
function liveHolders(input: PlanInput, name: string, claims: DesiredRecord[]): Holder[] {
  const holders: Holder[] = [];
  for (const t of ['A', 'AAAA', 'CNAME']) {
    if (!input.current.get(recordKey(name, t))) continue;
    const { owner } = ownerOf(input, name, t);
    if (!isOurs(owner, input.ownerId) || !owner?.resource) continue;
    const resource = owner.resource;
    const asked = claims.some((d) => namespaceOf(d.resource) === namespaceOf(resource));
    if (asked || !input.inScope(resource) || input.waiting.has(resource)) {
      holders.push({ resource });
      continue;
    }
    const ends = graceEnd(input, recordKey(name, t));
    if (ends > clock(input)) holders.push({ resource, graceEndsAt: ends });
  }
  return holders.sort((a, b) => a.resource.localeCompare(b.resource));
}

function heldBy(d: DesiredRecord, h: Holder): RecordStatus {
  const ns = namespaceOf(h.resource);
  const grace =
    h.graceEndsAt !== undefined
      ? `; it no longer asks for the name, and its claim lasts until ${new Date(h.graceEndsAt).toISOString()} (--claim-grace-period)`
      : '';
  return {
    state: 'OwnedByOther',
    owner: h.resource,
    message: `${d.type} ${d.name} is held by ${h.resource}: a name belongs to the namespace that published it first (${ns})${grace}`,
  };
}

function racedBy(d: DesiredRecord, winner: string): RecordStatus {
  return {
    state: 'OwnedByOther',
    owner: winner,
    message: `${d.type} ${d.name} is also asked for by ${winner} in namespace ${namespaceOf(winner)}, which takes it (the first claim by name)`,
  };
}

/** Among claims of one namespace: one desired record per (name, type). */
function perRecord(
  input: PlanInput,
  allowed: DesiredRecord[],
  statuses: Map<string, RecordStatus>,
): DesiredRecord[] {
  const byKey = new Map<string, DesiredRecord[]>();
  for (const d of allowed)
    byKey.set(recordKey(d.name, d.type), [...(byKey.get(recordKey(d.name, d.type)) ?? []), d]);
  const winners: DesiredRecord[] = [];
  for (const [key, claims] of byKey) {
    const [name = '', type = ''] = key.split('|');
    const owner = ownerOfTxt(
      input.current.get(recordKey(companionName(name, type, input.zone.name), 'TXT')),
    );
    const sorted = [...claims].sort((a, b) => a.resource.localeCompare(b.resource));
    const winner =
      sorted.find(
        (d) =>
          owner?.heritage === 'certroute' &&
          owner.owner === input.ownerId &&
          owner.resource === d.resource,
      ) ?? sorted[0];
    if (!winner) continue;
    winners.push(winner);
    for (const loser of sorted.filter((d) => d !== winner)) {
      statuses.set(statusKey(loser.resource, loser.name, loser.type), {
        state: 'OwnedByOther',
        owner: winner.resource,
        message: `${type} ${name} is also asked for by ${winner.resource}, which holds it`,
      });
    }
  }
  return winners;
}

/** The namespace of a resource (`<kind>/<ns>/<name>`). */
export function namespaceOf(resource: string): string {
  return resource.split('/')[1] ?? '';
}

function clock(input: PlanInput): number {
  return input.now ?? 0;
}

/** When the grace period of an unwanted record ends (ms); unwanted from now if not seen yet. */
function graceEnd(input: PlanInput, key: string): number {
  const since = input.unwantedSince?.get(key) ?? clock(input);
  return since + (input.gracePeriodMs ?? 0);
}

function isOurs(o: Owner | undefined, ownerId: string): boolean {
  return o?.heritage === 'certroute' && o.owner === ownerId;
}

/**
 * An external-dns record may be adopted when its owner id is listed and its `resource=`, if
 * external-dns wrote one, names the claimant: one Ingress never adopts another's record.
 */
function adoptable(o: Owner | undefined, input: PlanInput, resource: string): boolean {
  return (
    o?.heritage === 'external-dns' &&
    input.adoptOwnerIds.includes(o.owner) &&
    (o.resource === undefined || o.resource === resource)
  );
}

/** Who owns (name, type): our companion first, then external-dns's companions. */
function ownerOf(
  input: PlanInput,
  name: string,
  type: string,
): { owner?: Owner; companion?: RecordSet } {
  const companion = input.current.get(recordKey(companionName(name, type, input.zone.name), 'TXT'));
  const ours = ownerOfTxt(companion);
  if (ours) return { owner: ours, companion };
  for (const n of externalDnsCompanionNames(name, type)) {
    const o = ownerOfTxt(input.current.get(recordKey(n, 'TXT')));
    if (o?.heritage === 'external-dns') return { owner: o };
  }
  return {};
}

function toRecordSet(d: DesiredRecord): RecordSet {
  return d.alias
    ? { name: d.name, type: d.type, values: [], alias: d.alias }
    : { name: d.name, type: d.type, ttl: d.ttl, values: [...d.values].sort() };
}

function companionFor(
  input: PlanInput,
  d: { name: string; type: string },
  resource: string,
): RecordSet {
  return {
    name: companionName(d.name, d.type, input.zone.name),
    type: 'TXT',
    ttl: 300,
    values: [ownerValue(input.ownerId, resource)],
  };
}

export function sameRecord(a: RecordSet, b: RecordSet): boolean {
  if (a.alias || b.alias) {
    return (
      !!a.alias &&
      !!b.alias &&
      a.alias.hostedZoneId === b.alias.hostedZoneId &&
      a.alias.dnsName.toLowerCase().replace(/\.$/, '') ===
        b.alias.dnsName.toLowerCase().replace(/\.$/, '')
    );
  }
  return a.ttl === b.ttl && [...a.values].sort().join('\n') === [...b.values].sort().join('\n');
}

/** Why certroute may not write (name, type), as an OwnedByOther status; undefined if it may. */
function blocked(
  ctx: Ctx,
  d: DesiredRecord,
  cur: RecordSet | undefined,
  owner: Owner | undefined,
  clashes: Clash[],
): RecordStatus | undefined {
  const { input } = ctx;
  if (cur?.setIdentifier) {
    return {
      state: 'OwnedByOther',
      owner: 'routing policy',
      message: `${d.type} ${d.name} is a routing-policy record (set identifier ${cur.setIdentifier}); certroute leaves it alone`,
    };
  }
  if (
    cur &&
    owner?.heritage === 'external-dns' &&
    owner.resource &&
    owner.resource !== d.resource &&
    input.adoptOwnerIds.includes(owner.owner)
  ) {
    return {
      state: 'OwnedByOther',
      owner: owner.resource,
      message: `${d.type} ${d.name} is external-dns's record for ${owner.resource} (owner "${owner.owner}"), not for ${d.resource}; it is adopted only by that resource`,
    };
  }
  if (cur && !isOurs(owner, input.ownerId) && !adoptable(owner, input, d.resource)) {
    return {
      state: 'OwnedByOther',
      owner: describeOwner(owner),
      message: `${d.type} ${d.name} exists and is owned by ${describeOwner(owner)}; certroute will not change it`,
    };
  }
  const held = clashes.find((c) => !c.replaceable);
  if (held) {
    const who = held.holder ?? describeOwner(held.owner);
    return {
      state: 'OwnedByOther',
      owner: who,
      message: `${held.record.type} ${d.name} (${who}) occupies the name; a ${d.type} cannot be added beside it`,
    };
  }
  return undefined;
}

function planOne(ctx: Ctx, d: DesiredRecord): void {
  const { input, out } = ctx;
  const sk = statusKey(d.resource, d.name, d.type);
  const key = recordKey(d.name, d.type);
  const cur = input.current.get(key);
  const { owner, companion } = ownerOf(input, d.name, d.type);
  const clashes = clashingRecords(ctx, d);
  const refusal = blocked(ctx, d, cur, owner, clashes);
  if (refusal) {
    out.statuses.set(sk, refusal);
    ctx.refused.add(`${d.name}|${d.resource}`);
    return;
  }
  const adopt = adoptable(owner, input, d.resource);
  const want = toRecordSet(d);
  const wantCompanion = companionFor(input, d, d.resource);
  const changes: Change[] = [
    ...clashes.flatMap((c) => deleteWithCompanion(ctx, c.record)),
    ...upsertIfChanged(cur, want),
    ...upsertIfChanged(companion, wantCompanion),
    ...(adopt ? legacyExternalDnsCompanion(ctx, d) : []),
  ];
  if (changes.length === 0) {
    out.statuses.set(sk, { state: 'Published' });
    return;
  }
  out.groups.push({ key, resource: d.resource, changes });
  out.statuses.set(sk, {
    state: 'Pending',
    ...(adopt ? { message: `adopted from ${describeOwner(owner)}` } : {}),
  });
}

function upsertIfChanged(cur: RecordSet | undefined, want: RecordSet): Change[] {
  if (cur && sameRecord(cur, want)) return [];
  return [{ action: cur ? 'UPSERT' : 'CREATE', record: want }];
}

/** A record of another type at the same name that Route53 would refuse to keep beside this one. */
interface Clash {
  record: RecordSet;
  owner?: Owner;
  /** Ours, in scope, and asked for by nobody else: it may be replaced. */
  replaceable: boolean;
  /** The resource still holding it, when another of ours does. */
  holder?: string;
}

function clashingRecords(ctx: Ctx, d: DesiredRecord): Clash[] {
  const { input } = ctx;
  const clashes: Clash[] = [];
  for (const t of conflicting[d.type] ?? []) {
    const rs = input.current.get(recordKey(d.name, t));
    if (!rs) continue;
    const { owner } = ownerOf(input, d.name, t);
    const stillWanted = ctx.desired.get(recordKey(d.name, t));
    const holder =
      stillWanted && stillWanted.resource !== d.resource ? stillWanted.resource : undefined;
    // Our own record of another type is replaced when nothing else holds it (e.g. the address
    // changed from a hostname to IPs); never one in another operator's scope or waiting for an address.
    const replaceable =
      !rs.setIdentifier &&
      isOurs(owner, input.ownerId) &&
      !holder &&
      !!owner?.resource &&
      input.inScope(owner.resource) &&
      !input.waiting.has(owner.resource);
    clashes.push({
      record: rs,
      ...(owner ? { owner } : {}),
      replaceable,
      ...(holder ? { holder } : {}),
    });
  }
  return clashes;
}

/** DELETEs a record and its companion, unless another group already deletes them. */
function deleteWithCompanion(ctx: Ctx, rs: RecordSet): Change[] {
  const changes: Change[] = [];
  const companion = ctx.input.current.get(
    recordKey(companionName(rs.name, rs.type, ctx.input.zone.name), 'TXT'),
  );
  for (const r of companion ? [rs, companion] : [rs]) {
    const k = recordKey(r.name, r.type);
    if (ctx.deleted.has(k)) continue;
    ctx.deleted.add(k);
    changes.push({ action: 'DELETE', record: r });
  }
  return changes;
}

/**
 * On adoption, external-dns's legacy same-name TXT would otherwise linger as a stale claim.
 * Only its ownership value goes: other values in the same record set (site verification, SPF)
 * were never external-dns's, so they stay. One record set serves A and AAAA: changed once.
 */
function legacyExternalDnsCompanion(ctx: Ctx, d: DesiredRecord): Change[] {
  const legacy = ctx.input.current.get(recordKey(d.name, 'TXT'));
  const k = recordKey(d.name, 'TXT');
  if (
    !legacy ||
    d.type === 'CNAME' ||
    ctx.deleted.has(k) ||
    !adoptable(ownerOfTxt(legacy), ctx.input, d.resource)
  )
    return [];
  ctx.deleted.add(k);
  const rest = legacy.values.filter((v) => parseOwner(v)?.heritage !== 'external-dns');
  return rest.length === 0
    ? [{ action: 'DELETE', record: legacy }]
    : [{ action: 'UPSERT', record: { ...legacy, values: rest } }];
}

const managedTypes = new Set(['A', 'AAAA', 'CNAME']);

/** An unwanted record: remembered, and kept (still claimed) until its grace period ends. */
function keptInGrace(ctx: Ctx, key: string): boolean {
  const { input, out } = ctx;
  out.unwanted.set(key, input.unwantedSince?.get(key) ?? clock(input));
  const ends = graceEnd(input, key);
  if (ends <= clock(input)) return false;
  out.inGrace++;
  out.graceEndsAt = Math.min(out.graceEndsAt ?? ends, ends);
  return true;
}

/** Our records that nothing asks for any more, within scope and not waiting for an address. */
function planDeletions(ctx: Ctx): void {
  const { input, out } = ctx;
  for (const rs of input.current.values()) {
    if (!managedTypes.has(rs.type)) continue;
    const k = recordKey(rs.name, rs.type);
    if (rs.setIdentifier || ctx.desired.has(k) || ctx.deleted.has(k)) continue;
    const { owner } = ownerOf(input, rs.name, rs.type);
    if (!isOurs(owner, input.ownerId) || !owner?.resource) continue;
    if (!input.inScope(owner.resource) || input.waiting.has(owner.resource)) continue;
    // Its replacement (e.g. a CNAME instead of this A) is refused: an old answer beats none.
    if (ctx.refused.has(`${rs.name}|${owner.resource}`)) continue;
    if (keptInGrace(ctx, k)) continue;
    const changes = deleteWithCompanion(ctx, rs);
    if (changes.length > 0) out.groups.push({ key: k, resource: owner.resource, changes });
  }
}
