// Leader election against an in-memory API server that refuses stale writes (409), so two
// electors race as they would against a real one.
import { setTimeout as sleep } from 'node:timers/promises';
import type * as k8s from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubeApiDouble } from '../../test/doubles/kube-api.js';
import { silentLogger } from '../observability/logger.js';
import { createMetrics } from '../observability/metrics.js';
import { LeaderElector, leaseRecord, leaseVerdict, observe } from './leader.js';

const leases = '/apis/coordination.k8s.io/v1/namespaces/ops/leases';
let api: KubeApiDouble;
let kubeConfig: k8s.KubeConfig;
const running: LeaderElector[] = [];

beforeEach(async () => {
  api = new KubeApiDouble();
  kubeConfig = await api.start();
});

afterEach(async () => {
  for (const e of running.splice(0)) await e.stop();
  await api.stop();
});

function elector(identity: string, leaseDurationMs = 1500, clock?: () => number) {
  const log: string[] = [];
  const metrics = createMetrics();
  const e = new LeaderElector({
    kubeConfig,
    namespace: 'ops',
    name: 'certroute-leader',
    identity,
    leaseDurationMs,
    log: silentLogger,
    metrics,
    onStartedLeading: () => log.push('started'),
    onStoppedLeading: () => log.push('stopped'),
    ...(clock ? { clock } : {}),
  });
  running.push(e);
  return { e, log, metrics };
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  for (const end = Date.now() + ms; !cond(); await sleep(20))
    if (Date.now() > end) throw new Error('condition not met in time');
}

const holder = () =>
  api.get<k8s.V1Lease>(leases, 'certroute-leader')?.spec?.holderIdentity ?? undefined;

describe('LeaderElector', () => {
  it('creates a missing Lease and leads', async () => {
    const a = elector('a');
    a.e.start();
    await until(() => a.e.isLeader);
    expect(a.log).toEqual(['started']);
    expect(a.e.stateKnown).toBe(true);
    expect(holder()).toBe('a');
    expect((await a.metrics.isLeader.get()).values[0]?.value).toBe(1);
  });

  it('exactly one of two electors leads; the other takes over at once on release', async () => {
    const a = elector('a');
    const b = elector('b');
    a.e.start();
    b.e.start();
    await until(() => a.e.isLeader || b.e.isLeader);
    await until(() => a.e.stateKnown && b.e.stateKnown);
    // A few renewals later, still one leader.
    await sleep(700);
    expect([a.e.isLeader, b.e.isLeader].filter(Boolean)).toHaveLength(1);
    const [leader, follower] = a.e.isLeader ? [a, b] : [b, a];
    const transitions = api.get<k8s.V1Lease>(leases, 'certroute-leader')?.spec?.leaseTransitions;
    await leader.e.stop();
    expect(holder()).toBe('');
    await until(() => follower.e.isLeader, 1000);
    expect(follower.log).toEqual(['started']);
    expect(leader.log).toEqual(['started']); // a release is not a loss
    expect(api.get<k8s.V1Lease>(leases, 'certroute-leader')?.spec?.leaseTransitions).toBe(
      (transitions ?? 0) + 1,
    );
  });

  it("waits out another holder's Lease, and takes it once expired", async () => {
    api.put(leases, {
      metadata: { name: 'certroute-leader', namespace: 'ops' },
      spec: {
        holderIdentity: 'gone',
        leaseDurationSeconds: 1,
        renewTime: new Date().toISOString(),
        leaseTransitions: 3,
      },
    });
    const a = elector('a');
    a.e.start();
    await until(() => a.e.stateKnown);
    expect(a.e.isLeader).toBe(false);
    await until(() => a.e.isLeader, 3000);
    expect(holder()).toBe('a');
    expect(api.get<k8s.V1Lease>(leases, 'certroute-leader')?.spec?.leaseTransitions).toBe(4);
  });

  it('steps down when renewals fail for two thirds of the lease', async () => {
    const a = elector('a', 900);
    a.e.start();
    await until(() => a.e.isLeader);
    api.down = true;
    await until(() => a.log.includes('stopped'), 3000);
    expect(a.e.isLeader).toBe(false);
    expect((await a.metrics.isLeader.get()).values[0]?.value).toBe(0);
  });

  it('steps down at the renew deadline while a renewal hangs, without waiting for its answer', async () => {
    const a = elector('a', 900);
    a.e.start();
    await until(() => a.e.isLeader);
    api.hang = true;
    await until(() => a.log.includes('stopped'), 3000);
    expect(a.e.isLeader).toBe(false);
    expect((await a.metrics.isLeader.get()).values[0]?.value).toBe(0);
    await api.stop(); // the hung request fails, so the loop can stop
  });

  it('does not know its state while the Lease API is away', async () => {
    api.down = true;
    const a = elector('a');
    a.e.start();
    await until(() => api.requests.length >= 2);
    expect(a.e.stateKnown).toBe(false);
    expect(a.e.isLeader).toBe(false);
    api.down = false;
    await until(() => a.e.isLeader);
  });
});

