// Orders only when they can succeed (issue 22): the preflight before newOrder, and the end of an
// order that never validates. The issuer reaches Pebble through the lab's ACME proxy, which
// records every newOrder with its identifiers, so "no order" is counted per host, not guessed.
import * as k8s from '@kubernetes/client-node';
import * as acme from 'acme-client';
import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Certificate } from '../../src/api/v1alpha1.js';
import type { Operator } from '../../src/operator.js';
import { createClusterIssuer, deleteClusterIssuer, labIssuer } from '../lab/acme-helpers.js';
import { startAcmeProxy, type AcmeProxy } from '../lab/acme-proxy.js';
import {
  adminConfig,
  createNamespace,
  deleteNamespace,
  eventually,
  labEnv,
  labRoute53,
} from '../lab/context.js';
import {
  conditionOf,
  eventsFor,
  getCertificate,
  ingress,
  listDnsEndpoints,
} from '../lab/k8s-helpers.js';
import { ensureNamespace, startOperator } from '../lab/operator.js';
import { createZone, put, records } from '../lab/route53-helpers.js';

const env = labEnv();
const kc = adminConfig(env);
const net = kc.makeApiClient(k8s.NetworkingV1Api);
const core = kc.makeApiClient(k8s.CoreV1Api);
const r53 = labRoute53(env);
const suffix = Date.now().toString(36);
const httpIssuer = `pre-http-${suffix}`;
const badSolverIssuer = `pre-badsolver-${suffix}`;
const dnsIssuer = `pre-dns-${suffix}`;

let ns: string;
let stuckNs: string;
let zone: { id: string; name: string };
/** A zone certroute does not manage (outside --domain-filter): DNS "managed elsewhere". */
let elsewhere: { id: string; name: string };
let proxy: AcmeProxy;
let op: Operator;
let stuckOp: Operator;

beforeAll(async () => {
  ns = await createNamespace(kc, 'preflight');
  stuckNs = await createNamespace(kc, 'stuck');
  await ensureNamespace(kc, 'certroute');
  zone = await createZone(r53, 'pre');
  elsewhere = await createZone(r53, 'elsewhere');
  proxy = await startAcmeProxy(env.acmeDirectory, env.acmeCaFile);
  await createClusterIssuer(kc, labIssuer(env, httpIssuer, { server: proxy.directory }));
  // Its solver Ingress is of a class no controller serves: the probe cannot come back.
  await createClusterIssuer(
    kc,
    labIssuer(env, badSolverIssuer, {
      server: proxy.directory,
      solvers: [
        {
          http01: {
            ingressClassName: 'nobody-serves-this',
            // The template shapes the objects the probe goes through (issue 22, item 6).
            pathType: 'ImplementationSpecific',
            serviceType: 'NodePort',
            ingressTemplate: {
              metadata: {
                labels: { 'team.example/owner': 'shop', 'certroute.io/solver': 'not-this' },
                annotations: { 'lb.example/scheme': 'internet-facing' },
              },
            },
          },
        },
      ],
    }),
  );
  await createClusterIssuer(
    kc,
    labIssuer(env, dnsIssuer, {
      server: proxy.directory,
      solvers: [{ dns01: { route53: { region: env.awsRegion } } }],
    }),
  );
  op = await startOperator(
    env,
    [
      `--watch-namespaces=${ns}`,
      '--leader-election=false',
      `--domain-filter=${zone.name}`,
      '--owner-id=lab-preflight',
      '--namespace=certroute',
    ],
    undefined,
    { certificates: { retryBaseMs: 500 } },
  );
  // A second operator whose resolvers never answer: a DNS-01 TXT value is written but never
  // seen, so its order stays pending until --order-timeout ends it.
  stuckOp = await startOperator(
    env,
    [
      `--watch-namespaces=${stuckNs}`,
      '--leader-election=false',
      `--domain-filter=${zone.name}`,
      '--owner-id=lab-stuck',
      '--namespace=certroute',
      '--recursive-nameservers=127.0.0.1:9',
      '--order-timeout=6s',
    ],
    undefined,
    { certificates: { retryBaseMs: 60_000 } },
  );
}, 60_000);

afterAll(async () => {
  await op?.stop();
  await stuckOp?.stop();
  await proxy?.stop();
  for (const i of [httpIssuer, badSolverIssuer, dnsIssuer]) await deleteClusterIssuer(kc, i);
  await deleteNamespace(kc, ns);
  await deleteNamespace(kc, stuckNs);
});

function ordersFor(host: string): number {
  return proxy.calls.filter(
    (c) => c.action === 'newOrder' && !c.refused && c.identifiers.includes(host),
  ).length;
}

async function tlsIngress(
  namespace: string,
  name: string,
  hosts: string[],
  issuer: string,
  className: string,
  tls: { secretName?: string; hosts: string[] }[] = [{ secretName: `${name}-tls`, hosts }],
): Promise<void> {
  await net.createNamespacedIngress({
    namespace,
    body: ingress({
      name,
      namespace,
      hosts,
      tls,
      className,
      annotations: { 'certroute.io/issuer': issuer },
    }),
  });
}

