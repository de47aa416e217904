// The DNS controller's cache and INSYNC bookkeeping, against an in-memory Route53 and a fake
// DNSEndpoint informer: no servers. Only Date is faked (to age caches and changes); timers
// are real, so the zone queue and the INSYNC poller run as they do in the operator.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InvalidBatchError } from './providers/provider.js';
import { Rfc2136Error } from './providers/rfc2136-errors.js';
import { Route53Error } from '../../test/doubles/route53.js';
import {
  endpoint,
  resyncMs,
  setup,
  until,
  zone,
  type Endpoint,
} from '../../test/doubles/dns-controller.js';
import { recordKey } from './types.js';
import type { createMetrics } from '../observability/metrics.js';
import type { DnsController } from './controller.js';
import type { ZoneCache } from './zone-cache.js';
import type { Tenancy } from '../tenancy/controller.js';
import { checkRecord, compile } from '../tenancy/policy.js';

let controllers: DnsController[] = [];

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(new Date('2026-11-23T00:00:00Z'));
});
afterEach(async () => {
  await Promise.all(controllers.map((c) => c.stop()));
  controllers = [];
  vi.useRealTimers();
});

function controller(endpoints: Endpoint[], flags: string[] = [], tenancy?: Tenancy) {
  const t = setup(endpoints, flags, tenancy);
  controllers.push(t.dns);
  return t;
}

describe('zone cache', () => {
  it('lists only when there is no cache; an event-triggered sync never relists a stale one', async () => {
    const eps = [endpoint('www', '192.0.2.1')];
    const { dns, provider } = controller(eps);
    await dns.syncZoneNow(zone.id);
    expect(provider.calls).toEqual(['list', 'change C1']);

    vi.setSystemTime(Date.now() + 3 * resyncMs); // far older than the resync interval
    eps[0] = endpoint('www', '192.0.2.2', 2);
    const mark = provider.calls.length;
    await dns.syncZoneNow(zone.id);
    expect(provider.since(mark)).toEqual(['change C2']);
  });

  it('relists on the resync interval in the background, then syncs: no change when idle', async () => {
    const { dns, provider } = controller([endpoint('www', '192.0.2.1')]);
    await dns.syncZoneNow(zone.id);
    vi.setSystemTime(Date.now() + resyncMs);
    const mark = provider.calls.length;
    dns.resyncAll();
    await until(() => provider.calls.length > mark);
    await dns.queue.idle();
    expect(provider.since(mark)).toEqual(['list']);

    // A second resync right after lists nothing (at most one listing per interval).
    dns.resyncAll();
    await sleep(50);
    await dns.queue.idle();
    expect(provider.since(mark)).toEqual(['list']);
  });

  it('keeps syncing against the cache during a relist, and replays those changes onto it', async () => {
    const eps = [endpoint('www', '192.0.2.1')];
    const { dns, provider } = controller(eps);
    await dns.syncZoneNow(zone.id);
    vi.setSystemTime(Date.now() + resyncMs);

    let release = () => {};
    provider.hold = new Promise((r) => (release = r));
    const mark = provider.calls.length;
    dns.resyncAll();
    await until(() => provider.since(mark).includes('list'));

    // The relist has read the zone (with 192.0.2.1) and is still running: an address changes.
    eps[0] = endpoint('www', '192.0.2.2', 2);
    await dns.syncZoneNow(zone.id); // does not wait for the relist
    expect(provider.since(mark)).toEqual(['list', 'change C2']);

    provider.hold = undefined;
    release();
    await sleep(20);
    await dns.queue.idle();
    // The stale listing plus the journal holds 192.0.2.2: no second UPSERT, now or later.
    await dns.syncZoneNow(zone.id);
    expect(provider.since(mark)).toEqual(['list', 'change C2']);
  });

  it('discards a relist when an error path dropped the cache meanwhile', async () => {
    const eps = [endpoint('www', '192.0.2.1')];
    const { dns, provider } = controller(eps);
    await dns.syncZoneNow(zone.id);
    vi.setSystemTime(Date.now() + resyncMs);
    let release = () => {};
    provider.hold = new Promise((r) => (release = r));
    dns.resyncAll();
    await until(() => provider.calls.includes('list') && provider.calls.length > 2);
    // While the relist is held, an error path (a refused batch, a failed sync, a change not
    // INSYNC) drops the cache, and a record appears behind certroute's back.
    (dns as unknown as { zones: { drop(id: string): void } }).zones.drop(zone.id);
    provider.rrsets.set(recordKey('other.example.test', 'A'), {
      name: 'other.example.test',
      type: 'A',
      values: ['198.51.100.1'],
    });
    provider.hold = undefined;
    const mark = provider.calls.length;
    release();
    await sleep(20);
    await dns.queue.idle();
    // The held listing (without "other") was discarded; the queued sync listed afresh.
    expect(provider.since(mark)).toEqual(['list']);
    const cache = (dns as unknown as { zones: ZoneCache }).zones;
    expect((await cache.records(zone)).has(recordKey('other.example.test', 'A'))).toBe(true);
    expect(provider.since(mark)).toEqual(['list']);
  });
});

