// Crash recovery, renewal with ARI, and CA faults: the certificate controller over time. The
// Ingresses are of Traefik's class: Traefik publishes their address and routes HTTP-01.
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Certificate } from '../../src/api/v1alpha1.js';
import type { Operator } from '../../src/operator.js';
import {
  createClusterIssuer,
  deleteClusterIssuer,
  labIssuer,
  ordersPlaced,
  pebbleLog,
  pebbleManagement,
} from '../lab/acme-helpers.js';
import {
  adminConfig,
  createNamespace,
  deleteNamespace,
  eventually,
  labEnv,
  labRoute53,
} from '../lab/context.js';
import { conditionOf, getCertificate, ingress } from '../lab/k8s-helpers.js';
import { ensureNamespace, spawnOperator, startOperator } from '../lab/operator.js';
import { startAcmeProxy } from '../lab/acme-proxy.js';
import { startPebble, type PebbleLab } from '../lab/pebble.js';
import { createZone, put } from '../lab/route53-helpers.js';

const env = labEnv();
const kc = adminConfig(env);
const net = kc.makeApiClient(k8s.NetworkingV1Api);
const core = kc.makeApiClient(k8s.CoreV1Api);
const r53 = labRoute53(env);
const suffix = Date.now().toString(36);
const issuers: string[] = [];

let zone: { id: string; name: string };
const namespaces: string[] = [];

beforeAll(async () => {
  await ensureNamespace(kc, 'certroute');
  zone = await createZone(r53, 'life');
});
afterAll(async () => {
  for (const i of issuers) await deleteClusterIssuer(kc, i);
  for (const n of namespaces) await deleteNamespace(kc, n);
});

async function newIssuer(
  name: string,
  extra: Parameters<typeof labIssuer>[2] = {},
): Promise<string> {
  const full = `${name}-${suffix}`;
  issuers.push(full);
  await createClusterIssuer(kc, labIssuer(env, full, extra));
  return full;
}

function flags(ns: string): string[] {
  return [
    `--watch-namespaces=${ns}`,
    '--leader-election=false',
    `--domain-filter=${zone.name}`,
    `--owner-id=lab-${ns}`,
    '--namespace=certroute',
  ];
}

async function tlsIngress(
  ns: string,
  name: string,
  host: string,
  issuer: string,
  dns: boolean,
): Promise<void> {
  await net.createNamespacedIngress({
    namespace: ns,
    body: ingress({
      name,
      namespace: ns,
      hosts: [host],
      tls: [{ secretName: `${name}-tls`, hosts: [host] }],
      className: env.ingressClass,
      annotations: { 'certroute.io/issuer': issuer, 'certroute.io/dns': String(dns) },
    }),
  });
  await eventually(async () => {
    const ing = await net.readNamespacedIngressStatus({ namespace: ns, name });
    return ing.status?.loadBalancer?.ingress?.[0]?.ip === env.ingressAddress;
  });
}

async function readyCert(ns: string, name: string, timeoutMs = 45_000): Promise<Certificate> {
  return eventually(
    async () => {
      const c = await getCertificate(kc, ns, name);
      return conditionOf(c, 'Ready')?.status === 'True' && c;
    },
    { timeoutMs },
  );
}

async function leafPem(ns: string, secret: string): Promise<string> {
  const s = await core.readNamespacedSecret({ namespace: ns, name: secret });
  const pem = Buffer.from(s.data?.['tls.crt'] ?? '', 'base64').toString('utf8');
  const m = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/.exec(pem);
  if (!m) throw new Error('no certificate in Secret');
  return `${m[0]}\n`;
}

/** What the renewal test's user added to the Secret (a data key, a label) is still there. */
async function expectUserAdditionsKept(ns: string, secret: string): Promise<void> {
  const s = await core.readNamespacedSecret({ namespace: ns, name: secret });
  expect(Buffer.from(s.data?.['extra.conf'] ?? '', 'base64').toString()).toBe('user data');
  expect(s.metadata?.labels?.['team.example/keep']).toBe('yes');
}

