// DNS-01 through moto's Route53, validated by Pebble through the lab DNS.
import { X509Certificate } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Certificate } from '../../src/api/v1alpha1.js';
import type { Operator } from '../../src/operator.js';
import { injectThrottling } from '../lab/aws-proxy.js';
import { createClusterIssuer, deleteClusterIssuer, labIssuer } from '../lab/acme-helpers.js';
import {
  adminConfig,
  createNamespace,
  deleteNamespace,
  eventually,
  labEnv,
  labRoute53,
} from '../lab/context.js';
import { conditionOf, eventsFor, getCertificate } from '../lab/k8s-helpers.js';
import { ensureNamespace, startOperator } from '../lab/operator.js';
import { createZone, put, record } from '../lab/route53-helpers.js';

const env = labEnv();
const kc = adminConfig(env);
const core = kc.makeApiClient(k8s.CoreV1Api);
const custom = kc.makeApiClient(k8s.CustomObjectsApi);
const r53 = labRoute53(env);
const suffix = Date.now().toString(36);
const dnsIssuer = `dns01-${suffix}`;
const httpIssuer = `http01-${suffix}`;

let ns: string;
let zone: { id: string; name: string };
let op: Operator;

beforeAll(async () => {
  ns = await createNamespace(kc, 'dns01');
  await ensureNamespace(kc, 'certroute');
  zone = await createZone(r53, 'dns01');
  await createClusterIssuer(
    kc,
    labIssuer(env, dnsIssuer, { solvers: [{ dns01: { route53: { region: env.awsRegion } } }] }),
  );
  await createClusterIssuer(kc, labIssuer(env, httpIssuer));
  op = await startOperator(env, [
    `--watch-namespaces=${ns}`,
    '--leader-election=false',
    '--namespace=certroute',
    '--owner-id=lab-dns01',
  ]);
});
afterAll(async () => {
  await op?.stop();
  await deleteClusterIssuer(kc, dnsIssuer);
  await deleteClusterIssuer(kc, httpIssuer);
  await deleteNamespace(kc, ns);
});

async function createCertificate(name: string, dnsNames: string[], issuer: string) {
  await custom.createNamespacedCustomObject({
    group: 'certroute.io',
    version: 'v1alpha1',
    plural: 'certificates',
    namespace: ns,
    body: {
      apiVersion: 'certroute.io/v1alpha1',
      kind: 'Certificate',
      metadata: { name, namespace: ns },
      spec: { dnsNames, issuerRef: { name: issuer }, secretName: `${name}-tls` },
    },
  });
}

async function readyCert(name: string): Promise<Certificate> {
  return eventually(
    async () => {
      const c = await getCertificate(kc, ns, name);
      return conditionOf(c, 'Ready')?.status === 'True' && c;
    },
    { timeoutMs: 45_000 },
  );
}

async function leaf(secret: string): Promise<X509Certificate> {
  const s = await core.readNamespacedSecret({ namespace: ns, name: secret });
  return new X509Certificate(Buffer.from(s.data?.['tls.crt'] ?? '', 'base64'));
}

describe('DNS-01 via Route53', () => {
  it('issues a wildcard plus its base name, then removes the TXT records', async () => {
    const names = [`*.${zone.name}`, zone.name];
    await createCertificate('wild', names, dnsIssuer);
    const c = await readyCert('wild');
    expect(c.status?.lastOrder?.result).toBe('valid');
    const sans = ((await leaf('wild-tls')).subjectAltName ?? '').split(', ').sort();
    expect(sans).toEqual(names.map((n) => `DNS:${n}`).sort());
    // Both challenges shared _acme-challenge.<zone>; each removed its own value.
    expect(await record(r53, zone.id, `_acme-challenge.${zone.name}`, 'TXT')).toBeUndefined();
  });

  it('follows a CNAME delegation of _acme-challenge into another zone', async () => {
    const target = await createZone(r53, 'acme-delegate');
    const host = `delegated.${zone.name}`;
    // _acme-challenge.<host> CNAME → <host>.<delegate zone>: the TXT belongs over there.
    await put(r53, zone.id, `_acme-challenge.${host}`, 'CNAME', [`${host}.${target.name}`]);
    await createCertificate('delegated', [host], dnsIssuer);
    await readyCert('delegated');
    // Cleaned up where it was written; the delegation itself is the user's and stays.
    expect(await record(r53, target.id, `${host}.${target.name}`, 'TXT')).toBeUndefined();
    expect(
      (await record(r53, zone.id, `_acme-challenge.${host}`, 'CNAME'))?.ResourceRecords?.[0]?.Value,
    ).toMatch(new RegExp(`^${host}\\.${target.name}\\.?$`));
  });

  it('retries Route53 throttling and still issues', async () => {
    const host = `busy.${zone.name}`;
    const before = Number(
      /certroute_aws_throttles_total\{[^}]*\} (\d+)/.exec(
        await op.metrics.registry.getSingleMetricAsString('certroute_aws_throttles_total'),
      )?.[1] ?? 0,
    );
    await injectThrottling(env.awsEndpoint, 3, 'hostedzone');
    await createCertificate('busy', [host], dnsIssuer);
    await readyCert('busy');
    const text = await op.metrics.registry.getSingleMetricAsString('certroute_aws_throttles_total');
    const after = [...text.matchAll(/certroute_aws_throttles_total\{[^}]*\} (\d+)/g)].reduce(
      (n, m) => n + Number(m[1]),
      0,
    );
    expect(after).toBeGreaterThan(before);
    expect(await record(r53, zone.id, `_acme-challenge.${host}`, 'TXT')).toBeUndefined();
  });

  it('says so when a host is in no Route53 zone, and places no order', async () => {
    const host = `www.nozone-${suffix}.test`;
    await createCertificate('nozone', [host], dnsIssuer);
    const c = await eventually(async () => {
      const x = await getCertificate(kc, ns, 'nozone');
      return conditionOf(x, 'Ready')?.reason === 'NoZoneForChallenge' && x;
    });
    expect(conditionOf(c, 'Ready')?.status).toBe('False');
    expect(conditionOf(c, 'Ready')?.message).toContain(`_acme-challenge.${host}`);
    expect(c.status?.lastOrder).toBeUndefined();
    await eventually(async () =>
      (await eventsFor(kc, ns, 'nozone')).some((e) => e.reason === 'NoZoneForChallenge'),
    );
  });

  it('refuses a wildcard when the issuer has only HTTP-01 solvers', async () => {
    await createCertificate('wild-http', [`*.${zone.name}`], httpIssuer);
    const c = await eventually(async () => {
      const x = await getCertificate(kc, ns, 'wild-http');
      return conditionOf(x, 'Ready')?.reason === 'WildcardNeedsDNS01' && x;
    });
    expect(conditionOf(c, 'Ready')?.message).toMatch(/only DNS-01/);
  });
});
