// The HTTP-01 solver's token server, self-check and DNS check, on loopback: the DNS check
// resolves through the lab's authoritative DNS server answering from a strict Route53 double.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Route53Double } from '../../../test/doubles/route53.js';
import { invalidateZoneCache, startLabDns, type LabDns } from '../../../test/lab/dns-server.js';
import { Route53Provider } from '../../dns/providers/route53.js';
import { createMetrics } from '../../observability/metrics.js';
import {
  challengePath,
  checkDns,
  isProbeToken,
  Lookup,
  probeAnswer,
  probeToken,
  selfCheck,
  solverName,
  TokenServer,
} from './http01.js';

const tokens = new TokenServer();
let port = 0;
let dns: LabDns;

beforeAll(async () => {
  port = await tokens.start('127.0.0.1:0');
  const r53 = new Route53Double();
  r53.onChange = invalidateZoneCache;
  r53.addZone('Z1', 'example.test');
  const record = (name: string, type: string, values: string[]) => ({
    action: 'CREATE' as const,
    record: { name, type, ttl: 60, values },
  });
  await new Route53Provider({ metrics: createMetrics(), client: r53.client }).applyChanges('Z1', [
    record('shop.example.test', 'A', ['192.0.2.10']),
    record('stale.example.test', 'A', ['192.0.2.99']),
    record('lb.example.test', 'A', ['192.0.2.10']),
    record('www.example.test', 'CNAME', ['lb.example.test']),
  ]);
  dns = await startLabDns({ route53: r53.client });
});

afterAll(async () => {
  await tokens.stop();
  await dns.close();
});

