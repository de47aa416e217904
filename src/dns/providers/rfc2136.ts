/**
 * RFC 2136 dynamic updates behind DnsProvider, signed with TSIG (tsig.ts), for BIND and any
 * server that speaks them. Zones come from configuration (their id is their name); a zone is
 * read by AXFR (one signed transfer: every record set, as Route53's listing gives them); a
 * batch is one UPDATE message, applied atomically by the server, with prerequisites that make
 * CREATE and DELETE as safe as Route53's. A change is in sync once the server answered NOERROR:
 * the primary that took it is the server every later read asks.
 */
import { randomInt } from 'node:crypto';
import dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket } from 'dns-packet';
import type { Change, RecordSet, Zone } from '../types.js';
import type { DnsProvider } from './provider.js';
import { Rfc2136Error, describeRcode, fromTsigError, rcodes } from './rfc2136-errors.js';
import {
  normalizeName,
  queryMessage,
  soaZoneOf,
  toRecordSets,
  updateMessage,
} from './rfc2136-records.js';
import { TcpTransport, type DnsServer, type DnsTransport } from './rfc2136-transport.js';
import {
  TsigError,
  TsigVerifier,
  parseTsig,
  signRequest,
  tsigErrors,
  type TsigKey,
} from './tsig.js';

export interface Rfc2136Options {
  server: DnsServer;
  key: TsigKey;
  /**
   * The zones certroute may manage on this server (names, no trailing dot). Undefined: any
   * zone the server serves (the DNS-01 solver's, which finds the zone with findZone and is
   * bounded by what the server lets its key update).
   */
  zones?: string[];
  transport?: DnsTransport;
  /** Seconds since the epoch (TSIG time signed); Date.now() by default. */
  now?: () => number;
}

export class Rfc2136Provider implements DnsProvider {
  readonly zoneNoun = 'RFC 2136 zone (--rfc2136-zones)';
  private readonly transport: DnsTransport;
  private readonly now: () => number;
  private readonly zoneNames: string[] | undefined;

