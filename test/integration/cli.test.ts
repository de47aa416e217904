// kubectl certroute against the lab: the CLI bundle (scripts/bundle.mjs, dist/cli.mjs) run as a
// child process with the admin kubeconfig, next to a spawned operator with leader election.
// One namespace holds a host for each case the issue names: denied by a DomainPolicy, waiting
// for its address, owned by someone else (a foreign TXT owner), failing its HTTP-01 challenge
// with Pebble's own error, ready, and a renewal in progress after `renew`.
//
// Two more Pebbles: "bad" validates HTTP-01 on a port nobody listens on (the operator's
// preflight, which probes through Traefik, passes; Pebble's validation is refused), and "slow"
// sleeps before each validation as a CA does (PEBBLE_VA_NOSLEEP off), so a renewal stays in
// flight long enough to be seen.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Certificate, DomainPolicy } from '../../src/api/v1alpha1.js';
import { createClusterIssuer, deleteClusterIssuer, labIssuer } from '../lab/acme-helpers.js';
import {
  adminConfig,
  createNamespace,
  deleteNamespace,
  eventually,
  labEnv,
  labRoute53,
  uniqueName,
} from '../lab/context.js';
import { getCertificate, ingress } from '../lab/k8s-helpers.js';
import { ensureNamespace, logLines, spawnOperator } from '../lab/operator.js';
import { buildCli, stepOf, type Explained, type LabCli } from '../lab/cli-run.js';
import { startPebble, type PebbleLab } from '../lab/pebble.js';
import { freePort, type ManagedProcess } from '../lab/process.js';
import { createZone, put } from '../lab/route53-helpers.js';

const env = labEnv();
const kc = adminConfig(env);
const net = kc.makeApiClient(k8s.NetworkingV1Api);
const custom = kc.makeApiClient(k8s.CustomObjectsApi);
const r53 = labRoute53(env);
const policies = { group: 'certroute.io', version: 'v1alpha1', plural: 'domainpolicies' };
const testLabel = { 'certroute.io/lab-test': 'cli' };

let ns: string;
let zone: { id: string; name: string };
let op: ManagedProcess | undefined;
let logFile = '';
let bad: PebbleLab | undefined;
let slow: PebbleLab | undefined;
const policy = uniqueName('cli');
const okIssuer = uniqueName('cli-ok');
const badIssuer = uniqueName('cli-bad');
let allowed: string;
const h = {} as Record<'denied' | 'waiting' | 'theirs' | 'failing' | 'ready', string>;

let labCli: LabCli | undefined;
function cliOf(): LabCli {
  if (!labCli) throw new Error('the CLI is built in beforeAll');
  return labCli;
}
const run = (...args: string[]) => cliOf().run(...args);
const json = <T>(...args: string[]) => cliOf().json<T>(...args);

async function deletePolicies(): Promise<void> {
  const list = (await custom.listClusterCustomObject({
    ...policies,
    labelSelector: 'certroute.io/lab-test=cli',
  })) as { items: DomainPolicy[] };
  for (const p of list.items)
    await custom
      .deleteClusterCustomObject({ ...policies, name: p.metadata.name ?? '' })
      .catch(() => undefined);
}

async function web(
  name: string,
  host: string,
  opts: { issuer?: string; className?: string } = {},
): Promise<void> {
  await net.createNamespacedIngress({
    namespace: ns,
    body: ingress({
      name,
      namespace: ns,
      hosts: [host],
      className: opts.className ?? env.ingressClass,
      annotations: {
        'certroute.io/dns': 'true',
        ...(opts.issuer ? { 'certroute.io/issuer': opts.issuer } : {}),
      },
      ...(opts.issuer ? { tls: [{ secretName: `${name}-tls`, hosts: [host] }] } : {}),
    }),
  });
}

