// The dns01.rfc2136 solver's pure parts (nameserver, key, cache key, which solver a ref is)
// and the Dns01Solver's RFC 2136 path against an in-memory server that refuses what BIND
// refuses (a name outside its zones, a wrong key, a CREATE over an existing set).
import { describe, expect, it } from 'vitest';
import type { Solver } from '../../api/v1alpha1.js';
import type { DnsProvider } from '../../dns/providers/provider.js';
import { Rfc2136Error, describeRcode } from '../../dns/providers/rfc2136-errors.js';
import { normalizeName } from '../../dns/providers/rfc2136-records.js';
import type { TsigKey } from '../../dns/providers/tsig.js';
import type { Change, RecordSet } from '../../dns/types.js';
import type { AuthorityDns, TxtAnswer } from './dns01-authority.js';
import {
  parseNameserver,
  providerKey,
  rfc2136Key,
  rfc2136Server,
  type Rfc2136Ref,
} from './dns01-rfc2136.js';
import { Dns01ConfigError, Dns01Solver, dns01Ref, isRfc2136 } from './dns01.js';

const secret = Buffer.alloc(32, 7).toString('base64');
const rfc2136 = {
  nameserver: '127.0.0.1:5353',
  tsigKeyName: 'certroute',
  tsigSecretSecretRef: { name: 'tsig', key: 'secret' },
};
const ref: Rfc2136Ref = { rfc2136, namespace: 'certroute' };

describe('parseNameserver', () => {
  it.each<[string, ReturnType<typeof parseNameserver>]>([
    ['127.0.0.1:5353', { host: '127.0.0.1', port: 5353 }],
    ['127.0.0.1', { host: '127.0.0.1', port: 53 }],
    ['bind.dns.svc:53', { host: 'bind.dns.svc', port: 53 }],
    ['[2001:db8::1]:5353', { host: '2001:db8::1', port: 5353 }],
    ['[2001:db8::1]', { host: '2001:db8::1', port: 53 }],
    ['2001:db8::1', undefined],
    ['host:0', undefined],
    ['host:70000', undefined],
    [':53', undefined],
    ['', undefined],
  ])('%s', (s, want) => {
    expect(parseNameserver(s)).toEqual(want);
  });

  it('a bad nameserver is a configuration error naming it', () => {
    expect(() => rfc2136Server({ ...rfc2136, nameserver: 'a:b:c' })).toThrow(/"a:b:c"/);
  });
});