async function issuing(namespace: string, name: string, reason: string): Promise<Certificate> {
  return eventually(
    async () => {
      const c = await getCertificate(kc, namespace, name);
      return conditionOf(c, 'Issuing')?.reason === reason && c;
    },
    { timeoutMs: 30_000 },
  );
}

async function ready(namespace: string, name: string): Promise<Certificate> {
  return eventually(
    async () => {
      const c = await getCertificate(kc, namespace, name);
      return conditionOf(c, 'Ready')?.status === 'True' && c;
    },
    { timeoutMs: 60_000 },
  );
}

/** The Certificate keeps its reason for a while (several preflight tries) and no order goes out. */
async function holds(namespace: string, name: string, host: string, reason: string) {
  const c = await issuing(namespace, name, reason);
  const cond = conditionOf(c, 'Issuing');
  expect(cond?.status).toBe('False');
  expect(cond?.message).toContain(host);
  expect(c.status?.order).toBeUndefined();
  // Three backoff steps (2 s, 4 s, ...) later: still no order.
  await new Promise((r) => setTimeout(r, 7000));
  const later = await getCertificate(kc, namespace, name);
  expect(conditionOf(later, 'Issuing')?.reason).toBe(reason);
  expect(ordersFor(host)).toBe(0);
  const events = await eventsFor(kc, namespace, name);
  expect(events.some((e) => e.reason === reason && e.message?.includes(host))).toBe(true);
  return cond;
}

