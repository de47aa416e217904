// Leader election against an in-memory API server that refuses stale writes (409), so two
// electors race as they would against a real one.
import { setTimeout as sleep } from 'node:timers/promises';
import type * as k8s from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubeApiDouble } from '../../test/doubles/kube-api.js';
import { silentLogger } from '../observability/logger.js';
import { createMetrics } from '../observability/metrics.js';
import { LeaderElector } from './leader.js';

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

function elector(identity: string, leaseDurationMs = 1500) {
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
