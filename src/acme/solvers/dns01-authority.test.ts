import { describe, expect, it } from 'vitest';
import {
  allSeen,
  candidates,
  checkAuthorities,
  checkNameserver,
  cutAt,
  findZoneCut,
  notSeen,
  type AuthorityDns,
  type NsAnswer,
  type ServerResult,
  type TxtAnswer,
} from './dns01-authority.js';

const aa = (values: string[], rcode = 'NOERROR'): TxtAnswer => ({
  kind: 'answer',
  rcode,
  authoritative: true,
  values,
});

describe('candidates', () => {
  it.each([
    [
      '_acme-challenge.www.example.test',
      ['_acme-challenge.www.example.test', 'www.example.test', 'example.test', 'test'],
    ],
    ['Example.TEST.', ['example.test', 'test']],
    ['test', ['test']],
    ['', []],
  ])('%s', (name, want) => {
    expect(candidates(name)).toEqual(want);
  });
});

describe('cutAt', () => {
  it.each<[string, NsAnswer, ReturnType<typeof cutAt>]>([
    ['no NS here: go up', { kind: 'none' }, undefined],
    [
      'an NS set: the cut, hosts normalised and sorted',
      { kind: 'ns', hosts: ['NS2.example.test.', 'ns1.example.test', 'ns1.example.test'] },
      { ok: true, zone: 'a.test', hosts: ['ns1.example.test', 'ns2.example.test'] },
    ],
    [
      'an error: stop (the parent zone is not the answer)',
      { kind: 'error', message: 'ESERVFAIL' },
      { ok: false, message: 'NS lookup of a.test failed: ESERVFAIL' },
    ],
    [
      'an empty NS set',
      { kind: 'ns', hosts: [''] },
      { ok: false, message: 'NS lookup of a.test returned no host names' },
    ],
  ])('%s', (_why, answer, want) => {
    expect(cutAt('a.test', answer)).toEqual(want);
  });
});

describe('notSeen', () => {
  it.each<[string, TxtAnswer, string | undefined]>([
    ['the value, authoritatively', aa(['other', 'v']), undefined],
    ['other values only', aa(['other']), 'has other TXT values only'],
    ['nothing there', aa([]), 'has no TXT there yet'],
    ['NXDOMAIN', aa([], 'NXDOMAIN'), 'answered NXDOMAIN'],
    ['REFUSED', aa([], 'REFUSED'), 'answered REFUSED'],
    [
      'the value without AA',
      { kind: 'answer', rcode: 'NOERROR', authoritative: false, values: ['v'] },
      'answered without authority (not a server of the zone)',
    ],
    [
      'no answer',
      { kind: 'error', message: 'no answer within 2000 ms' },
      'no answer within 2000 ms',
    ],
  ])('%s', (_why, answer, want) => {
    expect(notSeen(answer, 'v')).toBe(want);
  });
});

describe('allSeen', () => {
  const r = (host: string, address: string, answer: TxtAnswer): ServerResult => ({
    host,
    address,
    answer,
  });
  it.each<[string, ServerResult[], boolean, string]>([
    [
      'every address shows it',
      [r('ns1.z.test', '192.0.2.1', aa(['v'])), r('ns2.z.test', '192.0.2.2', aa(['v']))],
      true,
      'n TXT visible at all 2 authoritative nameserver addresses',
    ],
    [
      'one is stale: named, with its address and port',
      [r('ns1.z.test', '192.0.2.1', aa(['v'])), r('ns2.z.test', '192.0.2.2', aa([]))],
      false,
      'n TXT not yet visible at authoritative nameserver ns2.z.test (192.0.2.2:53): has no TXT there yet',
    ],
    [
      'several stale: the first, and how many more',
      [
        r('ns1.z.test', '2001:db8::1', aa([], 'NXDOMAIN')),
        r('ns2.z.test', '192.0.2.2', aa([])),
        r('ns3.z.test', '192.0.2.3', aa(['v'])),
      ],
      false,
      'n TXT not yet visible at authoritative nameserver ns1.z.test ([2001:db8::1]:53): answered NXDOMAIN (and 1 more of 3)',
    ],
    ['nobody to ask', [], false, 'n: no authoritative nameserver address to ask'],
  ])('%s', (_why, results, ok, message) => {
    expect(allSeen('n', 'v', results, 53)).toEqual({ ok, message });
  });
});

/**
 * A fake of the DNS as the configured resolvers and the nameservers answer it. Like a real
 * resolver, it answers "none" (NXDOMAIN/NODATA) only for names inside zones it knows, and an
 * error (REFUSED) for anything else; a nameserver it does not know does not answer at all.
 */
class FakeDns implements AuthorityDns {
  constructor(
    private readonly zones: Record<string, string[]>,
    private readonly hosts: Record<string, string[]>,
    private readonly servers: Record<string, Record<string, string[]>>,
  ) {}
  readonly asked: string[] = [];
  ns(name: string): Promise<NsAnswer> {
    this.asked.push(name);
    const ns = this.zones[name];
    if (ns) return Promise.resolve({ kind: 'ns', hosts: ns });
    const inside = Object.keys(this.zones).some((z) => name.endsWith(`.${z}`));
    return Promise.resolve(inside ? { kind: 'none' } : { kind: 'error', message: 'EREFUSED' });
  }
  addresses(host: string): Promise<string[]> {
    return Promise.resolve(this.hosts[host] ?? []);
  }
  txt(address: string, name: string): Promise<TxtAnswer> {
    const server = this.servers[address];
    if (!server) return Promise.resolve({ kind: 'error', message: 'no answer within 2000 ms' });
    return Promise.resolve(aa(server[name] ?? []));
  }
}

