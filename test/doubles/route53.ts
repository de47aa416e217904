/**
 * Route53 in memory, at the SDK's level (`client.send(command)`), strict where Route53 is
 * strict, so unit tests of the provider, the batching and DNS-01 meet the refusals the real
 * service makes:
 *
 * - a batch over 1,000 ResourceRecords or 32,000 value characters (an UPSERT counts twice);
 * - a DELETE whose TTL, values or alias do not match the existing set exactly;
 * - a DELETE of a set that does not exist; a CREATE of a set that exists;
 * - a name outside the zone, a TXT value without quotes, a set with no values, a CNAME beside
 *   another type;
 * - and one bad change rejects the whole batch with InvalidChangeBatch: nothing is applied.
 *
 * Listings page as Route53 does (100 zones, 300 record sets at most per call) and GetChange
 * answers PENDING until the change has been polled `pollsUntilInSync` times.
 */
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListHostedZonesCommand,
  ListResourceRecordSetsCommand,
  type Change,
  type ResourceRecordSet,
  type Route53Client,
} from '@aws-sdk/client-route-53';

interface HostedZone {
  id: string;
  name: string;
  private: boolean;
  sets: Map<string, ResourceRecordSet>;
}

export const recordLimit = 1000;
export const valueCharLimit = 32_000;

/** An error shaped as the SDK throws Route53's: a name, a message and an HTTP status. */
export class Route53Error extends Error {
  readonly $metadata: { httpStatusCode: number };
  constructor(
    override readonly name: string,
    message: string,
    status = 400,
  ) {
    super(message);
    this.$metadata = { httpStatusCode: status };
  }
}

export class Route53Double {
  readonly calls: string[] = [];
  /** GetChange polls a change needs before it reports INSYNC. */
  pollsUntilInSync = 1;
  /** Called after every accepted change batch (the lab DNS server's cache, say). */
  onChange: (() => void) | undefined;
  private readonly zones = new Map<string, HostedZone>();
  private readonly changes = new Map<string, number>();
  private nextChange = 0;

  /** What Route53Provider takes as `client`. */
  get client(): Route53Client {
    const send = (command: unknown) => this.send(command);
    return { send, middlewareStack: { add: () => undefined } } as unknown as Route53Client;
  }

  addZone(id: string, name: string, opts: { private?: boolean } = {}): void {
    this.zones.set(id, { id, name: fqdn(name), private: opts.private ?? false, sets: new Map() });
  }

  /** The set as stored (names fully qualified, `*` as `\052`), or undefined. */
  get(zoneId: string, name: string, type: string): ResourceRecordSet | undefined {
    return this.zone(zoneId).sets.get(setKey(storedName(name), type));
  }

  /** Every set of a zone, in Route53's order. */
  sets(zoneId: string): ResourceRecordSet[] {
    return sorted([...this.zone(zoneId).sets.values()]);
  }

