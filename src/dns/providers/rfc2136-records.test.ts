import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import type { Change } from '../types.js';
import { InvalidBatchError } from './provider.js';
import {
  formatTxtValue,
  parseTxtValue,
  soaZoneOf,
  toRecordSets,
  updateMessage,
} from './rfc2136-records.js';
import { recordSpans } from './tsig-wire.js';

describe('TXT values', () => {
  it.each([
    ['"a b"', ['a b']],
    ['"a" "b"', ['a', 'b']],
    ['"say \\"hi\\""', ['say "hi"']],
    ['"back\\\\slash"', ['back\\slash']],
    ['"\\255"', ['\xff']],
    ['bare', ['bare']],
  ])('%s round-trips', (value, strings) => {
    const parsed = parseTxtValue(value);
    expect(parsed.map((b) => b.toString('latin1'))).toEqual(strings);
    if (value.startsWith('"')) expect(formatTxtValue(parsed)).toBe(value);
  });
  it.each(['"open', '"a" x', `"${'x'.repeat(256)}"`])('refuses %s', (value) => {
    expect(() => parseTxtValue(value)).toThrow(InvalidBatchError);
  });
});

describe('toRecordSets', () => {
  it('groups answers by name and type, normalised', () => {
    const sets = toRecordSets([
      { name: 'WWW.example.test', type: 'A', ttl: 60, data: '10.0.0.1' },
      { name: 'www.example.test', type: 'A', ttl: 60, data: '10.0.0.2' },
      { name: 'a-www.example.test', type: 'TXT', ttl: 60, data: [Buffer.from('x=1')] },
      { name: 'c.example.test', type: 'CNAME', ttl: 60, data: 'Target.Example.' },
    ]);
    expect(sets).toEqual([
      { name: 'www.example.test', type: 'A', ttl: 60, values: ['10.0.0.1', '10.0.0.2'] },
      { name: 'a-www.example.test', type: 'TXT', ttl: 60, values: ['"x=1"'] },
      { name: 'c.example.test', type: 'CNAME', ttl: 60, values: ['target.example'] },
    ]);
  });
});

describe('updateMessage', () => {
  const rec = (name: string, type: string, values: string[]) => ({ name, type, ttl: 60, values });
  const decode = (changes: Change[]) => {
    const msg = updateMessage(7, 'example.test', changes);
    // Walked by hand: dns-packet cannot read empty A rdata (class NONE/ANY) back.
    const spans = recordSpans(msg);
    const np = msg.readUInt16BE(6);
    const klass = spans.map((r) => r.klass);
    const zone = dnsPacket.decode(
      Buffer.concat([
        msg.subarray(0, 4),
        Buffer.from('0001000000000000', 'hex'),
        msg.subarray(12, spans[0]?.start),
      ]),
    );
    return { msg, zone, prereqClasses: klass.slice(0, np), updateClasses: klass.slice(np) };
  };

  it('is opcode UPDATE with the zone SOA as its zone section', () => {
    const { msg, zone } = decode([
      { action: 'UPSERT', record: rec('www.example.test', 'A', ['10.0.0.1']) },
    ]);
    expect((msg.readUInt16BE(2) >> 11) & 0xf).toBe(5);
    expect(zone.questions).toEqual([{ name: 'example.test', type: 'SOA', class: 'IN' }]);
  });

  it.each<[string, Change, number[], number[]]>([
    // CREATE: "RRset does not exist" (NONE), then the adds (IN).
    [
      'CREATE',
      { action: 'CREATE', record: rec('w.example.test', 'A', ['10.0.0.1', '10.0.0.2']) },
      [254],
      [1, 1],
    ],
    // UPSERT: delete the RRset (ANY), then the adds.
    ['UPSERT', { action: 'UPSERT', record: rec('w.example.test', 'TXT', ['"v"']) }, [], [255, 1]],
    // DELETE: "RRset exists with these values" (IN, one per value), then delete the RRset.
    [
      'DELETE',
      { action: 'DELETE', record: rec('w.example.test', 'A', ['10.0.0.1', '10.0.0.2']) },
      [1, 1],
      [255],
    ],
  ])('%s: prerequisites and updates by class', (_a, change, prereqs, updates) => {
    const d = decode([change]);
    expect(d.prereqClasses).toEqual(prereqs);
    expect(d.updateClasses).toEqual(updates);
  });

  it.each<[string, Change, RegExp]>([
    [
      'an ALIAS',
      {
        action: 'CREATE',
        record: {
          ...rec('w.example.test', 'A', []),
          alias: { hostedZoneId: 'Z', dnsName: 'lb.aws' },
        },
      },
      /ALIAS.*cannot be written over RFC 2136/,
    ],
    [
      'a routing policy',
      {
        action: 'CREATE',
        record: { ...rec('w.example.test', 'A', ['1.2.3.4']), setIdentifier: 'x' },
      },
      /Route53 only/,
    ],
    ['an MX', { action: 'CREATE', record: rec('w.example.test', 'MX', ['10 mx']) }, /not written/],
  ])('refuses %s', (_what, change, message) => {
    expect(() => updateMessage(1, 'example.test', [change])).toThrow(message);
  });
});

describe('soaZoneOf', () => {
  const soa = (name: string) => ({
    type: 'SOA' as const,
    name,
    ttl: 60,
    data: {
      mname: `ns1.${name}`,
      rname: `hostmaster.${name}`,
      serial: 1,
      refresh: 3600,
      retry: 600,
      expire: 86400,
      minimum: 60,
    },
  });
  const res = (
    aa: boolean,
    answers: ReturnType<typeof soa>[],
    authorities: ReturnType<typeof soa>[],
  ) =>
    dnsPacket.decode(
      dnsPacket.encode({
        type: 'response',
        id: 1,
        flags: aa ? dnsPacket.AUTHORITATIVE_ANSWER : 0,
        questions: [{ type: 'SOA', name: 'q' }],
        answers,
        authorities,
      }),
    );
  it.each<[string, string, ReturnType<typeof res>, string | undefined]>([
    [
      'the apex: SOA in the answer',
      'example.test',
      res(true, [soa('example.test')], []),
      'example.test',
    ],
    [
      'below the apex: SOA in the authority of a NODATA/NXDOMAIN',
      '_acme-challenge.www.Example.test.',
      res(true, [], [soa('example.test')]),
      'example.test',
    ],
    [
      'no authority (a referral, a cache)',
      'a.example.test',
      res(false, [], [soa('example.test')]),
      undefined,
    ],
    ['an SOA not above the name', 'a.example.test', res(true, [], [soa('other.test')]), undefined],
    [
      'a suffix that is not a label boundary',
      'a.bexample.test',
      res(true, [], [soa('example.test')]),
      undefined,
    ],
    ['no SOA at all', 'a.example.test', res(true, [], []), undefined],
  ])('%s', (_n, name, r, want) => {
    expect(soaZoneOf(name, r)).toBe(want);
  });
});
