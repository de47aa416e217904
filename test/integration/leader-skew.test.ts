// Two (three) operator processes whose wall clocks are 30 s apart, shifted for real by
// libfaketime (LD_PRELOAD; the monotonic clock left alone), against the lab's API server and
// Route53. At every sample exactly one process says it leads, and a process writes (Route53
// changes, child objects) only after it became leader. With the old rule (the holder's
// renewTime against the local wall clock) the +30 s follower takes over the live Lease at once,
// and the -30 s one waits a minute past a dead holder (docs/adr/0021).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminConfig,
  createNamespace,
  deleteNamespace,
  eventually,
  labEnv,
  labRoute53,
} from '../lab/context.js';
import { ingress } from '../lab/k8s-helpers.js';
import { podIdentityFor, type PodIdentityHandle } from '../lab/identity.js';
import { writeAddress } from '../lab/ingress-router.js';
import { ensureNamespace, logLines, rbacDenials, spawnOperator } from '../lab/operator.js';
import { bin } from '../lab/paths.js';
import { freePort, type ManagedProcess } from '../lab/process.js';
import { createZone, record } from '../lab/route53-helpers.js';

const env = labEnv();
const kc = adminConfig(env);
const net = kc.makeApiClient(k8s.NetworkingV1Api);
const coord = kc.makeApiClient(k8s.CoordinationV1Api);
const r53 = labRoute53(env);
const leaseSeconds = 5;
const leaseMs = leaseSeconds * 1000;
let ns: string;
let opNs: string;
let zone: { id: string; name: string };
let pod: PodIdentityHandle;
const replicas: Replica[] = [];

interface Replica {
  id: string;
  proc: ManagedProcess;
  metricsPort: number;
  /** The test's wall clock when it was spawned. */
  spawnedAt: number;
}

beforeAll(async () => {
  expect(existsSync(bin.libfaketime())).toBe(true); // scripts/lab-install.sh faketime
  ns = await createNamespace(kc, 'skew');
  opNs = await createNamespace(kc, 'skew-op');
  await ensureNamespace(kc, opNs);
  pod = await podIdentityFor(env, opNs);
  zone = await createZone(r53, 'skew');
});
afterAll(async () => {
  for (const r of replicas) await r.proc.stop();
  pod?.stop();
  await deleteNamespace(kc, ns);
  await deleteNamespace(kc, opNs);
});

async function start(id: string, skew?: '+30s' | '-30s'): Promise<Replica> {
  const metricsPort = await freePort();
  const clock: Record<string, string> = skew
    ? { LD_PRELOAD: bin.libfaketime(), FAKETIME: skew, FAKETIME_DONT_FAKE_MONOTONIC: '1' }
    : {};
  const proc = spawnOperator(
    env,
    join(env.dir, `${ns}-${id}.log`),
    [
      `--pod-name=${id}`,
      `--namespace=${opNs}`,
      `--watch-namespaces=${ns}`,
      `--lease-duration=${leaseSeconds}s`,
      `--domain-filter=${zone.name}`,
      '--owner-id=skew-lab',
      `--metrics-address=127.0.0.1:${metricsPort}`,
    ],
    undefined,
    pod.identity,
    clock,
  );
  const r = { id, proc, metricsPort, spawnedAt: Date.now() };
  replicas.push(r);
  // Its own log says it started (a metrics port can answer before the first log line).
  await eventually(
    () => logLines(proc.logFile).some((l) => l.msg === 'caches synced; operator started'),
    { timeoutMs: 60_000 },
  );
  await eventually(async () => (await leads(r)) !== undefined, { timeoutMs: 10_000 });
  return r;
}