describe('the preflight before an order', () => {
  it('a host whose Ingress has no address: no order until it has one, then exactly one', async () => {
    const host = `noaddr.${zone.name}`;
    // A class no controller serves: nobody writes status.loadBalancer.
    await tlsIngress(ns, 'noaddr', [host], httpIssuer, 'nobody-serves-this');
    const cond = await holds(ns, 'noaddr-tls', host, 'WaitingForAddress');
    expect(cond?.message).toContain(`Ingress ${ns}/noaddr has no address`);
    // Traefik takes it over and publishes its address: the wait ends without any backoff left.
    await net.patchNamespacedIngress(
      { namespace: ns, name: 'noaddr', body: { spec: { ingressClassName: env.ingressClass } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await ready(ns, 'noaddr-tls');
    expect(ordersFor(host)).toBe(1);
  }, 120_000);

  it('a host in no zone that does not resolve: no order; once DNS managed elsewhere points at the Ingress, one', async () => {
    const host = `shop.${elsewhere.name}`;
    await tlsIngress(ns, 'elsewhere', [host], httpIssuer, env.ingressClass);
    const cond = await holds(ns, 'elsewhere-tls', host, 'WaitingForDNS');
    expect(cond?.message).toContain(`${host} does not resolve yet`);
    // The DNSEndpoint says certroute cannot publish it: no managed zone holds it.
    const dns = await eventually(async () => {
      const e = (await listDnsEndpoints(kc, ns)).find((d) => d.metadata.name === 'elsewhere');
      return e?.status?.endpoints?.some((r) => r.state === 'NoZone') && e;
    });
    expect(dns.status?.endpoints?.[0]?.dnsName).toBe(host);
    // Someone else's DNS points the host at the Ingress: certroute orders once and issues.
    await put(r53, elsewhere.id, host, 'A', [env.ingressAddress]);
    await ready(ns, 'elsewhere-tls');
    expect(ordersFor(host)).toBe(1);
  }, 120_000);

  it('a solver Ingress nobody serves: SolverUnreachable, and no order', async () => {
    const host = `badsolver.${zone.name}`;
    await tlsIngress(ns, 'badsolver', [host], badSolverIssuer, env.ingressClass);
    const cond = await holds(ns, 'badsolver-tls', host, 'SolverUnreachable');
    expect(cond?.message).toMatch(/probe through the solver Ingress failed/);
    await expectShapedSolver('badsolver-tls');
  }, 120_000);

  it('a TLS block whose hosts are all invalid: an Event and a condition naming them and why; the other block issues', async () => {
    const good = `good.${zone.name}`;
    // The API server takes these (RFC 1123 subdomains) but no CA certifies them.
    await tlsIngress(ns, 'mixed', [good], httpIssuer, env.ingressClass, [
      { secretName: 'mixed-good-tls', hosts: [good] },
      { secretName: 'mixed-bad-tls', hosts: ['localhost', '10.1.2.3'] },
    ]);
    const want =
      'spec.tls for Secret mixed-bad-tls lists no valid hosts: "localhost" (a single label, not a fully qualified name), "10.1.2.3" (an IP address, not a hostname); no certificate for it';
    const events = await eventually(async () => {
      const evs = await eventsFor(kc, ns, 'mixed');
      return evs.some((e) => e.reason === 'InvalidTLS' && e.message === want) && evs;
    });
    expect(events.find((e) => e.reason === 'InvalidTLS')?.type).toBe('Warning');
    const dns = await eventually(async () => {
      const e = (await listDnsEndpoints(kc, ns)).find((d) => d.metadata.name === 'mixed');
      return e?.status?.conditions?.some((c) => c.type === 'SourceValid') && e;
    });
    const cond = dns.status?.conditions?.find((c) => c.type === 'SourceValid');
    expect(cond).toMatchObject({ status: 'False', reason: 'InvalidHost' });
    expect(cond?.message).toContain(`InvalidTLS: ${want}`);
    await ready(ns, 'mixed-good-tls');
    expect(await getCertificate(kc, ns, 'mixed-bad-tls')).toBeUndefined();
  }, 120_000);
});

describe('an order that never validates', () => {
  it('is abandoned after --order-timeout, its authorization deactivated in Pebble', async () => {
    const host = `stuck.${zone.name}`;
    await net.createNamespacedIngress({
      namespace: stuckNs,
      body: ingress({
        name: 'stuck',
        namespace: stuckNs,
        hosts: [host],
        tls: [{ secretName: 'stuck-tls', hosts: [host] }],
        className: env.ingressClass,
        annotations: { 'certroute.io/issuer': dnsIssuer, 'certroute.io/dns': 'false' },
      }),
    });
    const pending = await eventually(
      async () => {
        const c = await getCertificate(kc, stuckNs, 'stuck-tls');
        return (c?.status?.order?.authorizations.length ?? 0) > 0 && c;
      },
      { timeoutMs: 30_000 },
    );
    const authzUrl = pending.status?.order?.authorizations[0]?.url ?? '';
    const orderUrl = pending.status?.order?.url ?? '';
    // A failed attempt: Ready names the reason, Issuing says Failed with the details.
    const failed = await eventually(
      async () => {
        const c = await getCertificate(kc, stuckNs, 'stuck-tls');
        return conditionOf(c, 'Ready')?.reason === 'OrderTimedOut' && c;
      },
      { timeoutMs: 30_000 },
    );
    expect(conditionOf(failed, 'Issuing')?.message).toMatch(
      /still pending \d+s after it was placed \(--order-timeout 6s\): abandoned, 1 pending authorization\(s\) deactivated/,
    );
    expect(failed.status?.order).toBeUndefined();
    expect(failed.status?.lastOrder).toMatchObject({ url: orderUrl });
    expect(ordersFor(host)).toBe(1);
    // As Pebble has it, read with the issuer's own account key.
    expect(await authorizationStatus(`${dnsIssuer}-account`, authzUrl)).toBe('deactivated');
    // The challenge's TXT value went with it.
    const txt = (await records(r53, zone.id)).filter(
      (r) => r.Type === 'TXT' && r.Name?.startsWith(`_acme-challenge.${host}`),
    );
    expect(txt).toEqual([]);
  }, 120_000);
});

/** The probe went through the solver's objects, shaped by the issuer's template. */
async function expectShapedSolver(certificate: string): Promise<void> {
  const solver = await net.listNamespacedIngress({
    namespace: ns,
    labelSelector: `certroute.io/solver=http01,certroute.io/certificate=${certificate}`,
  });
  expect(solver.items).toHaveLength(1);
  const [ing] = solver.items as [k8s.V1Ingress];
  expect(ing).toMatchObject({
    metadata: {
      // The template's labels and annotations, certroute's own labels winning.
      labels: { 'team.example/owner': 'shop', 'certroute.io/solver': 'http01' },
      annotations: { 'lb.example/scheme': 'internet-facing' },
    },
    spec: {
      ingressClassName: 'nobody-serves-this',
      rules: [
        {
          http: {
            paths: [{ path: '/.well-known/acme-challenge/', pathType: 'ImplementationSpecific' }],
          },
        },
      ],
    },
  });
  const svc = await core.readNamespacedService({ namespace: ns, name: ing.metadata?.name ?? '' });
  expect(svc.spec).toMatchObject({ type: 'NodePort', ports: [{ port: 80 }] });
  expect(svc.spec?.ports?.[0]?.nodePort).toBeGreaterThan(0);
}

/** An authorization's status from the CA (POST-as-GET through the proxy, the account's key). */
async function authorizationStatus(accountSecret: string, url: string): Promise<string> {
  const s = await core.readNamespacedSecret({ namespace: 'certroute', name: accountSecret });
  const key = Buffer.from(s.data?.['tls.key'] ?? '', 'base64');
  acme.axios.defaults.httpsAgent = new Agent({ ca: readFileSync(env.acmeCaFile) });
  const client = new acme.Client({ directoryUrl: proxy.directory, accountKey: key });
  await client.createAccount({ onlyReturnExisting: true });
  const [a] = await client.getAuthorizations({ authorizations: [url] } as acme.Order);
  return a?.status ?? '';
}
