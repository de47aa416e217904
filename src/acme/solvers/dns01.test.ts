// The DNS-01 solver against a strict in-memory Route53 and the lab's authoritative DNS server
// (on loopback, answering from that Route53): what it writes, what it leaves, what it sees.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Route53Double } from '../../../test/doubles/route53.js';
import { invalidateZoneCache, startLabDns, type LabDns } from '../../../test/lab/dns-server.js';
import { Route53Provider } from '../../dns/providers/route53.js';
import { createLogger } from '../../observability/logger.js';
import { createMetrics } from '../../observability/metrics.js';
import type { AuthorityDns } from './dns01-authority.js';
import { Dns01ConfigError, Dns01Solver, type Dns01Options } from './dns01.js';

let r53: Route53Double;
let dns: LabDns;
const made: string[] = [];

beforeAll(async () => {
  r53 = new Route53Double();
  r53.onChange = invalidateZoneCache;
  r53.addZone('Z1', 'example.test');
  r53.addZone('Z2', 'delegated.test');
  r53.addZone('ZP', 'private.test', { private: true });
  dns = await startLabDns({ route53: r53.client });
});

afterAll(async () => {
  await dns.close();
});

function solver(opts: Partial<Dns01Options> = {}) {
  const metrics = createMetrics();
  return new Dns01Solver({
    providers: (region, role) => {
      made.push(`${region}|${role ?? ''}`);
      return new Route53Provider({ metrics, region, client: r53.client });
    },
    filter: { domainFilter: [], zoneIdFilter: [], zoneType: 'public' },
    nameservers: [`${dns.host}:${dns.port}`],
    defaultRegion: 'eu-west-1',
    ...opts,
  });
}

const cfg = { region: 'eu-west-1' };
const values = (name: string) =>
  r53.get('Z1', name, 'TXT')?.ResourceRecords?.map((r) => r.Value) ?? [];