describe('INSYNC', () => {
  it('polls only the newest change of a zone, and publishes every earlier one with it', async () => {
    const eps = [
      endpoint('a', '192.0.2.1'),
      endpoint('b', '192.0.2.2'),
      endpoint('c', '192.0.2.3'),
    ];
    const shown: Endpoint[] = [];
    const { dns, provider, stateOf } = controller(shown);
    for (const e of eps) {
      shown.push(e);
      await dns.syncZoneNow(zone.id); // one change per sync: C1, C2, C3
    }
    expect(provider.calls.filter((c) => c.startsWith('change'))).toEqual([
      'change C1',
      'change C2',
      'change C3',
    ]);
    // Statuses are written a moment after the sync that settled them.
    await until(() => ['a', 'b', 'c'].every((n) => stateOf(n) === 'Pending'));

    provider.inSync.add('C3'); // Route53 applies in order: C1 and C2 are INSYNC too
    await until(() => ['a', 'b', 'c'].every((n) => stateOf(n) === 'Published'));
    // Only the newest change is polled (as often as it takes).
    expect(new Set(provider.calls.filter((c) => c.startsWith('get')))).toEqual(new Set(['get C3']));
  });

  it('polls one change at a time, moving on to the newest as changes are sent', async () => {
    const shown = [endpoint('a', '192.0.2.1')];
    const { dns, provider, stateOf } = controller(shown);
    await dns.syncZoneNow(zone.id);
    await until(() => provider.calls.includes('get C1')); // PENDING
    shown.push(endpoint('b', '192.0.2.2'));
    await dns.syncZoneNow(zone.id);
    provider.inSync.add('C2');
    await until(() => stateOf('a') === 'Published' && stateOf('b') === 'Published');
    const gets = provider.calls.filter((c) => c.startsWith('get'));
    expect(gets.at(-1)).toBe('get C2');
    expect(gets.filter((g) => g === 'get C1')).toHaveLength(1);
  });

  it('forgets changes not INSYNC after 5 minutes, relists the zone and syncs it again', async () => {
    const { dns, provider, stateOf } = controller([endpoint('a', '192.0.2.1')]);
    await dns.syncZoneNow(zone.id);
    const mark = provider.calls.length;
    vi.setSystemTime(Date.now() + 301_000);
    // The first poll finds C1 PENDING and late; a second later the zone is listed and synced.
    await until(() => provider.since(mark).includes('list'), 5000);
    await dns.queue.idle();
    expect(provider.since(mark)).toEqual(['get C1', 'list']);
    // The relisted zone holds the record: Published from what Route53 really has.
    await until(() => stateOf('a') === 'Published');
  });

  it('forgets the zone’s changes when Route53 does not know the change, and relists', async () => {
    const { dns, provider, stateOf } = controller([endpoint('a', '192.0.2.1')]);
    provider.isInSync = (id: string) => {
      provider.calls.push(`get ${id}`);
      return Promise.reject(new Route53Error('NoSuchChange', `no change ${id}`, 404));
    };
    await dns.syncZoneNow(zone.id);
    const mark = provider.calls.length;
    await until(() => provider.since(mark).includes('list'), 5000);
    expect(provider.since(mark)).toEqual(['get C1', 'list']);
    await until(() => stateOf('a') === 'Published');
  });
});