beforeAll(async () => {
  labCli = buildCli(env.kubeconfig, 'certroute-cli-');
  await deletePolicies();
  ns = await createNamespace(kc, 'cli');
  await ensureNamespace(kc, 'certroute');
  zone = await createZone(r53, 'cli');
  allowed = `allowed.${zone.name}`;
  Object.assign(h, {
    denied: `denied.${zone.name}`,
    waiting: `waiting.${allowed}`,
    theirs: `theirs.${allowed}`,
    failing: `failing.${allowed}`,
    ready: `ready.${allowed}`,
  });
  // A record of another certroute (owner id "other-cluster"), as dns.test.ts writes one.
  await put(r53, zone.id, h.theirs, 'A', ['198.51.100.2']);
  await put(r53, zone.id, `a-${h.theirs}`, 'TXT', [
    '"heritage=certroute,certroute/owner=other-cluster,certroute/resource=ingress/x/y"',
  ]);
  const pebbleDir = (name: string) => {
    const d = join(env.dir, `cli-${name}-${Date.now().toString(36)}`);
    mkdirSync(d, { recursive: true });
    return d;
  };
  const dnsServer = `${env.dnsHost}:${env.dnsPort}`;
  bad = await startPebble(pebbleDir('bad'), { dnsServer, http01Port: await freePort() });
  slow = await startPebble(pebbleDir('slow'), {
    dnsServer,
    http01Port: env.http01Port,
    vaNoSleep: false,
  });
  await createClusterIssuer(kc, labIssuer(env, okIssuer, { server: slow.directory }));
  await createClusterIssuer(kc, labIssuer(env, badIssuer, { server: bad.directory }));
  await custom.createClusterCustomObject({
    ...policies,
    body: {
      apiVersion: 'certroute.io/v1alpha1',
      kind: 'DomainPolicy',
      metadata: { name: policy, labels: testLabel },
      spec: { namespaces: { names: [ns] }, domains: [{ suffix: allowed }] },
    },
  });
  logFile = join(env.dir, `${ns}-operator.log`);
  op = spawnOperator(env, logFile, [
    '--leader-election=true',
    '--namespace=certroute',
    `--watch-namespaces=${ns}`,
    `--domain-filter=${zone.name}`,
    '--owner-id=lab-cli',
  ]);
  await web('denied', h.denied);
  await web('waiting', h.waiting, { className: 'nobody-serves-this' });
  await web('theirs', h.theirs);
  await web('failing', h.failing, { issuer: badIssuer });
  await web('ready', h.ready, { issuer: okIssuer });
}, 120_000);

afterAll(async () => {
  await op?.stop();
  await bad?.proc.stop();
  await slow?.proc.stop();
  await deletePolicies();
  for (const i of [okIssuer, badIssuer]) await deleteClusterIssuer(kc, i);
  if (ns) await deleteNamespace(kc, ns);
  labCli?.remove();
});

