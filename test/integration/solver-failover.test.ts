// Tokens through failover (issue 22): two replicas with leader election, 20 certificates in
// flight, and a rolling restart of both (a new replica up before an old one stops, as a
// Deployment's surge does). Every replica serves every token and the solver EndpointSlices list
// every replica that does, so the CA's validation never lands on a stopped one: as many orders
// as certificates, and no failed validation. Pebble sleeps up to 15 s before each validation
// (PEBBLE_VA_NOSLEEP off), so validations are still in flight while replicas come and go.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClusterIssuer, deleteClusterIssuer, labIssuer } from '../lab/acme-helpers.js';
import {
  adminConfig,
  createNamespace,
  deleteNamespace,
  eventually,
  labEnv,
  labRoute53,
} from '../lab/context.js';
import { podIdentityFor, type PodIdentityHandle } from '../lab/identity.js';
import { conditionOf, ingress, listCertificates } from '../lab/k8s-helpers.js';
import { ensureNamespace, spawnOperator } from '../lab/operator.js';
import { startPebble, type PebbleLab } from '../lab/pebble.js';
import { freePort, type ManagedProcess } from '../lab/process.js';
import { createZone } from '../lab/route53-helpers.js';

const env = labEnv();
const kc = adminConfig(env);
const net = kc.makeApiClient(k8s.NetworkingV1Api);
const coord = kc.makeApiClient(k8s.CoordinationV1Api);
const disc = kc.makeApiClient(k8s.DiscoveryV1Api);
const r53 = labRoute53(env);
const suffix = Date.now().toString(36);
const issuer = `failover-${suffix}`;
const count = 20;

let ns: string;
let opNs: string;
let zone: { id: string; name: string };
let pebble: PebbleLab;
let pebbleDir: string;
let pod: PodIdentityHandle;
let solverPort: number;
const procs: ManagedProcess[] = [];

beforeAll(async () => {
  ns = await createNamespace(kc, 'failover');
  opNs = await createNamespace(kc, 'failover-op');
  await ensureNamespace(kc, opNs);
  pod = await podIdentityFor(env, opNs);
  zone = await createZone(r53, 'failover');
  pebbleDir = join(env.dir, `pebble-failover-${suffix}`);
  mkdirSync(pebbleDir, { recursive: true });
  pebble = await startPebble(pebbleDir, {
    dnsServer: `${env.dnsHost}:${env.dnsPort}`,
    http01Port: env.http01Port,
    vaNoSleep: false,
  });
  await createClusterIssuer(kc, labIssuer(env, issuer, { server: pebble.directory }));
  // Every replica listens on the same port, as pods of one Deployment do, each on its own
  // address: replica N at 127.0.0.N, which the lab's pod network shows as 10.244.0.N.
  solverPort = await freePort();
}, 120_000);

afterAll(async () => {
  for (const p of procs) await p.stop();
  pod?.stop();
  await pebble?.proc.stop();
  await deleteClusterIssuer(kc, issuer);
  await deleteNamespace(kc, ns);
  await deleteNamespace(kc, opNs);
});

function replica(n: number): ManagedProcess {
  const p = spawnOperator(
    env,
    join(env.dir, `${ns}-replica-${n}.log`),
    [
      `--pod-name=replica-${n}`,
      `--namespace=${opNs}`,
      `--watch-namespaces=${ns}`,
      `--domain-filter=${zone.name}`,
      `--owner-id=lab-${ns}`,
      '--lease-duration=4s',
      `--solver-address=127.0.0.${n}:${solverPort}`,
      `--solver-pod-ip=10.244.0.${n}`,
    ],
    undefined,
    pod.identity,
  );
  procs.push(p);
  return p;
}

/** The solver addresses the member Leases announce. */
async function members(): Promise<string[]> {
  const list = await coord.listNamespacedLease({
    namespace: opNs,
    labelSelector: 'certroute.io/solver-member=true',
  });
  return list.items.map((l) => l.metadata?.annotations?.['certroute.io/solver-address'] ?? '');
}

async function joined(n: number): Promise<void> {
  await eventually(async () => (await members()).includes(`10.244.0.${n}`), {
    timeoutMs: 60_000,
  });
}

/** SIGTERM and wait: a rolling update's stop, with the drain it allows (no SIGKILL). */
async function terminate(p: ManagedProcess): Promise<void> {
  process.kill(p.pid, 'SIGTERM');
  await p.exited;
}

function pebbleLines(): string[] {
  try {
    return readFileSync(join(pebbleDir, 'pebble.log'), 'utf8').split('\n');
  } catch {
    return [];
  }
}

describe('HTTP-01 through a rolling restart', () => {
  it('places as many orders as certificates, with no failed validation', async () => {
    const a = replica(1);
    const b = replica(2);
    await joined(1);
    await joined(2);
    // The most endpoints any solver slice listed, sampled while the test runs.
    let widest = 0;
    const sampler = setInterval(() => {
      void disc
        .listNamespacedEndpointSlice({ namespace: ns, labelSelector: 'certroute.io/solver=http01' })
        .then((l) => {
          for (const s of l.items) widest = Math.max(widest, s.endpoints?.length ?? 0);
        })
        .catch(() => undefined);
    }, 250);
    try {
      for (let i = 0; i < count; i++)
        await net.createNamespacedIngress({
          namespace: ns,
          body: ingress({
            name: `app${i}`,
            namespace: ns,
            hosts: [`app${i}.${zone.name}`],
            tls: [{ secretName: `app${i}-tls`, hosts: [`app${i}.${zone.name}`] }],
            className: env.ingressClass,
            annotations: { 'certroute.io/issuer': issuer },
          }),
        });
      // Orders are out and validations pending: now the rolling restart, one replica at a time.
      await eventually(
        () => Promise.resolve(pebbleLines().some((l) => l.includes('Added order'))),
        {
          timeoutMs: 60_000,
        },
      );
      replica(3);
      await joined(3);
      await terminate(a);
      replica(4);
      await joined(4);
      await terminate(b);

      const certs = await eventually(
        async () => {
          const cs = await listCertificates(kc, ns);
          const ready = cs.filter((c) => conditionOf(c, 'Ready')?.status === 'True');
          return ready.length === count && cs;
        },
        { timeoutMs: 240_000, intervalMs: 1000 },
      );
      const orders = pebbleLines().filter((l) => l.includes('Added order')).length;
      const failed = pebbleLines().filter((l) => / set INVALID by completed challenge /.test(l));
      console.log(
        `rolling restart: ${orders} orders for ${count} certificates, ${failed.length} failed validations, widest solver slice ${widest}`,
      );
      if (failed.length > 0) {
        // What the CA said, for whoever reads a failure: the OrderInvalid Events.
        const evs = await kc.makeApiClient(k8s.CoreV1Api).listNamespacedEvent({ namespace: ns });
        for (const e of evs.items.filter((x) => x.reason === 'OrderInvalid').slice(0, 5))
          console.log(`${e.lastTimestamp?.toISOString() ?? ''} ${e.message ?? ''}`);
      }
      expect(failed).toEqual([]);
      expect(orders).toBe(count);
      expect(certs.every((c) => c.status?.revision === 1)).toBe(true);
      // The slices listed more than the leader.
      expect(widest).toBeGreaterThanOrEqual(2);
      // The replicas that left took their Leases with them.
      expect((await members()).sort()).toEqual(['10.244.0.3', '10.244.0.4']);
    } finally {
      clearInterval(sampler);
    }
  }, 420_000);
});