describe('crash recovery', () => {
  it('a restarted operator completes the stored order and places no new one', async () => {
    const ns = await createNamespace(kc, 'crash');
    namespaces.push(ns);
    // The CA answers the challenge POST with rateLimited for an hour: the order is placed
    // (its preflight passed) and then waits, with its authorization pending.
    const proxy = await startAcmeProxy(env.acmeDirectory, env.acmeCaFile);
    proxy.refuse({ action: 'challenge', first: 1000, retryAfterSeconds: 3600 });
    const issuer = await newIssuer('crash', { server: proxy.directory });
    const host = `crash.${zone.name}`;
    const logFile = join(env.dir, `operator-crash-${suffix}.log`);
    await put(r53, zone.id, host, 'A', [env.ingressAddress]);
    const first = spawnOperator(env, logFile, flags(ns));
    let second: ReturnType<typeof spawnOperator> | undefined;
    try {
      await tlsIngress(ns, 'crash', host, issuer, false);
      const pending = await eventually(
        async () => {
          const c = await getCertificate(kc, ns, 'crash-tls');
          return proxy.refused('challenge') > 0 && !!c?.status?.order?.url && c;
        },
        { timeoutMs: 40_000 },
      );
      const orderUrl = pending.status?.order?.url;
      expect(pending.status?.order?.authorizations[0]?.challenge?.token).toBeTruthy();
      const orders = ordersPlaced(env);

      process.kill(first.pid, 'SIGKILL');
      await first.exited;
      proxy.refuse(undefined);

      second = spawnOperator(env, logFile, flags(ns));
      const done = await readyCert(ns, 'crash-tls', 60_000);
      expect(done.status?.lastOrder).toMatchObject({ url: orderUrl, result: 'valid' });
      expect(ordersPlaced(env)).toBe(orders);
      expect(proxy.forwarded('newOrder')).toBe(1);
      const leaf = new X509Certificate(await leafPem(ns, 'crash-tls'));
      expect(leaf.subjectAltName).toBe(`DNS:${host}`);
    } finally {
      await first.stop();
      await second?.stop();
      await proxy.stop();
    }
  });
});