describe('kubectl certroute explain', () => {
  it('a host a DomainPolicy denies: the policy step fails, naming the policy', async () => {
    const e = await eventually(
      async () => {
        const r = await json<Explained>('explain', h.denied);
        return stepOf(r.body, 'record')?.state === 'failed' && r;
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    expect(e.code).toBe(1);
    expect(stepOf(e.body, 'source')).toMatchObject({ state: 'passed' });
    expect(stepOf(e.body, 'policy')).toMatchObject({ state: 'failed' });
    expect(stepOf(e.body, 'policy')?.detail).toContain(
      `DomainPolicy ${policy}: ${h.denied} matches none of spec.domains`,
    );
    const table = await run('explain', h.denied);
    expect(table.code).toBe(1);
    expect(table.stdout).toMatch(/policy\s+failed\s+.*DomainPolicy/);
  }, 90_000);

  it('a host whose Ingress has no address: the address and record steps wait', async () => {
    const e = await eventually(
      async () => {
        const r = await json<Explained>('explain', h.waiting);
        return stepOf(r.body, 'record')?.state === 'waiting' && r;
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    expect(e.code).toBe(1);
    expect(stepOf(e.body, 'policy')).toMatchObject({ state: 'passed' });
    expect(stepOf(e.body, 'address')).toMatchObject({ state: 'waiting' });
    expect(stepOf(e.body, 'address')?.detail).toContain('has no load balancer address yet');
    expect(stepOf(e.body, 'address')?.todo).toContain('nobody-serves-this');
  }, 90_000);

  it('a host another owner holds: the owner step fails with its TXT owner', async () => {
    const e = await eventually(
      async () => {
        const r = await json<Explained>('explain', h.theirs);
        return stepOf(r.body, 'owner')?.state === 'failed' && r;
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    expect(e.code).toBe(1);
    expect(stepOf(e.body, 'zone')).toMatchObject({
      state: 'passed',
      detail: `hosted zone ${zone.id}`,
    });
    expect(stepOf(e.body, 'owner')?.detail).toContain('certroute owner "other-cluster"');
    expect(stepOf(e.body, 'address')).toMatchObject({ state: 'passed' });
  }, 90_000);

  it("a challenge the CA fails: the order step fails with the CA's own words", async () => {
    const c = await eventually(
      async () => {
        const x = await getCertificate(kc, ns, 'failing-tls');
        return (x?.status?.failedAttempts ?? 0) >= 1 && x;
      },
      { timeoutMs: 120_000, intervalMs: 1000 },
    );
    const said = c.status?.lastOrder?.message ?? c.status?.lastFailure ?? '';
    const e = await json<Explained>('explain', h.failing);
    expect(e.code).toBe(1);
    expect(stepOf(e.body, 'record')).toMatchObject({ state: 'passed' });
    expect(stepOf(e.body, 'solver')).toMatchObject({ state: 'passed' });
    const order = stepOf(e.body, 'order');
    expect(order?.state).toBe('failed');
    expect(said.length).toBeGreaterThan(0);
    expect(order?.detail).toContain(said.slice(0, 60));
    // Pebble's VA could not connect: its words, not ours.
    expect(order?.detail).toMatch(/connection refused|connect/i);
    expect(order?.todo).toContain('kubectl certroute retry failing-tls');
    console.log(`failing challenge, as explain shows it: ${order?.detail}`);
  }, 150_000);

  it('a ready host: every step passes, exit 0', async () => {
    const e = await eventually(
      async () => {
        const r = await json<Explained>('explain', h.ready);
        return r.code === 0 && r;
      },
      { timeoutMs: 120_000, intervalMs: 1000 },
    );
    expect(e.body.ready).toBe(true);
    expect(e.body.steps.map((s) => `${s.step}:${s.state}`)).toEqual([
      'source:passed',
      'policy:passed',
      'zone:passed',
      'owner:passed',
      'address:passed',
      'record:passed',
      'solver:passed',
      'order:passed',
      'secret:passed',
    ]);
    const table = await run('explain', h.ready);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(`Secret ${ns}/ready-tls: valid until`);
    expect(table.stdout).not.toContain('\u001b['); // no colour without a terminal
  }, 150_000);
});

describe('kubectl certroute status, inspect, check', () => {
  it('status lists every host of the namespace; exit 1 while some are not ready', async () => {
    const r = await json<{ hosts: { host: string; ready: boolean; dns: { state: string } }[] }>(
      'status',
      '-n',
      ns,
    );
    expect(r.code).toBe(1);
    const byHost = new Map(r.body.hosts.map((x) => [x.host, x]));
    expect(byHost.get(h.ready)).toMatchObject({ ready: true, dns: { state: 'Published' } });
    expect(byHost.get(h.denied)).toMatchObject({ ready: false, dns: { state: 'Denied' } });
    expect(byHost.get(h.theirs)).toMatchObject({ ready: false, dns: { state: 'OwnedByOther' } });
    const one = await run('status', h.ready);
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(
      new RegExp(`${h.ready.replace(/\./g, '\\.')}\\s+Ingress/ready\\s+A `),
    );
  }, 60_000);

  it('inspect secret: the chain, SANs, key type, and the key matches', async () => {
    const r = await json<{
      leaf: { sans: string[] };
      keyMatches: boolean;
      keyType: string;
      chain: unknown[];
    }>('inspect', 'secret', 'ready-tls', '-n', ns);
    expect(r.code).toBe(0);
    expect(r.body.leaf.sans).toEqual([h.ready]);
    expect(r.body.keyMatches).toBe(true);
    expect(r.body.keyType).toBe('ECDSA prime256v1');
    expect(r.body.chain.length).toBeGreaterThanOrEqual(1);
    const table = await run('inspect', 'secret', 'ready-tls', '-n', ns);
    expect(table.stdout).toContain('matches the certificate');
  }, 60_000);

  it('check: the CRDs, a leader, the issuers with accounts, the zone reached', async () => {
    const r = await eventually(
      async () => {
        const x = await json<Explained>('check');
        const zoneOk = x.body.steps.some(
          (s) => s.step === `zone ${zone.id}` && s.state === 'passed',
        );
        const leader = x.body.steps.find((s) => s.step === 'leader')?.state === 'passed';
        return zoneOk && leader && x;
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    const states = new Map(r.body.steps.map((s) => [s.step, s.state]));
    for (const crd of [
      'certificates',
      'clusterissuers',
      'issuers',
      'dnsendpoints',
      'domainpolicies',
    ])
      expect(states.get(`crd ${crd}.certroute.io`)).toBe('passed');
    expect(states.get(`ClusterIssuer ${okIssuer}`)).toBe('passed');
    expect(states.get(`ClusterIssuer ${badIssuer}`)).toBe('passed');
    console.log(
      `check: exit ${r.code}; ${r.body.steps
        .filter((s) => s.state !== 'passed')
        .map((s) => `${s.step} ${s.state}`)
        .join(', ')}`,
    );
  }, 90_000);
});

/**
 * `renew`, then the order seen in flight through `status`. Pebble reuses a valid authorization
 * about once in 100 orders even with PEBBLE_AUTHZREUSE=0 (its check is `rand.Intn(100) > 0`):
 * that order is valid in one round trip, too fast to be seen. Such a renewal is done (new
 * revision, its token recorded) and is asked for again, at most three times in all.
 */
async function renewSeenInFlight(): Promise<{
  token: string;
  inFlight: string;
  revision: number;
  before: Certificate | undefined;
}> {
  for (let attempt = 1; ; attempt++) {
    const before = await getCertificate(kc, ns, 'ready-tls');
    const revision = before?.status?.revision ?? 0;
    const r = await run('renew', 'ready-tls', '-n', ns);
    expect(r.code).toBe(0);
    const token = /certroute\.io\/renew=(\S+)\)/.exec(r.stdout)?.[1];
    expect(token).toBeDefined();
    const seen = await eventually(
      async () => {
        const s = await json<{ hosts: { certificate: { step?: string } }[] }>('status', h.ready);
        const step = s.body.hosts[0]?.certificate.step;
        if (step?.startsWith('order')) return { step };
        const c = await getCertificate(kc, ns, 'ready-tls');
        const done = (c?.status?.revision ?? 0) > revision && c?.status?.requests?.renew === token;
        return done && { step: undefined };
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    if (seen.step) return { token: token ?? '', inFlight: seen.step, revision, before };
    if (attempt === 3) throw new Error('the renewal was never seen in flight in 3 attempts');
  }
}

describe('kubectl certroute renew', () => {
  it('renew: the operator orders again at once, the order is seen in flight, then Ready with a new certificate', async () => {
    await eventually(
      async () => {
        const c = await getCertificate(kc, ns, 'ready-tls');
        return (c?.status?.revision ?? 0) >= 1 && c;
      },
      { timeoutMs: 90_000, intervalMs: 1000 },
    );
    const { token, inFlight, revision, before } = await renewSeenInFlight().catch(
      async (err: unknown) => {
        // What the operator did instead: for whoever reads the failure.
        console.log(JSON.stringify((await getCertificate(kc, ns, 'ready-tls'))?.status));
        for (const l of logLines(logFile)
          .filter((x) => x.name === 'ready-tls')
          .slice(-15))
          console.log(JSON.stringify(l));
        throw err;
      },
    );
    expect(inFlight).toMatch(/^order: (http-01 .+|finalizing)$/);
    const explained = await json<Explained>('explain', h.ready);
    expect(stepOf(explained.body, 'order')).toMatchObject({ state: 'waiting' });
    expect(explained.code).toBe(1);
    const after = await eventually(
      async () => {
        const c: Certificate | undefined = await getCertificate(kc, ns, 'ready-tls');
        return (c?.status?.revision ?? 0) > revision && c;
      },
      { timeoutMs: 90_000, intervalMs: 1000 },
    );
    expect(after.status?.requests?.renew).toBe(token);
    expect(after.status?.serialNumber).not.toBe(before?.status?.serialNumber);
    const again = await eventually(async () => {
      const x = await json<Explained>('explain', h.ready);
      return x.code === 0 && x;
    });
    expect(again.body.ready).toBe(true);
  }, 270_000);

  it('usage errors exit 2 with the command help', async () => {
    const r = await run('renew');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Usage: kubectl certroute renew');
    const help = await run('explain', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: kubectl certroute explain HOST');
  });
});
