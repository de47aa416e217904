/**
 * TSIG (RFC 8945), by hand: a request is signed by appending one TSIG record (HMAC over the
 * message and the TSIG variables); a response is verified against the request's MAC, and each
 * further message of a multi-message answer (AXFR) against the MAC before it, with only the
 * timers in the digest (§5.3.1). Messages are encoded by dns-packet; this works on their bytes.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { canonicalName, readName, recordSpans } from './tsig-wire.js';

export type TsigAlgorithm = 'hmac-sha256' | 'hmac-sha512' | 'hmac-sha1';

export interface TsigKey {
  /** The key's name, as the server knows it (no trailing dot). */
  name: string;
  algorithm: TsigAlgorithm;
  secret: Buffer;
}

const hashOf: Record<TsigAlgorithm, string> = {
  'hmac-sha256': 'sha256',
  'hmac-sha512': 'sha512',
  'hmac-sha1': 'sha1',
};

const TYPE_TSIG = 250;
const CLASS_ANY = 255;
/** RFC 8945 §10: 300 s is the recommended fudge. */
export const DEFAULT_FUDGE = 300;
/** Unsigned messages allowed between two signed ones of a multi-message answer (§5.3.1). */
const MAX_UNSIGNED = 99;

/** TSIG error codes (RFC 8945 §3, RFC 2845). */
export const tsigErrors: Record<number, string> = {
  16: 'BADSIG',
  17: 'BADKEY',
  18: 'BADTIME',
  22: 'BADTRUNC',
};

/**
 * Accepts the names certroute, BIND and cert-manager use: `hmac-sha256`, `HMACSHA256`,
 * `hmac-sha256.`. Undefined for anything else (HMAC-MD5 is not offered: RFC 8945 §6).
 */
export function parseTsigAlgorithm(s: string): TsigAlgorithm | undefined {
  const n = s
    .toLowerCase()
    .replace(/\.$/, '')
    .replace(/^hmac-?/, '');
  if (n === 'sha256') return 'hmac-sha256';
  if (n === 'sha512') return 'hmac-sha512';
  if (n === 'sha1') return 'hmac-sha1';
  return undefined;
}