  send(command: unknown): Promise<unknown> {
    try {
      return Promise.resolve(this.dispatch(command));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private dispatch(command: unknown): unknown {
    if (command instanceof ListHostedZonesCommand) return this.listZones(command.input);
    if (command instanceof ListResourceRecordSetsCommand) return this.listSets(command.input);
    if (command instanceof ChangeResourceRecordSetsCommand) return this.change(command.input);
    if (command instanceof GetChangeCommand) return this.getChange(command.input.Id ?? '');
    throw new Error(`the Route53 double does not implement ${String(command)}`);
  }

  private listZones(input: ListHostedZonesCommand['input']) {
    this.calls.push('ListHostedZones');
    const all = [...this.zones.values()].sort((a, b) => a.id.localeCompare(b.id));
    const max = Math.min(Number(input.MaxItems ?? 100), 100);
    const start = input.Marker ? all.findIndex((z) => z.id === input.Marker) : 0;
    const page = all.slice(Math.max(0, start), Math.max(0, start) + max);
    const next = all[Math.max(0, start) + max];
    return {
      HostedZones: page.map((z) => ({
        Id: `/hostedzone/${z.id}`,
        Name: z.name,
        CallerReference: z.id,
        Config: { PrivateZone: z.private },
      })),
      IsTruncated: next !== undefined,
      ...(next ? { NextMarker: next.id } : {}),
      MaxItems: max,
    };
  }

  private listSets(input: ListResourceRecordSetsCommand['input']) {
    this.calls.push('ListResourceRecordSets');
    const all = this.sets(input.HostedZoneId ?? '');
    const max = Math.min(Number(input.MaxItems ?? 300), 300);
    let start = 0;
    if (input.StartRecordName) {
      const from = sortKey(storedName(input.StartRecordName), input.StartRecordType ?? '');
      start = all.findIndex((s) => sortKey(s.Name ?? '', s.Type ?? '') >= from);
      if (start === -1) start = all.length;
    }
    const page = all.slice(start, start + max);
    const next = all[start + max];
    return {
      ResourceRecordSets: page.map((s) => structuredClone(s)),
      IsTruncated: next !== undefined,
      ...(next ? { NextRecordName: next.Name, NextRecordType: next.Type } : {}),
      MaxItems: max,
    };
  }

  private change(input: ChangeResourceRecordSetsCommand['input']) {
    this.calls.push('ChangeResourceRecordSets');
    const zone = this.zone(input.HostedZoneId ?? '');
    const changes = input.ChangeBatch?.Changes ?? [];
    checkLimits(changes);
    // Every change is checked against the state the earlier ones leave; only a batch that
    // passes as a whole is applied.
    const next = new Map(zone.sets);
    for (const c of changes) apply(zone, next, c);
    zone.sets.clear();
    for (const [k, v] of next) zone.sets.set(k, v);
    const id = `C${++this.nextChange}`;
    this.changes.set(id, 0);
    this.onChange?.();
    return { ChangeInfo: { Id: `/change/${id}`, Status: 'PENDING', SubmittedAt: new Date() } };
  }

  private getChange(rawId: string) {
    this.calls.push('GetChange');
    const id = rawId.replace(/^\/change\//, '');
    const polls = this.changes.get(id);
    if (polls === undefined) throw new Route53Error('NoSuchChange', `no change ${rawId}`, 404);
    this.changes.set(id, polls + 1);
    const status = polls + 1 >= this.pollsUntilInSync ? 'INSYNC' : 'PENDING';
    return { ChangeInfo: { Id: `/change/${id}`, Status: status, SubmittedAt: new Date() } };
  }

  private zone(id: string): HostedZone {
    const z = this.zones.get(id.replace(/^\/hostedzone\//, ''));
    if (!z) throw new Route53Error('NoSuchHostedZone', `No hosted zone found with ID: ${id}`, 404);
    return z;
  }
}

function invalid(message: string): Route53Error {
  return new Route53Error('InvalidChangeBatch', message);
}

/** Route53 counts an UPSERT as a DELETE and a CREATE, against both limits. */
function checkLimits(changes: Change[]): void {
  let records = 0;
  let chars = 0;
  for (const c of changes) {
    const factor = c.Action === 'UPSERT' ? 2 : 1;
    const rs = c.ResourceRecordSet;
    const values = rs?.AliasTarget
      ? [rs.AliasTarget.DNSName ?? '']
      : (rs?.ResourceRecords ?? []).map((r) => r.Value ?? '');
    records += factor * Math.max(1, values.length);
    chars += factor * values.reduce((n, v) => n + v.length, 0);
  }
  if (records > recordLimit)
    throw invalid(`[Number of records limit of ${recordLimit} exceeded: ${records}]`);
  if (chars > valueCharLimit)
    throw invalid(`[Number of characters limit of ${valueCharLimit} exceeded: ${chars}]`);
}

function apply(zone: HostedZone, sets: Map<string, ResourceRecordSet>, c: Change): void {
  const rs = c.ResourceRecordSet;
  if (!rs?.Name || !rs.Type) throw invalid('a change names no record set');
  const name = storedName(rs.Name);
  const what = `[name='${name}', type='${rs.Type}'${rs.SetIdentifier ? `, set-identifier='${rs.SetIdentifier}'` : ''}]`;
  if (name !== zone.name && !name.endsWith(`.${zone.name}`))
    throw invalid(`[RRSet with DNS name ${name} is not permitted in zone ${zone.name}]`);
  const key = setKey(name, rs.Type, rs.SetIdentifier);
  const existing = sets.get(key);
  const stored: ResourceRecordSet = { ...structuredClone(rs), Name: name };
  switch (c.Action) {
    case 'DELETE':
      if (!existing)
        throw invalid(`[Tried to delete resource record set ${what} but it was not found]`);
      if (!sameSet(existing, stored))
        throw invalid(
          `[Tried to delete resource record set ${what} but the values provided do not match the current values]`,
        );
      sets.delete(key);
      return;
    case 'CREATE':
      if (existing)
        throw invalid(`[Tried to create resource record set ${what} but it already exists]`);
      break;
    case 'UPSERT':
      break;
    default:
      throw invalid(`[unknown action ${String(c.Action)}]`);
  }
  checkSet(stored, what);
  checkCnameConflict(sets, stored, key);
  sets.set(key, stored);
}

function checkSet(rs: ResourceRecordSet, what: string): void {
  if (rs.AliasTarget) {
    if (rs.TTL !== undefined || rs.ResourceRecords?.length)
      throw invalid(`[An alias record set ${what} cannot have a TTL or resource records]`);
    return;
  }
  const values = rs.ResourceRecords ?? [];
  if (values.length === 0 || rs.TTL === undefined)
    throw invalid(`[Record set ${what} needs a TTL and at least one resource record]`);
  if (rs.Type === 'TXT')
    for (const v of values)
      if (!/^".*"$/s.test(v.Value ?? ''))
        throw invalid(
          `[Invalid Resource Record: 'FATAL problem: InvalidCharacterString (Value should be enclosed in quotation marks) encountered with '${v.Value}'']`,
        );
}

function checkCnameConflict(
  sets: Map<string, ResourceRecordSet>,
  rs: ResourceRecordSet,
  key: string,
): void {
  for (const [k, other] of sets) {
    if (k === key || other.Name !== rs.Name) continue;
    if (rs.Type === 'CNAME' || other.Type === 'CNAME')
      throw invalid(
        `[RRSet of type ${rs.Type} with DNS name ${rs.Name} is not permitted because a conflicting RRSet of type ${other.Type} with the same DNS name already exists in zone]`,
      );
  }
}

/** A DELETE must name the set exactly as it is: TTL, every value, the alias. */
function sameSet(a: ResourceRecordSet, b: ResourceRecordSet): boolean {
  const values = (s: ResourceRecordSet) => (s.ResourceRecords ?? []).map((r) => r.Value ?? '');
  const alias = (s: ResourceRecordSet) =>
    s.AliasTarget
      ? `${s.AliasTarget.HostedZoneId}|${storedName(s.AliasTarget.DNSName ?? '')}|${String(s.AliasTarget.EvaluateTargetHealth)}`
      : '';
  return (
    a.TTL === b.TTL &&
    alias(a) === alias(b) &&
    JSON.stringify(values(a).sort()) === JSON.stringify(values(b).sort())
  );
}

function fqdn(n: string): string {
  return n.endsWith('.') ? n.toLowerCase() : `${n.toLowerCase()}.`;
}

/** As Route53 stores a name: lower case, fully qualified, a leading `*` as `\052`. */
function storedName(n: string): string {
  return fqdn(n).replace(/^\*\./, '\\052.');
}

function setKey(name: string, type: string, setId?: string): string {
  return `${name}|${type}|${setId ?? ''}`;
}

/** Route53 lists by name with its labels reversed (the zone apex first), then by type. */
function sortKey(name: string, type: string): string {
  return `${name.replace(/\.$/, '').split('.').reverse().join('.')}\u0000${type}`;
}

function sorted(sets: ResourceRecordSet[]): ResourceRecordSet[] {
  const key = (s: ResourceRecordSet) => sortKey(s.Name ?? '', s.Type ?? '');
  return sets.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}