describe('Dns01Solver', () => {
  it('places the record at _acme-challenge.<host> in the zone that holds it', async () => {
    expect(await solver().place(cfg, 'shop.example.test')).toEqual({
      zoneId: 'Z1',
      name: '_acme-challenge.shop.example.test',
    });
  });

  it('follows a CNAME delegation of _acme-challenge into another zone', async () => {
    await new Route53Provider({ metrics: createMetrics(), client: r53.client }).applyChanges('Z1', [
      {
        action: 'CREATE',
        record: {
          name: '_acme-challenge.cdn.example.test',
          type: 'CNAME',
          ttl: 60,
          values: ['cdn.delegated.test'],
        },
      },
    ]);
    expect(await solver().place(cfg, 'cdn.example.test')).toEqual({
      zoneId: 'Z2',
      name: 'cdn.delegated.test',
    });
  });

  it('takes a pinned hostedZoneID as it is', async () => {
    expect(await solver().place({ ...cfg, hostedZoneID: 'ZPIN' }, 'a.nowhere.test')).toEqual({
      zoneId: 'ZPIN',
      name: '_acme-challenge.a.nowhere.test',
    });
  });

  it.each<[string, Partial<Dns01Options>, Parameters<Dns01Solver['place']>[0], string, string]>([
    ['no zone holds the name', {}, cfg, 'a.nowhere.test', 'NoZoneForChallenge'],
    ['only a private zone holds it', {}, cfg, 'a.private.test', 'NoZoneForChallenge'],
    [
      'the domain filter leaves it out',
      { filter: { domainFilter: ['other.test'], zoneIdFilter: [], zoneType: 'public' } },
      cfg,
      'a.example.test',
      'NoZoneForChallenge',
    ],
    [
      'no region anywhere',
      { defaultRegion: undefined },
      {},
      'a.example.test',
      'Route53RegionMissing',
    ],
  ])('refuses when %s', async (_name, opts, solverCfg, host, reason) => {
    const err = await solver(opts)
      .place(solverCfg, host)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Dns01ConfigError);
    expect(err).toMatchObject({ reason, class: 'configuration' });
  });

  it('adds its value to the TXT set, once, and the resolvers see it', async () => {
    const s = solver();
    const at = await s.place(cfg, 'web.example.test');
    expect(await s.visible(at, 'v1')).toEqual({
      ok: false,
      message: `${at.name} TXT not yet visible at ${dns.host}:${dns.port}`,
    });
    const change = await s.present(cfg, at, 'v1');
    expect(change).toBeDefined();
    expect(await s.inSyncNow(cfg, change ?? '')).toBe(true);
    expect(await s.present(cfg, at, 'v1')).toBeUndefined();
    expect(values(at.name)).toEqual(['"v1"']);
    expect(await s.visible(at, 'v1')).toEqual({ ok: true, message: `${at.name} TXT visible` });
  });

  it('a wildcard and its base share one set; each cleanup removes only its own value', async () => {
    const s = solver();
    const at = await s.place(cfg, 'both.example.test');
    // Both at once: the per-name lock keeps the second from overwriting the first.
    await Promise.all([s.present(cfg, at, 'base'), s.present(cfg, at, 'wild')]);
    expect(values(at.name).sort()).toEqual(['"base"', '"wild"']);
    await s.cleanup(cfg, at, 'wild');
    expect(values(at.name)).toEqual(['"base"']);
    await s.cleanup(cfg, at, 'wild'); // already gone: nothing sent
    // The last value deletes the set: a DELETE the strict Route53 accepts only if exact.
    await s.cleanup(cfg, at, 'base');
    expect(r53.get('Z1', at.name, 'TXT')).toBeUndefined();
  });

  it('keeps one provider per region and role', async () => {
    made.length = 0;
    const s = solver();
    await s.place(cfg, 'a.example.test');
    await s.place(cfg, 'b.example.test');
    await s.place({ ...cfg, role: 'arn:aws:iam::1:role/dns' }, 'a.example.test');
    await s.place({}, 'a.example.test');
    expect(made).toEqual(['eu-west-1|', 'eu-west-1|arn:aws:iam::1:role/dns']);
  });

  it('asks the authoritative nameservers when there are some, on the configured port', async () => {
    const asked: string[] = [];
    const authority: AuthorityDns = {
      ns: (name) =>
        Promise.resolve(
          name === 'example.test' ? { kind: 'ns', hosts: ['ns1.example.test'] } : { kind: 'none' },
        ),
      addresses: () => Promise.resolve(['192.0.2.7']),
      txt: (address, name) => {
        asked.push(`${address} ${name}`);
        return Promise.resolve({
          kind: 'answer',
          rcode: 'NOERROR',
          authoritative: true,
          values: [],
        });
      },
    };
    const s = solver({ authority, nameserverPort: 5300 });
    const at = await s.place(cfg, 'auth.example.test');
    expect(await s.visible(at, 'v')).toEqual({
      ok: false,
      message: `${at.name} TXT not yet visible at authoritative nameserver ns1.example.test (192.0.2.7:5300): has no TXT there yet`,
    });
    expect(asked).toEqual([`192.0.2.7 ${at.name}`]);
  });

  it('falls back to the resolvers when no NS set is found, and says so once per zone', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const log = createLogger('info', sink);
    // The double's zones carry no NS records: the lab DNS answers NODATA up to the apex, and
    // REFUSED above it.
    const s = solver({ log });
    const at = await s.place(cfg, 'fallback.example.test');
    await s.present(cfg, at, 'fb');
    expect(await s.visible(at, 'fb')).toEqual({ ok: true, message: `${at.name} TXT visible` });
    expect(await s.visible(at, 'other')).toMatchObject({ ok: false });
    const warned = lines.filter((l) => l.includes('checking through the recursive resolvers'));
    expect(warned).toHaveLength(1);
    expect(warned[0]).toContain('"zoneId":"Z1"');
    await s.cleanup(cfg, at, 'fb');
  });
});