/** A TSIG failure: a signature the server or we refused, or a response that is not signed. */
export class TsigError extends Error {
  override name = 'TsigError';
  constructor(
    /** BADSIG, BADKEY, BADTIME, BADTRUNC (from the server's TSIG), or UNSIGNED, FORMERR. */
    readonly code: string,
    message: string,
    /** True when the server refused our signature; false when we refused its. */
    readonly byServer: boolean,
  ) {
    super(message);
  }
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function u48(n: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUIntBE(n, 0, 6);
  return b;
}

function hmac(key: TsigKey, parts: Buffer[]): Buffer {
  const h = createHmac(hashOf[key.algorithm], key.secret);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** The timers: time signed (48 bits) and fudge. */
function timers(time: number, fudge: number): Buffer {
  return Buffer.concat([u48(time), u16(fudge)]);
}

/** TSIG variables (§4.3.3) with error 0 and no other data, as a request sends them. */
function variables(
  key: TsigKey,
  time: number,
  fudge: number,
  error = 0,
  other: Buffer = Buffer.alloc(0),
): Buffer {
  return Buffer.concat([
    canonicalName(key.name),
    u16(CLASS_ANY),
    Buffer.alloc(4), // TTL 0
    canonicalName(key.algorithm),
    timers(time, fudge),
    u16(error),
    u16(other.length),
    other,
  ]);
}

export interface SignedRequest {
  wire: Buffer;
  mac: Buffer;
}

/**
 * Signs a message (encoded, without TSIG): returns it with the TSIG record appended and the
 * additional count raised, and the MAC the response is verified against. `now` in seconds.
 */
export function signRequest(
  message: Buffer,
  key: TsigKey,
  now: number,
  fudge = DEFAULT_FUDGE,
): SignedRequest {
  const time = Math.floor(now);
  const mac = hmac(key, [message, variables(key, time, fudge)]);
  const rdata = Buffer.concat([
    canonicalName(key.algorithm),
    timers(time, fudge),
    u16(mac.length),
    mac,
    message.subarray(0, 2), // original id
    u16(0),
    u16(0),
  ]);
  const rr = Buffer.concat([
    canonicalName(key.name),
    u16(TYPE_TSIG),
    u16(CLASS_ANY),
    Buffer.alloc(4),
    u16(rdata.length),
    rdata,
  ]);
  const wire = Buffer.concat([message, rr]);
  wire.writeUInt16BE(message.readUInt16BE(10) + 1, 10);
  return { wire, mac };
}

interface ParsedTsig {
  keyName: string;
  algorithm: string;
  time: number;
  fudge: number;
  mac: Buffer;
  originalId: number;
  error: number;
  other: Buffer;
  /** The message as it was before the TSIG record was added. */
  unsigned: Buffer;
}

/** The TSIG record of a message, or undefined if its last record is not one. */
export function parseTsig(buf: Buffer): ParsedTsig | undefined {
  const spans = recordSpans(buf);
  const last = spans[spans.length - 1];
  if (!last || last.type !== TYPE_TSIG || buf.readUInt16BE(10) === 0) return undefined;
  let i = last.rdata;
  const end = last.rdata + last.rdlength;
  const algorithm = readName(buf, i);
  while (buf[i] !== 0) i += (buf[i] as number) + 1;
  i += 1;
  if (i + 10 > end) throw new TsigError('FORMERR', 'TSIG record truncated', false);
  const time = buf.readUIntBE(i, 6);
  const fudge = buf.readUInt16BE(i + 6);
  const macSize = buf.readUInt16BE(i + 8);
  i += 10;
  const mac = buf.subarray(i, i + macSize);
  i += macSize;
  if (i + 6 > end) throw new TsigError('FORMERR', 'TSIG record truncated', false);
  const originalId = buf.readUInt16BE(i);
  const error = buf.readUInt16BE(i + 2);
  const otherLen = buf.readUInt16BE(i + 4);
  const other = buf.subarray(i + 6, i + 6 + otherLen);
  const unsigned = Buffer.from(buf.subarray(0, last.start));
  unsigned.writeUInt16BE(originalId, 0);
  unsigned.writeUInt16BE(buf.readUInt16BE(10) - 1, 10);
  return {
    keyName: readName(buf, last.start),
    algorithm,
    time,
    fudge,
    mac,
    originalId,
    error,
    other,
    unsigned,
  };
}

/**
 * Verifies the responses to one signed request, in the order they arrive: the first against
 * the request's MAC, each later one against the MAC before it. Messages of a multi-message
 * answer may come unsigned (at most 99 in a row); `finish()` then checks the last was signed.
 */
export class TsigVerifier {
  private priorMac: Buffer;
  private first = true;
  private pending: Buffer[] = [];

  constructor(
    private readonly key: TsigKey,
    requestMac: Buffer,
    private readonly now: () => number,
  ) {
    this.priorMac = requestMac;
  }

  verify(response: Buffer): void {
    const t = parseTsig(response);
    if (!t) {
      if (this.first)
        throw new TsigError('UNSIGNED', 'the server answered a signed request unsigned', false);
      if (this.pending.length >= MAX_UNSIGNED)
        throw new TsigError('UNSIGNED', `more than ${MAX_UNSIGNED} unsigned messages`, false);
      this.pending.push(response);
      return;
    }
    if (t.error !== 0) {
      const code = tsigErrors[t.error] ?? `TSIG error ${t.error}`;
      throw new TsigError(code, `the server refused the TSIG signature (${code})`, true);
    }
    if (t.keyName !== this.key.name.toLowerCase().replace(/\.$/, ''))
      throw new TsigError('BADKEY', `the response is signed with key ${t.keyName}`, false);
    if (t.algorithm !== this.key.algorithm)
      throw new TsigError('BADKEY', `the response is signed with ${t.algorithm}`, false);
    const digest = this.first
      ? [
          u16(this.priorMac.length),
          this.priorMac,
          t.unsigned,
          variables(this.key, t.time, t.fudge, t.error, t.other),
        ]
      : [
          u16(this.priorMac.length),
          this.priorMac,
          ...this.pending,
          t.unsigned,
          timers(t.time, t.fudge),
        ];
    const expected = hmac(this.key, digest);
    if (t.mac.length !== expected.length || !timingSafeEqual(Buffer.from(t.mac), expected))
      throw new TsigError('BADSIG', 'the response MAC does not verify with the key', false);
    if (Math.abs(this.now() - t.time) > t.fudge)
      throw new TsigError(
        'BADTIME',
        `the response was signed at ${t.time}, outside the fudge of ${t.fudge} s`,
        false,
      );
    this.priorMac = Buffer.from(t.mac);
    this.pending = [];
    this.first = false;
  }

  /** After the last message of an answer: it must have been signed. */
  finish(): void {
    if (this.first || this.pending.length > 0)
      throw new TsigError('UNSIGNED', 'the last message of the answer is unsigned', false);
  }
}
