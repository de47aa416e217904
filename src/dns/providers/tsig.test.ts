import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  TsigError,
  TsigVerifier,
  parseTsig,
  parseTsigAlgorithm,
  signRequest,
  type TsigKey,
} from './tsig.js';
import { canonicalName, readName, recordSpans } from './tsig-wire.js';

/**
 * Exchanges recorded once from BIND 9 in the lab (an UPDATE, two queries, a five-message AXFR,
 * a DELETE), each signed by signRequest and answered by BIND: the vectors below are BIND's.
 */
interface Recorded {
  key: { name: string; algorithm: 'hmac-sha256'; secret: string };
  exchanges: { op: string; request: string; responses: string[] }[];
}
const fixture = JSON.parse(
  readFileSync(
    fileURLToPath(new URL('../../../test/fixtures/tsig-bind-exchanges.json', import.meta.url)),
    'utf8',
  ),
) as Recorded;
const key: TsigKey = {
  name: fixture.key.name,
  algorithm: fixture.key.algorithm,
  secret: Buffer.from(fixture.key.secret, 'base64'),
};
const b64 = (s: string) => Buffer.from(s, 'base64');

function timeOf(request: Buffer): number {
  const t = parseTsig(request);
  if (!t) throw new Error('request not signed');
  return t.time;
}

describe('signRequest against BIND', () => {
  it.each(fixture.exchanges.map((e) => [e.op, e] as const))(
    '%s: re-signing the unsigned request gives the bytes BIND accepted',
    (_op, e) => {
      const request = b64(e.request);
      const t = parseTsig(request);
      expect(t).toBeDefined();
      const again = signRequest(t!.unsigned, key, t!.time);
      expect(again.wire.equals(request)).toBe(true);
      expect(again.mac.equals(t!.mac)).toBe(true);
    },
  );
});

describe('TsigVerifier against BIND', () => {
  it.each(fixture.exchanges.map((e) => [e.op, e.responses.length, e] as const))(
    '%s (%i messages): every response verifies, chained from the request MAC',
    (_op, _n, e) => {
      const request = b64(e.request);
      const now = timeOf(request);
      const v = new TsigVerifier(key, parseTsig(request)!.mac, () => now);
      for (const r of e.responses) v.verify(b64(r));
      expect(() => v.finish()).not.toThrow();
    },
  );

  const axfr = fixture.exchanges.find((e) => e.responses.length > 1)!;
  const request = b64(axfr.request);
  const now = timeOf(request);
  const requestMac = parseTsig(request)!.mac;

  const cases: [string, (msgs: Buffer[]) => Buffer[], () => number, string][] = [
    [
      'a flipped byte in a later message',
      (m) => m.map((x, i) => (i === 2 ? flip(x, 20) : x)),
      () => now,
      'BADSIG',
    ],
    ['messages out of order', (m) => [m[0]!, m[2]!, m[1]!, ...m.slice(3)], () => now, 'BADSIG'],
    ['a clock 10 minutes ahead', (m) => m, () => now + 600, 'BADTIME'],
    ['the first message unsigned', (m) => [unsign(m[0]!), ...m.slice(1)], () => now, 'UNSIGNED'],
  ];
  it.each(cases)('refuses %s', (_what, mutate, clock, code) => {
    const v = new TsigVerifier(key, requestMac, clock);
    const err = (() => {
      try {
        for (const r of mutate(axfr.responses.map(b64))) v.verify(r);
        v.finish();
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(TsigError);
    expect((err as TsigError).code).toBe(code);
  });

  it('refuses a response to another request (wrong request MAC)', () => {
    const other = fixture.exchanges[0]!;
    const v = new TsigVerifier(key, requestMac, () => now);
    expect(() => v.verify(b64(other.responses[0]!))).toThrow(TsigError);
  });

  it('refuses the right response under another secret', () => {
    const wrong = { ...key, secret: Buffer.alloc(32, 7) };
    const v = new TsigVerifier(wrong, requestMac, () => now);
    expect(() => v.verify(b64(axfr.responses[0]!))).toThrow(/does not verify/);
  });

  it('takes unsigned messages between signed ones, but not a last one unsigned', () => {
    const msgs = axfr.responses.map(b64);
    const v = new TsigVerifier(key, requestMac, () => now);
    v.verify(msgs[0]!);
    v.verify(unsign(msgs[1]!));
    expect(() => v.finish()).toThrow(/unsigned/);
  });
});

describe('sign and verify round trip (every algorithm)', () => {
  it.each(['hmac-sha256', 'hmac-sha512', 'hmac-sha1'] as const)('%s', (algorithm) => {
    const k: TsigKey = { name: 'k.example', algorithm, secret: Buffer.from('s3cret') };
    const msg = Buffer.from('abcd000000010000000000000377777703636f6d0000010001', 'hex');
    const signed = signRequest(msg, k, 1_800_000_000);
    const t = parseTsig(signed.wire)!;
    expect(t.keyName).toBe('k.example');
    expect(t.algorithm).toBe(algorithm);
    expect(t.unsigned.equals(msg)).toBe(true);
    expect(signed.mac.length).toBe(
      { 'hmac-sha256': 32, 'hmac-sha512': 64, 'hmac-sha1': 20 }[algorithm],
    );
  });
});

describe('parseTsigAlgorithm', () => {
  it.each([
    ['hmac-sha256', 'hmac-sha256'],
    ['HMACSHA256', 'hmac-sha256'],
    ['hmac-sha512.', 'hmac-sha512'],
    ['HMACSHA1', 'hmac-sha1'],
    ['hmac-md5', undefined],
    ['', undefined],
  ])('%s → %s', (input, want) => expect(parseTsigAlgorithm(input)).toBe(want));
});

describe('wire helpers', () => {
  it('canonicalName lower-cases and terminates', () => {
    expect(canonicalName('Ab.C.').toString('hex')).toBe('0261620163' + '00');
  });
  it('readName follows compression pointers', () => {
    // header, question "a.b", answer name = pointer to offset 12
    const buf = Buffer.from(
      '000000000001000100000000' + '01610162' + '00' + '00010001' + 'c00c',
      'hex',
    );
    expect(readName(buf, 21)).toBe('a.b');
  });
  it('recordSpans refuses a truncated message', () => {
    const axfr = b64(fixture.exchanges.find((e) => e.op === 'axfr')!.responses[0]!);
    expect(recordSpans(axfr).length).toBeGreaterThan(1);
    expect(() => recordSpans(axfr.subarray(0, axfr.length - 5))).toThrow(/truncated/);
  });
});

function flip(buf: Buffer, at: number): Buffer {
  const b = Buffer.from(buf);
  b[at] = (b[at] as number) ^ 0xff;
  return b;
}

/** The message with its TSIG record taken off (as an unsigned message of a stream). */
function unsign(buf: Buffer): Buffer {
  const t = parseTsig(buf)!;
  const b = Buffer.from(t.unsigned);
  b.writeUInt16BE(buf.readUInt16BE(0), 0);
  return b;
}