describe('RFC 2136: a refused key', () => {
  it('marks every record asked of the zone Error with the server’s reason, and sends nothing', async () => {
    const { dns, provider, statuses } = controller([endpoint('www', '192.0.2.1')]);
    const refused = () =>
      new Rfc2136Error('BADSIG', 'transfer of zone example.test BADSIG: the secret does not match');
    provider.failLists.push(refused(), refused(), refused());
    await dns.syncZoneNow(zone.id).catch(() => undefined);
    await until(() => statuses.get('www')?.endpoints?.[0]?.state === 'Error');
    expect(statuses.get('www')?.endpoints?.[0]?.message).toMatch(/BADSIG/);
    expect(provider.calls.filter((c) => c.startsWith('change'))).toEqual([]);
  });
});

describe('Route53 errors, per call', () => {
  const throttled = () => new Route53Error('Throttling', 'Rate exceeded');
  const exists = () =>
    new InvalidBatchError(
      "[Tried to create resource record set [name='www.example.test.', type='A'] but it already exists]",
    );

  it('a throttled change keeps the zone cache: sent again later, the zone is not relisted', async () => {
    const { dns, provider, statuses, metrics } = controller([endpoint('www', '192.0.2.1')]);
    provider.failChanges.push(throttled(), throttled());
    await dns.syncZoneNow(zone.id);
    await until(() => statuses.get('www')?.endpoints?.[0]?.state === 'Pending');
    expect(statuses.get('www')?.endpoints?.[0]?.message).toContain(
      'Route53 call failed (Throttling: Rate exceeded)',
    );
    await until(() => provider.rrsets.has(recordKey('www.example.test', 'A')), 10_000);
    await dns.queue.idle();
    expect(provider.calls).toEqual([
      'list',
      'change failed: Throttling',
      'change failed: Throttling',
      'change C1',
    ]);
    // Counted as failed syncs (the sync-errors alert), though the cache was kept.
    expect((await metrics.dnsSyncErrors.get()).values[0]?.value).toBe(2);
  });

  it('a failed GetChange is polled again, not forgotten: no relist', async () => {
    const { dns, provider, stateOf } = controller([endpoint('a', '192.0.2.1')]);
    let fail = 2;
    const inSync = provider.isInSync.bind(provider);
    provider.isInSync = (id: string) => {
      if (fail-- > 0) {
        provider.calls.push(`get ${id} throttled`);
        return Promise.reject(throttled());
      }
      return inSync(id);
    };
    await dns.syncZoneNow(zone.id);
    provider.inSync.add('C1');
    await until(() => stateOf('a') === 'Published', 10_000);
    expect(provider.calls).toEqual([
      'list',
      'change C1',
      'get C1 throttled',
      'get C1 throttled',
      'get C1',
    ]);
  });

  it('a refusal saying the cache is wrong relists the zone', async () => {
    const { dns, provider } = controller([endpoint('www', '192.0.2.1')]);
    provider.failChanges.push(exists());
    await dns.syncZoneNow(zone.id);
    await until(() => provider.calls.filter((c) => c === 'list').length === 2);
    await dns.queue.idle();
    expect(provider.calls.slice(0, 3)).toEqual([
      'list',
      'change failed: InvalidBatchError',
      'list',
    ]);
  });

  it('a refused value is reported and kept out, and the zone is not relisted', async () => {
    const { dns, provider, stateOf } = controller([endpoint('www', '192.0.2.1')]);
    provider.failChanges.push(
      new InvalidBatchError(
        "[Invalid Resource Record: 'FATAL problem: ARRDATAIllegalIPv4Address']",
      ),
    );
    await dns.syncZoneNow(zone.id);
    await until(() => stateOf('www') === 'Error');
    await dns.syncZoneNow(zone.id); // the same content is not sent again
    await dns.queue.idle();
    expect(provider.calls).toEqual(['list', 'change failed: InvalidBatchError']);
  });

  it('a failed background relist keeps the cached copy and is tried again soon', async () => {
    const { dns, provider } = controller([endpoint('www', '192.0.2.1')]);
    await dns.syncZoneNow(zone.id);
    vi.setSystemTime(Date.now() + resyncMs);
    provider.failLists.push(throttled());
    const mark = provider.calls.length;
    dns.resyncAll();
    await until(() => provider.since(mark).includes('list'), 5000);
    await dns.queue.idle();
    // Synced against the cache meanwhile: nothing re-sent.
    expect(provider.since(mark).filter((c) => !c.startsWith('get'))).toEqual([
      'list failed: Throttling',
      'list',
    ]);
  });

  it('a 5xx on a change keeps the cache: the next sync plans against it', async () => {
    const eps = [endpoint('www', '192.0.2.1')];
    const { dns, provider } = controller(eps);
    await dns.syncZoneNow(zone.id);
    eps[0] = endpoint('www', '192.0.2.2', 2);
    provider.failChanges.push(new Route53Error('ServiceUnavailable', 'try later', 503));
    await dns.syncZoneNow(zone.id);
    await until(
      () => provider.rrsets.get(recordKey('www.example.test', 'A'))?.values[0] === '192.0.2.2',
      10_000,
    );
    expect(provider.calls.filter((c) => c === 'list')).toHaveLength(1);
  });
});