  get label(): string {
    const { host, port } = this.opts.server;
    return `the RFC 2136 server ${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  constructor(private readonly opts: Rfc2136Options) {
    this.transport = opts.transport ?? new TcpTransport(opts.server);
    this.now = opts.now ?? (() => Date.now() / 1000);
    this.zoneNames = opts.zones && [...new Set(opts.zones.map(normalizeName))];
  }

  zones(): Promise<Zone[]> {
    const names = this.zoneNames ?? [];
    return Promise.resolve(names.map((name) => ({ id: name, name, private: false })));
  }

  /**
   * The zone of this server that holds `name`, by one signed SOA query: the SOA comes back as
   * the answer at the apex, else in the authority section of the (authoritative) NODATA or
   * NXDOMAIN. Undefined when the server holds no zone above the name (REFUSED, a referral).
   */
  async findZone(name: string): Promise<string | undefined> {
    const n = normalizeName(name);
    const ctx = { op: 'SOA query', zone: n };
    let packets: DecodedPacket[];
    try {
      packets = await this.exchange(ctx.op, ctx.zone, queryMessage(0, n, 'SOA'), () => true, [
        'NXDOMAIN',
      ]);
    } catch (err) {
      if (err instanceof Rfc2136Error && (err.code === 'REFUSED' || err.code === 'NOTAUTH'))
        return undefined;
      throw err;
    }
    const first = packets[0];
    return first ? soaZoneOf(n, first) : undefined;
  }

  /** The whole zone by one AXFR (every message TSIG-verified); the closing SOA is dropped. */
  async records(zoneId: string): Promise<RecordSet[]> {
    const zone = this.zoneOf(zoneId);
    let soas = 0;
    const packets = await this.exchange('transfer', zone, queryMessage(0, zone, 'AXFR'), (msg) => {
      // The transfer ends with the SOA it began with (RFC 5936 §2.2).
      const p = dnsPacket.decode(msg);
      soas += (p.answers ?? []).filter((a) => a.type === 'SOA').length;
      return soas >= 2;
    });
    const answers = answersOf(packets);
    const all: Answer[] = [];
    let seenSoa = false;
    for (const a of answers) {
      if (a.type === 'SOA') {
        if (seenSoa) continue;
        seenSoa = true;
      }
      all.push(a);
    }
    return toRecordSets(all);
  }

  async recordSet(zoneId: string, name: string, type: string): Promise<RecordSet | undefined> {
    const zone = this.zoneOf(zoneId);
    const n = normalizeName(name);
    const packets = await this.exchange('query', zone, queryMessage(0, n, type), () => true, [
      'NXDOMAIN',
    ]);
    const answers = answersOf(packets);
    return toRecordSets(answers.filter((a) => normalizeName(a.name) === n && a.type === type))[0];
  }

  async applyChanges(zoneId: string, changes: Change[]): Promise<string> {
    const zone = this.zoneOf(zoneId);
    const id = randomInt(0, 0x10000);
    await this.exchange('update', zone, updateMessage(id, zone, changes), () => true);
    return `${zone}/${id}/${Math.floor(this.now())}`;
  }

  /** The server answered NOERROR before applyChanges resolved: nothing is left to wait for. */
  isInSync(): Promise<boolean> {
    return Promise.resolve(true);
  }

  private zoneOf(zoneId: string): string {
    const z = normalizeName(zoneId);
    if (this.zoneNames && !this.zoneNames.includes(z))
      throw new Rfc2136Error('NOTZONE', `zone ${zoneId} is not configured for RFC 2136`);
    return z;
  }

  /**
   * Signs a message with a fresh id, sends it, verifies every response's TSIG and rcode, and
   * returns the responses, decoded. `allowed`: rcodes besides NOERROR that are an answer.
   */
  private async exchange(
    op: string,
    zone: string,
    message: Buffer,
    done: (msg: Buffer) => boolean,
    allowed: string[] = [],
  ): Promise<DecodedPacket[]> {
    const ctx = {
      op,
      zone,
      key: this.opts.key.name,
      server: `${this.opts.server.host}:${this.opts.server.port}`,
    };
    const msg = Buffer.from(message);
    const id = randomInt(0, 0x10000);
    msg.writeUInt16BE(id, 0);
    const signed = signRequest(msg, this.opts.key, this.now());
    const verifier = new TsigVerifier(this.opts.key, signed.mac, this.now);
    let responses: Buffer[];
    try {
      responses = await this.transport.exchange(signed.wire, (res) => {
        if (res.readUInt16BE(0) !== id)
          throw new Rfc2136Error('FORMERR', `${op}: response id mismatch`);
        const rcode = rcodes[res.readUInt16BE(2) & 0xf] ?? 'UNKNOWN';
        if (rcode !== 'NOERROR' && !allowed.includes(rcode)) {
          // A refused signature comes back as NOTAUTH with the TSIG error, itself unsigned.
          const tsigError = parseTsig(res)?.error ?? 0;
          const code = tsigError !== 0 ? (tsigErrors[tsigError] ?? rcode) : rcode;
          throw new Rfc2136Error(code, describeRcode(code, ctx));
        }
        verifier.verify(res);
        return done(res);
      });
    } catch (err) {
      if (err instanceof TsigError) throw fromTsigError(err, ctx);
      throw err;
    }
    verifier.finish();
    return responses.map((r) => dnsPacket.decode(r));
  }
}

function answersOf(packets: readonly DecodedPacket[]): Answer[] {
  return packets.flatMap((p) => p.answers ?? []);
}

/** The SOA serial of a zone's answers (for tests and logs). */
export function soaSerial(sets: RecordSet[]): number | undefined {
  const soa = sets.find((s) => s.type === 'SOA');
  const serial = soa?.values[0]?.split(' ')[2];
  return serial === undefined ? undefined : Number(serial);
}