describe('rfc2136Key', () => {
  it('reads the secret; HMACSHA256 unless told', () => {
    expect(rfc2136Key(ref, `${secret}\n`)).toEqual({
      name: 'certroute',
      algorithm: 'hmac-sha256',
      secret: Buffer.alloc(32, 7),
    });
    const sha512 = { ...ref, rfc2136: { ...rfc2136, tsigAlgorithm: 'HMACSHA512' as const } };
    expect(rfc2136Key(sha512, secret).algorithm).toBe('hmac-sha512');
  });

  it.each<[string, string | undefined, string, RegExp]>([
    [
      'no Secret or key',
      undefined,
      'Rfc2136TsigSecretMissing',
      /Secret certroute\/tsig key "secret" not found.*create secret generic tsig/,
    ],
    ['not base64', 'not a secret!', 'Rfc2136TsigSecretInvalid', /certroute\/tsig.*not base64/],
  ])('%s: %s', (_name, raw, reason, message) => {
    let err: unknown;
    try {
      rfc2136Key(ref, raw);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(Dns01ConfigError);
    expect((err as Dns01ConfigError).reason).toBe(reason);
    expect((err as Error).message).toMatch(message);
  });
});

describe('providerKey', () => {
  const server = { host: '127.0.0.1', port: 53 };
  const key: TsigKey = { name: 'k', algorithm: 'hmac-sha256', secret: Buffer.from('a') };
  it('differs by server, key name, algorithm and secret; never shows the secret', () => {
    const keys = [
      providerKey(server, key),
      providerKey({ ...server, port: 54 }, key),
      providerKey(server, { ...key, name: 'l' }),
      providerKey(server, { ...key, algorithm: 'hmac-sha512' }),
      providerKey(server, { ...key, secret: Buffer.from('b') }),
    ];
    expect(new Set(keys).size).toBe(keys.length);
    expect(providerKey(server, { ...key, name: 'K' })).toBe(keys[0]);
    expect(keys[0]).not.toContain(Buffer.from('a').toString('base64'));
  });
});

describe('dns01Ref', () => {
  const cluster = { kind: 'ClusterIssuer' as const, namespace: '', name: 'le' };
  const team = { kind: 'Issuer' as const, namespace: 'team-a', name: 'le' };
  it("reads a ClusterIssuer's Secret in the operator namespace, an Issuer's in its own", () => {
    const dns01: Solver['dns01'] = { rfc2136 };
    expect(dns01Ref(dns01, cluster, 'certroute')).toEqual({ rfc2136, namespace: 'certroute' });
    expect(dns01Ref(dns01, team, 'certroute')).toEqual({ rfc2136, namespace: 'team-a' });
  });
  it('passes a route53 solver as it is, and nothing for no dns01', () => {
    const r = dns01Ref({ route53: { region: 'eu-west-1' } }, cluster, 'certroute');
    expect(r).toEqual({ region: 'eu-west-1' });
    expect(r && isRfc2136(r)).toBe(false);
    expect(dns01Ref(undefined, cluster, 'certroute')).toBeUndefined();
  });
});

/** An RFC 2136 server in memory: one key, some zones, BIND's refusals. */
class FakeServer implements DnsProvider {
  readonly label = 'the RFC 2136 server 127.0.0.1:53';
  readonly zoneNoun = 'RFC 2136 zone';
  readonly sets = new Map<string, RecordSet>();
  constructor(
    readonly zoneNames: string[],
    readonly key: TsigKey,
    readonly given: TsigKey,
  ) {}
  private check(op: string, zone: string): void {
    if (!this.given.secret.equals(this.key.secret))
      throw new Rfc2136Error(
        'BADSIG',
        describeRcode('BADSIG', { op, zone, key: this.given.name, server: 'fake' }),
      );
    if (!this.zoneNames.includes(zone))
      throw new Rfc2136Error(
        'NOTAUTH',
        describeRcode('NOTAUTH', { op, zone, key: this.given.name, server: 'fake' }),
      );
  }
  private zoneOf(name: string): string | undefined {
    const n = normalizeName(name);
    return this.zoneNames
      .filter((z) => n === z || n.endsWith(`.${z}`))
      .sort((a, b) => b.length - a.length)[0];
  }
  async findZone(name: string): Promise<string | undefined> {
    this.check('SOA query', this.zoneOf(name) ?? this.zoneNames[0] ?? '');
    return Promise.resolve(this.zoneOf(name));
  }
  zones() {
    return Promise.resolve([]);
  }
  records() {
    return Promise.resolve([...this.sets.values()]);
  }
  recordSet(zone: string, name: string, type: string) {
    this.check('query', zone);
    return Promise.resolve(this.sets.get(`${normalizeName(name)}|${type}`));
  }
  applyChanges(zone: string, changes: Change[]) {
    this.check('update', zone);
    for (const c of changes) {
      const k = `${normalizeName(c.record.name)}|${c.record.type}`;
      if (this.zoneOf(c.record.name) !== zone)
        throw new Rfc2136Error('NOTZONE', `${c.record.name} is outside ${zone}`);
      if (c.action === 'CREATE' && this.sets.has(k)) throw new Rfc2136Error('YXRRSET', k);
      if (c.action === 'DELETE' && !this.sets.has(k)) throw new Rfc2136Error('NXRRSET', k);
      if (c.action === 'DELETE') this.sets.delete(k);
      else this.sets.set(k, c.record);
    }
    return Promise.resolve('fake/1');
  }
  isInSync() {
    return Promise.resolve(true);
  }
}

/** Answers TXT at the asked port only, from the fake server, with authority. */
function authorityOf(server: FakeServer, port: number, asked: string[]): AuthorityDns {
  return {
    ns: () => Promise.reject(new Error('an rfc2136 check must not look for NS sets')),
    addresses: () => Promise.resolve(['127.0.0.1']),
    txt: (address, name, p): Promise<TxtAnswer> => {
      asked.push(`${address}:${p ?? 53}`);
      if (p !== port) return Promise.resolve({ kind: 'error', message: 'connection refused' });
      const set = server.sets.get(`${normalizeName(name)}|TXT`);
      const values = set?.values.map((v) => v.replace(/^"|"$/g, '')) ?? [];
      return Promise.resolve({ kind: 'answer', rcode: 'NOERROR', authoritative: true, values });
    },
  };
}

/** `stored`: the Secret's value now; empty is missing, as readSecretKey has it. */
function setup(stored: () => string = () => secret) {
  const real: TsigKey = {
    name: 'certroute',
    algorithm: 'hmac-sha256',
    secret: Buffer.alloc(32, 7),
  };
  const made: FakeServer[] = [];
  const asked: string[] = [];
  let last: FakeServer | undefined;
  const solver = new Dns01Solver({
    providers: () => {
      throw new Error('no Route53 for an rfc2136 solver');
    },
    secrets: (namespace, name, key) =>
      Promise.resolve(
        namespace === 'certroute' && name === 'tsig' && key === 'secret'
          ? stored() || undefined
          : undefined,
      ),
    rfc2136: (_server, key) => {
      last = new FakeServer(['example.test', 'sub.example.test'], real, key);
      made.push(last);
      return last;
    },
    filter: { domainFilter: [], zoneIdFilter: [], zoneType: 'public' },
    nameservers: ['127.0.0.1:1'],
    defaultRegion: undefined,
    authority: {
      ns: () => Promise.reject(new Error('unused')),
      addresses: () => Promise.resolve(['127.0.0.1']),
      txt: (a, n, p) =>
        last
          ? authorityOf(last, 5353, asked).txt(a, n, p)
          : Promise.reject(new Error('no server yet')),
    },
  });
  return { solver, made, asked };
}

describe('Dns01Solver with an rfc2136 solver', () => {
  it('places the record in the zone the server says holds it, and checks at that server', async () => {
    const { solver, made, asked } = setup();
    const at = await solver.place(ref, 'www.sub.example.test');
    expect(at).toEqual({
      zoneId: 'sub.example.test',
      name: '_acme-challenge.www.sub.example.test',
      server: { host: '127.0.0.1', port: 5353 },
    });
    expect((await solver.visible(at, 'v1')).ok).toBe(false);
    expect(await solver.present(ref, at, 'v1')).toBe('fake/1');
    expect(await solver.inSyncNow(ref, 'fake/1')).toBe(true);
    expect(await solver.visible(at, 'v1')).toMatchObject({ ok: true });
    expect(asked.every((a) => a === '127.0.0.1:5353')).toBe(true);
    await solver.present(ref, at, 'v2');
    await solver.cleanup(ref, at, 'v1');
    expect(made[0]?.sets.get(`${at.name}|TXT`)?.values).toEqual(['"v2"']);
    await solver.cleanup(ref, at, 'v2');
    expect(made[0]?.sets.size).toBe(0);
    // One provider for one server and key.
    expect(made).toHaveLength(1);
  });

  it('a name in no zone of the server: NoZoneForChallenge, naming the nameserver', async () => {
    const { solver } = setup();
    await expect(solver.place(ref, 'www.other.test')).rejects.toMatchObject({
      reason: 'NoZoneForChallenge',
      message: expect.stringContaining('127.0.0.1:5353') as unknown,
    });
  });

  it('a missing Secret: Rfc2136TsigSecretMissing, nothing sent', async () => {
    const { solver, made } = setup(() => '');
    await expect(solver.place(ref, 'www.example.test')).rejects.toMatchObject({
      reason: 'Rfc2136TsigSecretMissing',
    });
    expect(made).toHaveLength(0);
  });

  it('a secret the server refuses: Rfc2136Refused before any order, with what to check', async () => {
    const { solver } = setup(() => Buffer.alloc(32, 1).toString('base64'));
    const err: unknown = await solver.place(ref, 'www.example.test').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Dns01ConfigError);
    expect(err).toMatchObject({ reason: 'Rfc2136Refused' });
    expect((err as Error).message).toMatch(/BADSIG.*secret does not match/);
  });

  it('a rotated secret gets its own provider', async () => {
    let stored = secret;
    const { solver, made } = setup(() => stored);
    await solver.place(ref, 'www.example.test');
    stored = `${secret}\n`; // the same key, written with a newline
    await solver.place(ref, 'www.example.test');
    expect(made).toHaveLength(1);
    stored = Buffer.alloc(32, 8).toString('base64');
    await solver.place(ref, 'www.example.test').catch(() => undefined);
    expect(made).toHaveLength(2);
  });
});