describe('findZoneCut and checkAuthorities', () => {
  const name = '_acme-challenge.www.sub.example.test';
  const zones = { 'sub.example.test': ['ns1.dns.test', 'ns2.dns.test'], 'example.test': ['x'] };
  const hosts = { 'ns1.dns.test': ['192.0.2.1'], 'ns2.dns.test': ['192.0.2.2', '192.0.2.3'] };

  it('stops at the closest NS set (a delegated subzone, not its parent)', async () => {
    const dns = new FakeDns(zones, hosts, {});
    expect(await findZoneCut(dns, name)).toEqual({
      ok: true,
      zone: 'sub.example.test',
      hosts: ['ns1.dns.test', 'ns2.dns.test'],
    });
    expect(dns.asked).toEqual([name, 'www.sub.example.test', 'sub.example.test']);
  });

  it.each<[string, Record<string, Record<string, string[]>>, string, object]>([
    [
      'all three addresses show it',
      {
        '192.0.2.1': { [name]: ['v'] },
        '192.0.2.2': { [name]: ['v'] },
        '192.0.2.3': { [name]: ['v'] },
      },
      'v',
      { kind: 'checked', seen: { ok: true } },
    ],
    [
      'one address of ns2 is stale',
      { '192.0.2.1': { [name]: ['v'] }, '192.0.2.2': { [name]: ['v'] }, '192.0.2.3': {} },
      'v',
      {
        kind: 'checked',
        seen: {
          ok: false,
          message: `${name} TXT not yet visible at authoritative nameserver ns2.dns.test (192.0.2.3:5353): has no TXT there yet`,
        },
      },
    ],
    [
      'one address does not answer',
      { '192.0.2.1': { [name]: ['v'] }, '192.0.2.2': { [name]: ['v'] } },
      'v',
      { kind: 'checked', seen: { ok: false } },
    ],
  ])('%s', async (_why, servers, value, want) => {
    expect(
      await checkAuthorities(new FakeDns(zones, hosts, servers), name, value, 5353),
    ).toMatchObject(want);
  });

  it.each<[string, FakeDns, string]>([
    ['no NS set up to an error', new FakeDns({}, {}, {}), `NS lookup of ${name} failed: EREFUSED`],
    [
      'nameservers without addresses',
      new FakeDns(zones, {}, {}),
      'no nameserver of sub.example.test (ns1.dns.test, ns2.dns.test) has an address',
    ],
  ])('no authority to ask: %s', async (_why, dns, message) => {
    expect(await checkAuthorities(dns, name, 'v', 53)).toEqual({ kind: 'no-authority', message });
  });
});

describe('checkNameserver (an rfc2136 solver)', () => {
  const dns = (
    txt: Record<string, TxtAnswer>,
    addresses: string[] = [],
  ): AuthorityDns & { asked: string[] } => {
    const asked: string[] = [];
    return {
      asked,
      ns: () => Promise.reject(new Error('no NS lookup for an rfc2136 check')),
      addresses: () => Promise.resolve(addresses),
      txt: (address, _name, port) => {
        asked.push(`${address}:${port}`);
        return Promise.resolve(txt[address] ?? { kind: 'error', message: 'connection refused' });
      },
    };
  };
  const name = '_acme-challenge.example.test';

  it('asks the nameserver itself on its port, and only it', async () => {
    const d = dns({ '127.0.0.1': aa(['v']) });
    const seen = await checkNameserver(d, { host: '127.0.0.1', port: 5353 }, name, 'v');
    expect(seen.ok).toBe(true);
    expect(d.asked).toEqual(['127.0.0.1:5353']);
  });

  it('a host name: every address must show it', async () => {
    const d = dns({ '10.0.0.1': aa(['v']), '10.0.0.2': aa([]) }, ['10.0.0.1', '10.0.0.2']);
    const seen = await checkNameserver(d, { host: 'bind.dns', port: 53 }, name, 'v');
    expect(seen).toEqual({
      ok: false,
      message: `${name} TXT not yet visible at authoritative nameserver bind.dns (10.0.0.2:53): has no TXT there yet`,
    });
  });

  it('an answer without authority does not count', async () => {
    const d = dns({
      '127.0.0.1': { kind: 'answer', rcode: 'NOERROR', authoritative: false, values: ['v'] },
    });
    expect((await checkNameserver(d, { host: '127.0.0.1', port: 53 }, name, 'v')).ok).toBe(false);
  });

  it('a host name is looked up as the update connects (lookup), when there is one', async () => {
    const d = {
      ...dns({ '10.0.0.9': aa(['v']) }, ['10.0.0.1']),
      lookup: () => Promise.resolve(['10.0.0.9']),
    };
    expect((await checkNameserver(d, { host: 'bind.dns.svc', port: 53 }, name, 'v')).ok).toBe(true);
  });

  it('a host name with no address: not seen, saying so', async () => {
    const seen = await checkNameserver(dns({}), { host: 'bind.dns', port: 53 }, name, 'v');
    expect(seen).toEqual({ ok: false, message: `${name}: the nameserver bind.dns has no address` });
  });
});