describe('renewal', () => {
  let op: Operator;
  let ns: string;
  let short: PebbleLab;
  beforeAll(async () => {
    ns = await createNamespace(kc, 'renew');
    namespaces.push(ns);
    // A Pebble of its own with a one-hour profile (see PebbleOptions.profiles).
    short = await startPebble(join(env.dir), {
      dnsServer: `${env.dnsHost}:${env.dnsPort}`,
      http01Port: env.http01Port,
      profiles: { 'lab-1h': 3600 },
    });
    op = await startOperator(env, flags(ns), undefined, {
      certificates: { ariRecheckMs: 500 },
    });
  });
  afterAll(async () => {
    await op?.stop();
    await short?.proc.stop();
  });

  it('renews inside the ARI window the CA gives, sending replaces', async () => {
    const issuer = await newIssuer('renew', { profile: 'lab-1h', server: short.directory });
    const host = `renew.${zone.name}`;
    await tlsIngress(ns, 'renew', host, issuer, true);
    const first = await readyCert(ns, 'renew-tls');
    expect(first.status?.revision).toBe(1);
    const firstLeaf = await leafPem(ns, 'renew-tls');
    const lifetime =
      Date.parse(first.status?.notAfter ?? '') - Date.parse(first.status?.notBefore ?? '');
    expect(lifetime).toBeGreaterThan(3500_000); // the issuer's lab-1h profile was used
    expect(lifetime).toBeLessThanOrEqual(3600_000);

    // A user (or another tool) adds a key and a label to the Secret: a renewal keeps them.
    await core.patchNamespacedSecret(
      {
        namespace: ns,
        name: 'renew-tls',
        body: {
          metadata: { labels: { 'team.example/keep': 'yes' } },
          data: { 'extra.conf': Buffer.from('user data').toString('base64') },
        },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );

    // The CA moves the window to a few seconds from now (Pebble's set-renewal-info).
    const start = new Date(Date.now() + 4000);
    const end = new Date(Date.now() + 7000);
    const res = await pebbleManagement(
      { ...env, acmeManagement: short.management },
      '/set-renewal-info/',
      {
        Certificate: firstLeaf,
        ARIResponse: JSON.stringify({
          suggestedWindow: { start: start.toISOString(), end: end.toISOString() },
        }),
      },
    );
    expect(res.status).toBe(200);
    const seen = await eventually(async () => {
      const c = await getCertificate(kc, ns, 'renew-tls');
      return c?.status?.ari?.windowStart === start.toISOString() && c;
    });
    const at = Date.parse(seen.status?.renewalTime ?? '');
    expect(at).toBeGreaterThanOrEqual(start.getTime());
    expect(at).toBeLessThanOrEqual(end.getTime());
    expect(seen.status?.renewalReason).toMatch(/ARI window/);
    const certID = seen.status?.ari?.certID;

    const second = await eventually(
      async () => {
        const c = await getCertificate(kc, ns, 'renew-tls');
        return c?.status?.revision === 2 && conditionOf(c, 'Ready')?.status === 'True' && c;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    // Not renewed before the window opened.
    expect(Date.now()).toBeGreaterThanOrEqual(start.getTime());
    expect(second.status?.lastOrder?.replaces).toBe(certID);
    expect(pebbleLog(env).some((l) => l.includes('is a replacement of'))).toBe(true);
    const secondLeaf = await leafPem(ns, 'renew-tls');
    expect(new X509Certificate(secondLeaf).serialNumber).not.toBe(
      new X509Certificate(firstLeaf).serialNumber,
    );
    expect(Date.parse(second.status?.renewalTime ?? '')).toBeGreaterThan(Date.now());
    await expectUserAdditionsKept(ns, 'renew-tls');
  });
});

describe('CA faults', () => {
  let op: Operator;
  let ns: string;
  let flaky: PebbleLab;
  beforeAll(async () => {
    ns = await createNamespace(kc, 'faults');
    namespaces.push(ns);
    // A second Pebble that rejects 40% of nonces as badNonce.
    flaky = await startPebble(join(env.dir), {
      dnsServer: `${env.dnsHost}:${env.dnsPort}`,
      http01Port: env.http01Port,
      nonceRejectPercent: 40,
    });
    op = await startOperator(env, flags(ns), undefined, { certificates: { retryBaseMs: 60_000 } });
  });
  afterAll(async () => {
    await op?.stop();
    await flaky?.proc.stop();
  });

  it('issues through badNonce rejections', async () => {
    const issuer = await newIssuer('flaky', { server: flaky.directory });
    const host = `flaky.${zone.name}`;
    await tlsIngress(ns, 'flaky', host, issuer, true);
    await readyCert(ns, 'flaky-tls', 60_000);
    const text = await op.metrics.registry.getSingleMetricAsString('certroute_acme_requests_total');
    expect(text).toMatch(/status="400"/);
    expect(text).toMatch(/action="finalize",status="200"/);
  });

  it('backs off with a clear condition when the CA stops answering', async () => {
    const issuer = `flaky-${suffix}`;
    await flaky.proc.stop();
    const host = `down.${zone.name}`;
    await tlsIngress(ns, 'down', host, issuer, true);
    const c = await eventually(
      async () => {
        const x = await getCertificate(kc, ns, 'down-tls');
        return (x?.status?.failedAttempts ?? 0) >= 1 && x;
      },
      { timeoutMs: 40_000 },
    );
    expect(conditionOf(c, 'Ready')).toMatchObject({ status: 'False', reason: 'OrderFailed' });
    expect(conditionOf(c, 'Issuing')?.message).toMatch(/attempt 1, next retry at/);
    const retryIn = Date.parse(c.status?.nextRetryTime ?? '') - Date.now();
    expect(retryIn).toBeGreaterThan(30_000);
    expect(retryIn).toBeLessThanOrEqual(60_000);
    expect(c.status?.order).toBeUndefined();
  });
});
