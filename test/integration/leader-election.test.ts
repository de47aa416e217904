// Two operator processes against the real API server: one leader, one writer, and handover
// when the leader dies or is told to stop. Timing claims are checked on the Lease's own
// server-side timestamps, never on the test's clock.
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  adminConfig,
  createNamespace,
  deleteNamespace,
  eventually,
  labEnv,
} from '../lab/context.js';
import { ingress, listCertificates } from '../lab/k8s-helpers.js';
import { podIdentityFor, type PodIdentityHandle } from '../lab/identity.js';
import { ensureNamespace, logLines, spawnOperator } from '../lab/operator.js';
import type { ManagedProcess } from '../lab/process.js';

const env = labEnv();
const kc = adminConfig(env);
const net = kc.makeApiClient(k8s.NetworkingV1Api);
const coord = kc.makeApiClient(k8s.CoordinationV1Api);
const leaseSeconds = 4;
let ns: string;
let opNs: string;
let procs: ManagedProcess[] = [];
let pod: PodIdentityHandle;

beforeAll(async () => {
  ns = await createNamespace(kc, 'leader');
  opNs = await createNamespace(kc, 'leader-op');
  await ensureNamespace(kc, opNs);
  // The chart's RBAC, released into the operators' own namespace.
  pod = await podIdentityFor(env, opNs);
});
afterEach(async () => {
  for (const p of procs) await p.stop();
  procs = [];
  await coord
    .deleteNamespacedLease({ namespace: opNs, name: 'certroute-leader' })
    .catch(() => undefined);
});
afterAll(async () => {
  pod?.stop();
  await deleteNamespace(kc, ns);
  await deleteNamespace(kc, opNs);
});

function start(id: string): ManagedProcess {
  const p = spawnOperator(
    env,
    join(env.dir, `${ns}-${id}.log`),
    [
      `--pod-name=${id}`,
      `--namespace=${opNs}`,
      `--watch-namespaces=${ns}`,
      `--lease-duration=${leaseSeconds}s`,
      '--dns-default=false',
    ],
    undefined,
    pod.identity,
  );
  procs.push(p);
  return p;
}

async function lease(): Promise<k8s.V1LeaseSpec> {
  return (
    (await coord.readNamespacedLease({ namespace: opNs, name: 'certroute-leader' })).spec ?? {}
  );
}

async function holderOf(ids: string[]): Promise<string> {
  return eventually(
    async () => {
      const spec: k8s.V1LeaseSpec = await lease().catch(() => ({}));
      const h = spec.holderIdentity;
      return h && ids.includes(h) ? h : undefined;
    },
    { timeoutMs: 30_000 },
  );
}

function created(p: ManagedProcess): string[] {
  return logLines(p.logFile)
    .filter((l) => l.msg === 'created' && l.kind === 'Certificate')
    .map((l) => String(l.child));
}

async function makeIngress(name: string): Promise<void> {
  await net.createNamespacedIngress({
    namespace: ns,
    body: ingress({
      name,
      namespace: ns,
      annotations: { 'certroute.io/issuer': 'pebble' },
      hosts: [`${name}.example.test`],
      tls: [{ secretName: `${name}-tls`, hosts: [`${name}.example.test`] }],
    }),
  });
  await eventually(
    async () => (await listCertificates(kc, ns)).some((c) => c.metadata.name === `${name}-tls`),
    { timeoutMs: 30_000 },
  );
}

describe('leader election', () => {
  it('lets only the Lease holder write, and hands over within the lease duration when it dies', async () => {
    const a = start('op-a');
    const b = start('op-b');
    const first = await holderOf(['op-a', 'op-b']);
    const [leader, follower] = first === 'op-a' ? [a, b] : [b, a];
    await makeIngress('one');
    await eventually(() => created(leader).includes('one-tls'));
    expect(created(follower)).toEqual([]);

    const before = await lease();
    process.kill(leader.pid, 'SIGKILL');
    const next = await holderOf([first === 'op-a' ? 'op-b' : 'op-a']);
    const after = await lease();
    expect(next).not.toBe(first);
    expect(after.leaseTransitions).toBe((before.leaseTransitions ?? 0) + 1);
    // The follower took over no later than one retry period after the dead leader's lease ran out.
    const expiredAt = new Date(before.renewTime ?? 0).getTime() + leaseSeconds * 1000;
    const acquiredAt = new Date(after.acquireTime ?? 0).getTime();
    expect(acquiredAt - expiredAt).toBeLessThanOrEqual((leaseSeconds * 1000) / 5 + 1000);

    await makeIngress('two');
    await eventually(() => created(follower).includes('two-tls'));
    expect(created(leader)).not.toContain('two-tls');
  });

  it('releases the Lease on SIGTERM so the other replica takes over at once', async () => {
    const a = start('op-c');
    const b = start('op-d');
    const first = await holderOf(['op-c', 'op-d']);
    const [leader] = first === 'op-c' ? [a, b] : [b, a];
    const before = await lease();
    process.kill(leader.pid, 'SIGTERM');
    expect(await leader.exited).toBe(0);
    expect(logLines(leader.logFile).some((l) => l.msg === 'released leader lease')).toBe(true);
    await holderOf([first === 'op-c' ? 'op-d' : 'op-c']);
    const after = await lease();
    // Taken over before the old lease would have expired: the release, not expiry, handed it on.
    const wouldExpire = new Date(before.renewTime ?? 0).getTime() + leaseSeconds * 1000;
    expect(new Date(after.acquireTime ?? 0).getTime()).toBeLessThan(wouldExpire);
  });
});
