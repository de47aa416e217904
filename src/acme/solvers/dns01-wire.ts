import dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import { lookup, Resolver } from 'node:dns/promises';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import type { DecodedPacket, Packet } from 'dns-packet';
import type { AuthorityDns, NsAnswer, TxtAnswer } from './dns01-authority.js';

const TIMEOUT_MS = 2000;
/** What we advertise via EDNS: big enough for many challenge values in one TXT set. */
const EDNS_UDP_SIZE = 1232;

/** c-ares codes that mean "no such name" or "no such record": not a failure. */
const NEGATIVE = new Set(['ENODATA', 'ENOTFOUND']);

/**
 * AuthorityDns over the network: NS and address lookups through the configured recursive
 * resolvers (Node's resolver, all of them as one), TXT queries straight to each authoritative
 * address on `port` with dns-packet, because Node's resolver always asks for recursion and
 * hides the AA bit, and an answer without authority proves nothing here.
 */
export class WireAuthorityDns implements AuthorityDns {
  constructor(
    private readonly resolvers: readonly string[],
    private readonly port: number,
  ) {}

  private resolver(): Resolver {
    // A fresh one per lookup: no answer is reused from a cache between polls.
    const r = new Resolver({ timeout: TIMEOUT_MS, tries: 1 });
    if (this.resolvers.length > 0) r.setServers([...this.resolvers]);
    return r;
  }

  async ns(name: string): Promise<NsAnswer> {
    try {
      return { kind: 'ns', hosts: await this.resolver().resolveNs(name) };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (NEGATIVE.has(code)) return { kind: 'none' };
      return { kind: 'error', message: code || String(err) };
    }
  }

  async addresses(host: string): Promise<string[]> {
    const r = this.resolver();
    const v4 = await r.resolve4(host).catch((): string[] => []);
    if (v4.length > 0) return v4;
    return r.resolve6(host).catch((): string[] => []);
  }

  async lookup(host: string): Promise<string[]> {
    const all = await lookup(host, { all: true }).catch(() => []);
    const v4 = all.filter((a) => a.family === 4).map((a) => a.address);
    return v4.length > 0 ? v4 : all.map((a) => a.address);
  }

  txt(address: string, name: string, port?: number): Promise<TxtAnswer> {
    return queryTxt(address, port ?? this.port, name);
  }
}

/** One non-recursive TXT query over UDP (EDNS), repeated over TCP when truncated. */
export async function queryTxt(
  address: string,
  port: number,
  name: string,
  timeoutMs = TIMEOUT_MS,
): Promise<TxtAnswer> {
  const query: Packet = {
    type: 'query',
    id: randomInt(0, 0x10000),
    // No RECURSION_DESIRED: the server answers from its own zones, or not at all.
    flags: 0,
    questions: [{ type: 'TXT', name }],
    additionals: [
      {
        type: 'OPT',
        name: '.',
        udpPayloadSize: EDNS_UDP_SIZE,
        extendedRcode: 0,
        ednsVersion: 0,
        flags: 0,
        flag_do: false,
        options: [],
      },
    ],
  };
  try {
    let res = await udpExchange(address, port, query, timeoutMs);
    if (res.flag_tc) res = await tcpExchange(address, port, query, timeoutMs);
    return toTxtAnswer(res, name);
  } catch (err) {
    return { kind: 'error', message: err instanceof Error ? err.message : String(err) };
  }
}

/** The TXT strings at `name` in a response, each record's strings joined. */
export function toTxtAnswer(res: DecodedPacket, name: string): TxtAnswer {
  const want = name.toLowerCase().replace(/\.+$/, '');
  const values = (res.answers ?? []).flatMap((a) => {
    if (a.type !== 'TXT' || a.name.toLowerCase().replace(/\.+$/, '') !== want) return [];
    const data: (string | Buffer)[] = Array.isArray(a.data) ? a.data : [a.data];
    return [data.map((d) => d.toString()).join('')];
  });
  return {
    kind: 'answer',
    rcode: (res as DecodedPacket & { rcode?: string }).rcode ?? 'NOERROR',
    authoritative: res.flag_aa,
    values,
  };
}

function udpExchange(
  address: string,
  port: number,
  query: Packet,
  timeoutMs: number,
): Promise<DecodedPacket> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket(net.isIPv6(address) ? 'udp6' : 'udp4');
    let finished = false;
    const done = (fn: () => void) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      sock.close();
      fn();
    };
    const timer = setTimeout(
      () => done(() => reject(new Error(`no answer within ${timeoutMs} ms`))),
      timeoutMs,
    );
    sock.on('error', (err) => done(() => reject(err)));
    sock.on('message', (msg, peer) => {
      // Only the server asked, with our id, may answer (no spoofed or stray datagrams).
      if (peer.address !== address || peer.port !== port) return;
      let res: DecodedPacket;
      try {
        res = dnsPacket.decode(msg);
      } catch {
        return;
      }
      if (res.id !== query.id || res.type !== 'response') return;
      done(() => resolve(res));
    });
    sock.send(dnsPacket.encode(query), port, address, (err) => {
      if (err) done(() => reject(err));
    });
  });
}

function tcpExchange(
  address: string,
  port: number,
  query: Packet,
  timeoutMs: number,
): Promise<DecodedPacket> {
  return new Promise((resolve, reject) => {
    const conn = net.connect({ host: address, port });
    let buf: Buffer = Buffer.alloc(0);
    let finished = false;
    const done = (fn: () => void) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      conn.destroy();
      fn();
    };
    const timer = setTimeout(
      () => done(() => reject(new Error(`no TCP answer within ${timeoutMs} ms`))),
      timeoutMs,
    );
    conn.on('error', (err) => done(() => reject(err)));
    conn.on('connect', () => conn.write(dnsPacket.streamEncode(query)));
    conn.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length < 2 || buf.length < buf.readUInt16BE(0) + 2) return;
      try {
        // streamDecode decodes the same header as decode; its types only say Packet.
        const res = dnsPacket.streamDecode(
          buf.subarray(0, buf.readUInt16BE(0) + 2),
        ) as DecodedPacket;
        if (res.id !== query.id) throw new Error('answer for another query');
        done(() => resolve(res));
      } catch (err) {
        done(() => reject(err instanceof Error ? err : new Error(String(err))));
      }
    });
    conn.on('end', () => done(() => reject(new Error('connection closed before an answer'))));
  });
}