/** certroute_leader as the process reports it; undefined when it does not answer. */
async function leads(r: Replica): Promise<number | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${r.metricsPort}/metrics`, {
      signal: AbortSignal.timeout(1000),
    });
    const m = /^certroute_leader (\d+)/m.exec(await res.text());
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Samples every replica's certroute_leader, all at once, over `ms`. */
async function sample(ms: number): Promise<(number | undefined)[][]> {
  const out: (number | undefined)[][] = [];
  for (const end = Date.now() + ms; Date.now() < end; await sleep(150))
    out.push(await Promise.all(replicas.map(leads)));
  return out;
}

/** Milliseconds since `t`, for the log (measured, not asserted). */
const ms = (t: number) => Math.round(performance.now() - t);

const leaders = (s: (number | undefined)[]) =>
  s.flatMap((v, i) => (v === 1 ? [replicas[i]?.id] : []));

async function lease(): Promise<k8s.V1LeaseSpec> {
  return (
    (await coord.readNamespacedLease({ namespace: opNs, name: 'certroute-leader' })).spec ?? {}
  );
}

async function holderAmong(ids: string[], timeoutMs = 20_000): Promise<string> {
  return eventually(
    async () => {
      const spec: k8s.V1LeaseSpec = await lease().catch(() => ({}));
      const h = spec.holderIdentity;
      return h && ids.includes(h) ? h : undefined;
    },
    { timeoutMs },
  );
}

/** Writes to Route53 or the API that a process logged, and whether it led by then. */
function writesBeforeLeading(r: Replica): Record<string, unknown>[] {
  const lines = logLines(r.proc.logFile);
  const became = lines.findIndex((l) => l.msg === 'became leader');
  const writes = (l: Record<string, unknown>) => l.msg === 'changes sent' || l.msg === 'created';
  return lines.filter((l, i) => writes(l) && (became < 0 || i < became));
}

async function publish(name: string, ip: string): Promise<void> {
  const host = `${name}.${zone.name}`;
  await net.createNamespacedIngress({
    namespace: ns,
    body: ingress({ name, namespace: ns, hosts: [host] }),
  });
  await writeAddress(net, ns, name, [{ ip }]);
  await eventually(
    async () => (await record(r53, zone.id, host, 'A'))?.ResourceRecords?.[0]?.Value === ip,
    { timeoutMs: 30_000 },
  );
}

describe('leader election with clocks 30 s apart', () => {
  it('never has two leaders, and only the leader writes', { timeout: 240_000 }, async () => {
    // The real-clock replica leads first: the case the old rule broke (a +30 s follower saw its
    // renewTime as 33 s old, and took over a live Lease).
    const real = await start('op-real');
    await holderAmong(['op-real']);
    const ahead = await start('op-ahead', '+30s');
    const behind = await start('op-behind', '-30s');

    // The shift is real: each process stamps its log lines with its own Date.now().
    for (const [r, shift] of [
      [real, 0],
      [ahead, 30_000],
      [behind, -30_000],
    ] as const) {
      const line = await eventually(() =>
        logLines(r.proc.logFile).find((l) => typeof l.time === 'string'),
      );
      const first = Date.parse(String(line.time));
      expect(Math.abs(first - r.spawnedAt - shift), JSON.stringify(line)).toBeLessThan(10_000);
    }

    // 1. Several lease durations with the real-clock replica leading: the skewed ones follow.
    const transitions = (await lease()).leaseTransitions;
    await publish('one', '192.0.2.61');
    const phase1 = await sample(6 * leaseMs);
    for (const s of phase1) expect(leaders(s)).toEqual(['op-real']);
    expect(await lease()).toMatchObject({
      holderIdentity: 'op-real',
      leaseTransitions: transitions,
    });

    // 2. The leader dies: one of the skewed replicas takes over, and only one.
    process.kill(real.proc.pid, 'SIGKILL');
    let t = performance.now();
    const second = await holderAmong(['op-ahead', 'op-behind']);
    console.info(`takeover after the real-clock leader died: ${second}, ${ms(t)} ms`);
    const phase2 = await sample(4 * leaseMs);
    for (const s of phase2) expect(leaders(s).length).toBeLessThanOrEqual(1);
    expect(leaders(phase2.at(-1) ?? [])).toEqual([second]);
    expect(new Set(phase2.flatMap(leaders))).toEqual(new Set([second]));

    // 3. That one dies too: the last takes over within a few lease durations (with the old
    // rule, a -30 s replica waits until 33 s past the +30 s holder's renewTime by its clock).
    const [dying, last] = second === 'op-ahead' ? [ahead, behind] : [behind, ahead];
    process.kill(dying.proc.pid, 'SIGKILL');
    t = performance.now();
    await holderAmong([last.id], 4 * leaseMs);
    console.info(`takeover after ${dying.id} died: ${last.id}, ${ms(t)} ms`);
    await publish('two', '192.0.2.62');
    const phase3 = await sample(3 * leaseMs);
    for (const s of phase3) expect(leaders(s)).toEqual([last.id]);

    // Only the leader wrote: no process logged a write before it became leader, each became
    // leader once, and the records were written by the leader of the time.
    for (const r of replicas) {
      expect(writesBeforeLeading(r)).toEqual([]);
      expect(logLines(r.proc.logFile).filter((l) => l.msg === 'became leader')).toHaveLength(1);
      expect(rbacDenials(r.proc.logFile)).toEqual([]);
    }
    const sent = (r: Replica) =>
      logLines(r.proc.logFile).filter((l) => l.msg === 'changes sent').length;
    expect(sent(real)).toBeGreaterThan(0);
    expect(sent(last)).toBeGreaterThan(0);
    expect(last.proc.exitCode).toBeUndefined();
  });
});
