// The certificate controller against the real API server, Pebble, moto and the lab DNS. The
// Ingresses are of Traefik's class: Traefik publishes their address and routes HTTP-01.
import { X509Certificate } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import * as x509 from '@peculiar/x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterIssuer } from '../../src/api/v1alpha1.js';
import type { Operator } from '../../src/operator.js';
import {
  createClusterIssuer,
  deleteClusterIssuer,
  labIssuer,
  ordersPlaced,
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
import {
  conditionOf,
  eventsFor,
  getCertificate,
  ingress,
  listDnsEndpoints,
} from '../lab/k8s-helpers.js';
import { ensureNamespace, startOperator } from '../lab/operator.js';
import { createZone, put } from '../lab/route53-helpers.js';

const env = labEnv();
const kc = adminConfig(env);
const net = kc.makeApiClient(k8s.NetworkingV1Api);
const core = kc.makeApiClient(k8s.CoreV1Api);
const custom = kc.makeApiClient(k8s.CustomObjectsApi);
const r53 = labRoute53(env);

let ns: string;
let zone: { id: string; name: string };
let op: Operator;
const issuer = `lab-${Date.now().toString(36)}`;

beforeAll(async () => {
  ns = await createNamespace(kc, 'certs');
  await ensureNamespace(kc, 'certroute');
  zone = await createZone(r53, 'certs');
  await createClusterIssuer(kc, labIssuer(env, issuer, { email: 'ops@example.com' }));
  op = await startOperator(env, [
    `--watch-namespaces=${ns}`,
    '--leader-election=false',
    `--domain-filter=${zone.name}`,
    '--owner-id=lab-certs',
    '--namespace=certroute',
  ]);
});
afterAll(async () => {
  await op?.stop();
  await deleteClusterIssuer(kc, issuer);
  await deleteNamespace(kc, ns);
});

async function makeTlsIngress(
  name: string,
  hosts: string[],
  secretName: string,
  annotations: Record<string, string> = {},
): Promise<void> {
  await net.createNamespacedIngress({
    namespace: ns,
    body: ingress({
      name,
      namespace: ns,
      hosts,
      tls: [{ secretName, hosts }],
      className: env.ingressClass,
      annotations: { 'certroute.io/issuer': issuer, 'certroute.io/dns': 'true', ...annotations },
    }),
  });
}

/** Traefik, not the test, writes the address; this waits until it has. */
async function traefikAddress(name: string): Promise<void> {
  await eventually(async () => {
    const ing = await net.readNamespacedIngressStatus({ namespace: ns, name });
    return ing.status?.loadBalancer?.ingress?.[0]?.ip === env.ingressAddress;
  });
}

async function secretChain(name: string): Promise<X509Certificate[]> {
  const s = await core.readNamespacedSecret({ namespace: ns, name });
  const pem = Buffer.from(s.data?.['tls.crt'] ?? '', 'base64').toString('utf8');
  return (pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? []).map(
    (b) => new X509Certificate(b),
  );
}

describe('ClusterIssuer', () => {
  it('registers an ACME account and keeps its key in a Secret in the operator namespace', async () => {
    const iss = await eventually(async () => {
      const o = (await custom.getClusterCustomObject({
        group: 'certroute.io',
        version: 'v1alpha1',
        plural: 'clusterissuers',
        name: issuer,
      })) as ClusterIssuer;
      return o.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' && o;
    });
    expect(iss.status?.acme?.uri).toMatch(/^https:\/\/127\.0\.0\.1:\d+\//);
    const key = await core.readNamespacedSecret({
      namespace: 'certroute',
      name: `${issuer}-account`,
    });
    expect(Buffer.from(key.data?.['tls.key'] ?? '', 'base64').toString()).toMatch(
      /BEGIN PRIVATE KEY/,
    );
  });

  it.each([
    ['an unreachable CA', { server: 'https://127.0.0.1:1/dir' }, 'CAUnreachable'],
    ['a bad email', { email: 'not an email' }, 'InvalidEmail'],
  ])('says Ready=False with a precise reason for %s', async (_, extra, reason) => {
    const name = `${issuer}-${reason.toLowerCase()}`;
    await createClusterIssuer(kc, labIssuer(env, name, extra));
    try {
      const c = await eventually(async () => {
        const o = (await custom.getClusterCustomObject({
          group: 'certroute.io',
          version: 'v1alpha1',
          plural: 'clusterissuers',
          name,
        })) as ClusterIssuer;
        return o.status?.conditions?.find((x) => x.type === 'Ready' && x.status === 'False');
      });
      expect(c.reason).toBe(reason);
      expect(c.message.length).toBeGreaterThan(10);
    } finally {
      await deleteClusterIssuer(kc, name);
    }
  });
});

describe('HTTP-01 issuance', () => {
  it('issues a certificate for exactly the TLS hosts into a kubernetes.io/tls Secret', async () => {
    const hosts = [`app.${zone.name}`, `www.${zone.name}`];
    await makeTlsIngress('app', hosts, 'app-tls');
    await traefikAddress('app');
    const cert = await eventually(
      async () => {
        const c = await getCertificate(kc, ns, 'app-tls');
        return conditionOf(c, 'Ready')?.status === 'True' && c;
      },
      { timeoutMs: 45_000 },
    );
    expect(cert.status?.notAfter).toBeTruthy();
    expect(cert.status?.order).toBeUndefined();
    expect(cert.status?.lastOrder?.result).toBe('valid');

    const secret = await core.readNamespacedSecret({ namespace: ns, name: 'app-tls' });
    expect(secret.type).toBe('kubernetes.io/tls');
    expect(secret.metadata?.labels?.['app.kubernetes.io/managed-by']).toBe('certroute');
    expect(secret.metadata?.annotations?.['certroute.io/certificate-name']).toBe('app-tls');
    const key = Buffer.from(secret.data?.['tls.key'] ?? '', 'base64').toString();
    expect(key).toMatch(/^-----BEGIN PRIVATE KEY-----/);

    // The chain verifies up to Pebble's root, fetched from Pebble itself.
    const chain = await secretChain('app-tls');
    expect(chain.length).toBeGreaterThanOrEqual(2);
    const [leaf, intermediate] = chain as [X509Certificate, X509Certificate];
    const root = new X509Certificate((await pebbleManagement(env, '/roots/0')).text);
    expect(leaf.verify(intermediate.publicKey)).toBe(true);
    expect(intermediate.verify(root.publicKey)).toBe(true);
    expect(
      leaf.checkPrivateKey(await import('node:crypto').then((c) => c.createPrivateKey(key))),
    ).toBe(true);
    const sans = (leaf.subjectAltName ?? '').split(', ').map((s) => s.replace('DNS:', ''));
    expect(sans.sort()).toEqual([...hosts].sort());

    // Events on the Ingress, and the solver objects are gone.
    await eventually(async () =>
      (await eventsFor(kc, ns, 'app')).some((e) => e.reason === 'Issued'),
    );
    const solverIngresses = await net.listNamespacedIngress({
      namespace: ns,
      labelSelector: 'certroute.io/solver=http01',
    });
    expect(solverIngresses.items).toEqual([]);
    const svcs = await core.listNamespacedService({
      namespace: ns,
      labelSelector: 'certroute.io/solver=http01',
    });
    expect(svcs.items).toEqual([]);
    // The solver Ingress was never a source: no DNSEndpoint was made for it.
    const endpoints = await listDnsEndpoints(kc, ns);
    expect(
      endpoints.map((d) => d.metadata.name).filter((n) => n?.startsWith('certroute-')),
    ).toEqual([]);
  });

  it('exports expiry metrics for its certificates and for foreign Ingress TLS Secrets', async () => {
    // A self-signed certificate nobody manages, five days from expiry, on an Ingress.
    const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ]);
    const notAfter = new Date(Math.floor(Date.now() / 1000 + 5 * 86400) * 1000);
    const legacy = await x509.X509CertificateGenerator.createSelfSigned({
      name: 'CN=legacy.example.test',
      notBefore: new Date(Date.now() - 86400_000),
      notAfter,
      keys,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    });
    await core.createNamespacedSecret({
      namespace: ns,
      body: {
        metadata: { name: 'legacy-tls', namespace: ns },
        type: 'kubernetes.io/tls',
        data: {
          'tls.crt': Buffer.from(legacy.toString('pem')).toString('base64'),
          'tls.key': Buffer.from('unused').toString('base64'),
        },
      },
    });
    await net.createNamespacedIngress({
      namespace: ns,
      body: ingress({
        name: 'legacy',
        namespace: ns,
        hosts: ['legacy.example.test'],
        tls: [{ secretName: 'legacy-tls', hosts: ['legacy.example.test'] }],
      }),
    });
    const cert = await getCertificate(kc, ns, 'app-tls');
    const url = op.metricsUrl ?? '';
    const series = (text: string, name: string, labels: string) =>
      text
        .split('\n')
        .find((l) => l.startsWith(`${name}{`) && l.includes(labels))
        ?.split(' ')[1];
    const text = await eventually(async () => {
      const t = await (await fetch(url)).text();
      return t.includes('secret="legacy-tls"') && t;
    });
    const app = `namespace="${ns}",name="app-tls",issuer="${issuer}"`;
    expect(Number(series(text, 'certroute_certificate_expiration_timestamp_seconds', app))).toBe(
      Date.parse(cert?.status?.notAfter ?? '') / 1000,
    );
    expect(Number(series(text, 'certroute_certificate_renewal_timestamp_seconds', app))).toBe(
      Date.parse(cert?.status?.renewalTime ?? '') / 1000,
    );
    expect(series(text, 'certroute_certificate_ready_status', app)).toBe('1');
    expect(series(text, 'certroute_certificate_failed_attempts', app)).toBe('0');
    expect(
      Number(
        series(
          text,
          'certroute_tls_secret_expiration_timestamp_seconds',
          `namespace="${ns}",secret="legacy-tls",managed="false"`,
        ),
      ),
    ).toBe(notAfter.getTime() / 1000);
    expect(
      Number(
        series(
          text,
          'certroute_tls_secret_expiration_timestamp_seconds',
          `namespace="${ns}",secret="app-tls",managed="true"`,
        ),
      ),
    ).toBe(Date.parse(cert?.status?.notAfter ?? '') / 1000);
    expect(series(text, 'certroute_issuer_ready_status', `name="${issuer}"`)).toBe('1');
    expect(Number(series(text, 'certroute_acme_orders_total', 'result="valid"'))).toBeGreaterThan(
      0,
    );
    expect(text).toMatch(/certroute_acme_requests_total\{action="newOrder",status="201"\}/);
  });

  it('places no order before the host resolves to the Ingress, then issues with one', async () => {
    const host = `late.${zone.name}`;
    // DNS off for this Ingress: certroute does not publish, so the host does not resolve.
    await makeTlsIngress('late', [host], 'late-tls', { 'certroute.io/dns': 'false' });
    await traefikAddress('late');
    const waiting = await eventually(
      async () => {
        const c = await getCertificate(kc, ns, 'late-tls');
        return conditionOf(c, 'Issuing')?.reason === 'WaitingForDNS' && c;
      },
      { timeoutMs: 30_000 },
    );
    expect(conditionOf(waiting, 'Issuing')?.message).toContain(`${host} does not resolve`);
    expect(waiting.status?.order).toBeUndefined();
    // Still waiting a few tries later: no order, so nothing failed either.
    await new Promise((r) => setTimeout(r, 2000));
    const still = await getCertificate(kc, ns, 'late-tls');
    expect(still?.status?.order).toBeUndefined();
    expect(still?.status?.failedAttempts ?? 0).toBe(0);
    expect(conditionOf(still, 'Ready')?.status).not.toBe('True');

    await put(r53, zone.id, host, 'A', [env.ingressAddress]);
    const done = await eventually(
      async () => {
        const c = await getCertificate(kc, ns, 'late-tls');
        return conditionOf(c, 'Ready')?.status === 'True' && c;
      },
      { timeoutMs: 75_000 },
    );
    expect(done.status?.lastOrder?.result).toBe('valid');
    expect(done.status?.revision).toBe(1);
  });

  it('leaves a foreign Secret at the target name untouched and says why', async () => {
    const before = await core.createNamespacedSecret({
      namespace: ns,
      body: {
        metadata: { name: 'theirs-tls', namespace: ns },
        type: 'Opaque',
        data: { note: Buffer.from('not certroute').toString('base64') },
      },
    });
    const host = `theirs.${zone.name}`;
    await makeTlsIngress('theirs', [host], 'theirs-tls');
    await traefikAddress('theirs');
    const c = await eventually(async () => {
      const x = await getCertificate(kc, ns, 'theirs-tls');
      return conditionOf(x, 'Ready')?.reason === 'SecretNotManaged' && x;
    });
    expect(conditionOf(c, 'Ready')?.status).toBe('False');
    expect(conditionOf(c, 'Ready')?.message).toContain('not managed by certroute');
    await eventually(async () =>
      (await eventsFor(kc, ns, 'theirs-tls')).some((e) => e.reason === 'SecretNotManaged'),
    );
    const after = await core.readNamespacedSecret({ namespace: ns, name: 'theirs-tls' });
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
    expect(after.data).toEqual(before.data);
    expect(c.status?.order).toBeUndefined();
  });

  it('places no new order when the operator restarts with valid certificates', async () => {
    const before = ordersPlaced(env);
    await op.stop();
    op = await startOperator(env, [
      `--watch-namespaces=${ns}`,
      '--leader-election=false',
      `--domain-filter=${zone.name}`,
      '--owner-id=lab-certs',
      '--namespace=certroute',
    ]);
    await eventually(() => op.ready().ok);
    await op.certificates.queue.idle();
    await new Promise((r) => setTimeout(r, 1000));
    expect(ordersPlaced(env)).toBe(before);
    expect(conditionOf(await getCertificate(kc, ns, 'app-tls'), 'Ready')?.status).toBe('True');
  });
});
