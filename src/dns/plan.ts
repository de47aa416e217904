import { clock, graceEnd, isOurs, ownerOf, pickWinners, statusKey } from './claims.js';
import {
  companionName,
  describeOwner,
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

export { namespaceOf, statusKey } from './claims.js';

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