describe('DomainPolicies', () => {
  /** The real evaluation over one policy that allows www.example.test only. */
  const tenancy: Tenancy = {
    checkRecord: (r) =>
      checkRecord(
        [
          compile('p', {
            namespaces: { names: ['ns'] },
            domains: [{ glob: 'www.example.test' }],
          }),
        ],
        { name: r.namespace, labels: {} },
        r,
      ),
    checkCertificate: () => ({ allowed: true, message: '' }),
    takeOrder: () => ({ ok: true }),
    peekOrder: () => ({ ok: true }),
    onChange: () => undefined,
  };

  it('a denied host gets no record and the state Denied, with an Event; the others are served', async () => {
    const { dns, provider, statuses, events } = controller(
      [endpoint('www', '192.0.2.1'), endpoint('api', '192.0.2.2')],
      [],
      tenancy,
    );
    await dns.syncZoneNow(zone.id);
    expect(provider.rrsets.has(recordKey('www.example.test', 'A'))).toBe(true);
    expect(provider.rrsets.has(recordKey('api.example.test', 'A'))).toBe(false);
    await until(() => statuses.get('api')?.endpoints?.[0]?.state === 'Denied');
    const api = statuses.get('api');
    expect(api?.endpoints?.[0]?.message).toContain(
      'DomainPolicy p: api.example.test matches none of spec.domains (www.example.test)',
    );
    expect(api?.conditions?.[0]).toMatchObject({ status: 'False', reason: 'Denied' });
    await until(() => events.some((e) => e.startsWith('DNSEndpoint Denied: A api.example.test')));
  });
});

describe('deletion guards', () => {
  const gaugeOf = async (g: ReturnType<typeof createMetrics>['dnsRecordsInGrace']) =>
    (await g.get()).values.find((v) => v.labels.zone === zone.name)?.value;

  it('remembers since when a record is unwanted across syncs, and deletes it when the grace period ends', async () => {
    const eps = [endpoint('www', '192.0.2.1')];
    const { dns, provider, metrics } = controller(eps, ['--claim-grace-period=10m']);
    await dns.syncZoneNow(zone.id);
    expect(provider.rrsets.has(recordKey('www.example.test', 'A'))).toBe(true);
    eps.length = 0;
    await dns.syncZoneNow(zone.id);
    vi.setSystemTime(Date.now() + 9 * 60_000);
    await dns.syncZoneNow(zone.id);
    expect(provider.rrsets.has(recordKey('www.example.test', 'A'))).toBe(true);
    expect(await gaugeOf(metrics.dnsRecordsInGrace)).toBe(1);
    vi.setSystemTime(Date.now() + 60_000);
    await dns.syncZoneNow(zone.id);
    expect(provider.rrsets.has(recordKey('www.example.test', 'A'))).toBe(false);
    expect(provider.rrsets.has(recordKey('a-www.example.test', 'TXT'))).toBe(false);
    expect(await gaugeOf(metrics.dnsRecordsInGrace)).toBe(0);
  });

  it('past the cap, deletes nothing but still creates, and shows the count', async () => {
    const eps = ['a', 'b', 'c'].map((n) => endpoint(n, '192.0.2.1'));
    const { dns, provider, metrics } = controller(eps, [
      '--claim-grace-period=0s',
      '--max-deletions-per-zone=2',
    ]);
    await dns.syncZoneNow(zone.id);
    eps.splice(0, eps.length, endpoint('d', '192.0.2.4'));
    await dns.syncZoneNow(zone.id);
    for (const n of ['a', 'b', 'c', 'd'])
      expect(provider.rrsets.has(recordKey(`${n}.example.test`, 'A')), n).toBe(true);
    expect(await gaugeOf(metrics.dnsDeletionsBlocked)).toBe(3);
  });
});