function get(
  path: string,
  opts: { method?: string; body?: string } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('TokenServer', () => {
  it('answers known tokens only, with their key authorization', async () => {
    tokens.set('ns/a', new Map([['tok-1', 'tok-1.thumb']]));
    expect(await get(`${challengePath}tok-1`)).toEqual({ status: 200, body: 'tok-1.thumb' });
    expect((await get(`${challengePath}tok-2`)).status).toBe(404);
    expect((await get('/tok-1')).status).toBe(404);
    expect((await get(`${challengePath}..%2Ftok-1`)).status).toBe(404);
    expect(await get(`${challengePath}tok-1`, { method: 'HEAD' })).toEqual({
      status: 200,
      body: '',
    });
    expect((await get(`${challengePath}tok-1`, { method: 'DELETE' })).status).toBe(404);
  });

  it('answers a probe token on any replica, with no state, and only in the probe form', async () => {
    const fresh = new TokenServer();
    const t = probeToken('uid-1', 'shop.example.test');
    expect(isProbeToken(t)).toBe(true);
    expect(fresh.lookup(t)).toBe(probeAnswer(t));
    expect(await get(`${challengePath}${t}`)).toEqual({ status: 200, body: probeAnswer(t) });
    // Near misses are ordinary unknown tokens.
    for (const bad of [`${t}0`, t.slice(0, -1), t.toUpperCase(), 'certroute-probe-'])
      expect(fresh.lookup(bad)).toBeUndefined();
    expect((await get(`${challengePath}${t}x`)).status).toBe(404);
  });

  it('refuses a request with a body', async () => {
    tokens.set('ns/a', new Map([['tok-1', 'tok-1.thumb']]));
    const res = await get(`${challengePath}tok-1`, { method: 'POST', body: 'x'.repeat(100) });
    expect(res.status).toBe(413);
  });

  it("replaces one Certificate's tokens without touching another's", () => {
    tokens.set(
      'ns/a',
      new Map([
        ['a1', 'A1'],
        ['a2', 'A2'],
      ]),
    );
    tokens.set('ns/b', new Map([['b1', 'B1']]));
    tokens.set('ns/a', new Map([['a3', 'A3']]));
    expect([tokens.lookup('a1'), tokens.lookup('a3'), tokens.lookup('b1')]).toEqual([
      undefined,
      'A3',
      'B1',
    ]);
    tokens.set('ns/a', new Map());
    tokens.set('ns/b', new Map());
    expect(tokens.size).toBe(0);
  });
});

describe('selfCheck', () => {
  it('passes when the token URL serves the key authorization', async () => {
    tokens.set('ns/c', new Map([['tok-c', 'tok-c.thumb']]));
    expect(await selfCheck('127.0.0.1', port, 'shop.example.test', 'tok-c', 'tok-c.thumb')).toEqual(
      { ok: true, message: 'self-check passed' },
    );
  });

  it.each<[string, string, string, RegExp]>([
    ['the wrong body', 'tok-c', 'other', /got HTTP 200 with the wrong body/],
    ['an unknown token', 'tok-unknown', 'tok-unknown.thumb', /got HTTP 404$/],
  ])('fails on %s', async (_name, token, ka, message) => {
    tokens.set('ns/c', new Map([['tok-c', 'tok-c.thumb']]));
    const r = await selfCheck('127.0.0.1', port, 'shop.example.test', token, ka);
    expect(r.ok).toBe(false);
    expect(r.message).toMatch(message);
  });

  it('fails, without throwing, when nothing listens', async () => {
    const r = await selfCheck('127.0.0.1', 1, 'shop.example.test', 't', 'k');
    expect(r).toMatchObject({
      ok: false,
      message: expect.stringContaining('self-check of http://shop.example.test') as string,
    });
  });
});

describe('checkDns', () => {
  const lookup = () => new Lookup([`${dns.host}:${dns.port}`]);

  it.each<[string, string, string[], { ok: boolean; message?: string; addresses?: string[] }]>([
    [
      'the host resolves to the Ingress IP',
      'shop.example.test',
      ['192.0.2.10'],
      { ok: true, addresses: ['192.0.2.10'] },
    ],
    [
      'the Ingress hostname resolves to the same address',
      'www.example.test',
      ['lb.example.test'],
      { ok: true, addresses: ['192.0.2.10'] },
    ],
    [
      'nothing is wanted: any answer does',
      'stale.example.test',
      [],
      { ok: true, addresses: ['192.0.2.99'] },
    ],
    [
      'the host resolves elsewhere (stale DNS)',
      'stale.example.test',
      ['192.0.2.10'],
      {
        ok: false,
        message: 'stale.example.test resolves to 192.0.2.99, not to the Ingress address 192.0.2.10',
      },
    ],
    [
      'the host does not resolve',
      'new.example.test',
      ['192.0.2.10'],
      { ok: false, message: 'new.example.test does not resolve yet' },
    ],
  ])('%s', async (_name, host, want, expected) => {
    expect(await checkDns(lookup(), host, want)).toEqual(expected);
  });
});

describe('probe tokens and solver names', () => {
  it.each([
    ['same Certificate and host', ['u1', 'a.test'], ['u1', 'a.test'], true],
    ['another host', ['u1', 'a.test'], ['u1', 'b.test'], false],
    ['another Certificate', ['u1', 'a.test'], ['u2', 'a.test'], false],
  ] as const)('%s', (_name, a, b, same) => {
    expect(probeToken(a[0], a[1]) === probeToken(b[0], b[1])).toBe(same);
    expect(solverName(a[0], a[1]) === solverName(b[0], b[1])).toBe(same);
  });

  it('names objects as Kubernetes accepts (RFC 1123 label, at most 63 characters)', () => {
    const n = solverName('0b1c7a52-2a4e-4c1d-9a57-5d0a3e2f9c11', 'x'.repeat(200) + '.test');
    expect(n).toMatch(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
  });
});

describe('checkDns when the resolver fails', () => {
  it('is a wait that names the host and the error, not a thrown reconcile', async () => {
    // Nothing listens on port 9: every query is refused or times out.
    const dead = new Lookup(['127.0.0.1:9']);
    const r = await checkDns(dead, 'shop.example.test', ['192.0.2.1']);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.message).toMatch(/^shop\.example\.test: DNS lookup failed \(E[A-Z]+\)$/);
  }, 20_000);
});
