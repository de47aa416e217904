/**
 * Claims, the first step of a plan (pure): which namespace holds each name, and which claim
 * wins each record. A name belongs to the namespace that published it first, as recorded in our
 * TXT companions; a claim outlives its source for the grace period.
 */
import { companionName, externalDnsCompanionNames, ownerOfTxt, type Owner } from './registry.js';
import type { PlanInput, RecordStatus } from './plan.js';
import { recordKey, type DesiredRecord, type RecordSet } from './types.js';

export function statusKey(resource: string, name: string, type: string): string {
  return `${resource}|${name}|${type}`;
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
export function pickWinners(
  input: PlanInput,
  statuses: Map<string, RecordStatus>,
): DesiredRecord[] {
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

/** The plan's clock (ms since the epoch). */
export function clock(input: PlanInput): number {
  return input.now ?? 0;
}

/** When the grace period of an unwanted record ends (ms); unwanted from now if not seen yet. */
export function graceEnd(input: PlanInput, key: string): number {
  const since = input.unwantedSince?.get(key) ?? clock(input);
  return since + (input.gracePeriodMs ?? 0);
}

export function isOurs(o: Owner | undefined, ownerId: string): boolean {
  return o?.heritage === 'certroute' && o.owner === ownerId;
}

/** Who owns (name, type): our companion first, then external-dns's companions. */
export function ownerOf(
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