describe('leaseVerdict (local observed time)', () => {
  const seen = { record: 'r', at: 1000 };
  it.each([
    ['our own Lease is renewed', 'a', seen, 5000, { action: 'renew' }],
    ['a free Lease is taken', '', seen, 1000, { action: 'acquire' }],
    ['another holder, record seen just now', 'b', seen, 1000, { action: 'follow', waitMs: 1500 }],
    ['another holder, record unchanged 1.4 s', 'b', seen, 2400, { action: 'follow', waitMs: 100 }],
    ['another holder, record unchanged for the lease', 'b', seen, 2500, { action: 'acquire' }],
    ['another holder, record unchanged for longer', 'b', seen, 9000, { action: 'acquire' }],
  ] as const)('%s', (_name, holder, observed, now, want) => {
    expect(leaseVerdict(holder, 'a', observed, 1500, now)).toEqual(want);
  });

  it('keeps the first sighting of a record, and restarts the count when it changes', () => {
    const first = observe(undefined, 'r1', 10);
    expect(first).toEqual({ record: 'r1', at: 10 });
    expect(observe(first, 'r1', 500)).toBe(first);
    expect(observe(first, 'r2', 500)).toEqual({ record: 'r2', at: 500 });
  });

  it('sees any write as a change, the resourceVersion included; the timestamps only as strings', () => {
    const lease = (rv: string, renewTime: string, holder = 'b'): k8s.V1Lease => ({
      metadata: { resourceVersion: rv },
      spec: { holderIdentity: holder, renewTime: new Date(renewTime) },
    });
    const base = leaseRecord(lease('1', '2020-01-01T00:00:00Z'));
    expect(leaseRecord(lease('1', '2020-01-01T00:00:00Z'))).toBe(base);
    expect(leaseRecord(lease('2', '2020-01-01T00:00:00Z'))).not.toBe(base);
    // A renewTime in the past or the future is just a different record.
    expect(leaseRecord(lease('1', '1999-01-01T00:00:00Z'))).not.toBe(base);
    expect(leaseRecord(lease('1', '2020-01-01T00:00:00Z', 'c'))).not.toBe(base);
  });
});

describe('LeaderElector on a local clock (skewed peers)', () => {
  // The test moves this clock; the API server's and the holder's wall clocks mean nothing to it.
  let t = 0;
  const clock = () => t;
  const reads = () => api.requests.filter((r) => r.startsWith('GET ')).length;
  async function reads_(n: number): Promise<void> {
    const target = reads() + n;
    await until(() => reads() >= target);
  }
  beforeEach(() => {
    t = 0;
  });
  const held = (holder: string, renewTime: Date) =>
    api.put(leases, {
      metadata: { name: 'certroute-leader', namespace: 'ops' },
      spec: {
        holderIdentity: holder,
        leaseDurationSeconds: 1,
        renewTime: renewTime.toISOString(),
        leaseTransitions: 1,
      },
    });

  it('follows a live holder whose renewTime is an hour behind its clock, and takes over once it stops renewing', async () => {
    const skewed = Date.now() - 3_600_000;
    held('other', new Date(skewed));
    const a = elector('a', 1000, clock);
    a.e.start();
    await until(() => a.e.stateKnown);
    expect(a.e.isLeader).toBe(false); // the old rule (renewTime + 1 s < now) took it here
    for (let i = 1; i <= 3; i++) {
      // The holder renews (its clock an hour behind) within each lease duration of ours.
      t += 800;
      held('other', new Date(skewed + i * 800));
      await reads_(2);
      expect(a.e.isLeader).toBe(false);
      expect(holder()).toBe('other');
    }
    // It stops renewing: a full lease duration on our clock after we saw its last record.
    t += 999;
    await reads_(2);
    expect(a.e.isLeader).toBe(false);
    t += 2;
    await until(() => a.e.isLeader);
    expect(holder()).toBe('a');
    expect(api.get<k8s.V1Lease>(leases, 'certroute-leader')?.spec?.leaseTransitions).toBe(2);
  });

  it('takes over a dead holder whose renewTime is an hour ahead, after one lease duration of its own', async () => {
    held('gone', new Date(Date.now() + 3_600_000));
    const a = elector('a', 1000, clock);
    a.e.start();
    await until(() => a.e.stateKnown);
    await reads_(2);
    expect(a.e.isLeader).toBe(false);
    t += 1000;
    await until(() => a.e.isLeader); // the old rule waited an hour
    expect(holder()).toBe('a');
  });

  it('steps down on its own clock once no renewal succeeded for two thirds of the lease', async () => {
    const a = elector('a', 1500, clock);
    a.e.start();
    await until(() => a.e.isLeader);
    api.down = true;
    t += 900; // under 2/3 of 1500 ms since the last successful renewal was sent
    await until(() => api.requests.length >= 4);
    expect(a.e.isLeader).toBe(true);
    t += 200; // 1100 > 1000
    expect(a.e.isLeader).toBe(false); // at once, before any request returns
    await until(() => a.log.includes('stopped'));
    expect((await a.metrics.isLeader.get()).values[0]?.value).toBe(0);
  });

  it('stops leading at once when the Lease names another holder', async () => {
    const a = elector('a', 1500, clock);
    a.e.start();
    await until(() => a.e.isLeader);
    held('intruder', new Date());
    await until(() => a.log.includes('stopped'));
    expect(a.e.isLeader).toBe(false);
    expect(holder()).toBe('intruder');
  });
});
