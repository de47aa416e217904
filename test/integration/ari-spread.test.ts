// Renewals do not herd (issue 22): 100 certificates from Pebble, then the CA gives every one of
// them the same ARI window (Pebble's set-renewal-info). Each picks its renewal time inside the
// window from the window and its own identity, so together they spread over it.
import { X509Certificate } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Certificate } from '../../src/api/v1alpha1.js';
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
import { conditionOf, customApi, listCertificates } from '../lab/k8s-helpers.js';
import { ensureNamespace, startOperator } from '../lab/operator.js';
import { createZone, put } from '../lab/route53-helpers.js';

const env = labEnv();
const kc = adminConfig(env);
const core = kc.makeApiClient(k8s.CoreV1Api);
const r53 = labRoute53(env);
const suffix = Date.now().toString(36);
const issuer = `ari-${suffix}`;
const count = 100;

let ns: string;
let zone: { id: string; name: string };
let op: Operator;

beforeAll(async () => {
  ns = await createNamespace(kc, 'ari');
  await ensureNamespace(kc, 'certroute');
  zone = await createZone(r53, 'ari');
  // Certificates made by hand (no Ingress): the solver Ingress takes Traefik's class from the
  // issuer's solver, and each host resolves to Traefik through DNS the test writes. The solver
  // is shaped as for a controller that routes to node ports: NodePort Services and an
  // ImplementationSpecific path, which Traefik serves as a prefix.
  await createClusterIssuer(
    kc,
    labIssuer(env, issuer, {
      solvers: [
        {
          http01: {
            ingressClassName: env.ingressClass,
            serviceType: 'NodePort',
            pathType: 'ImplementationSpecific',
          },
        },
      ],
    }),
  );
  for (let i = 0; i < count; i++)
    await put(r53, zone.id, `h${i}.${zone.name}`, 'A', [env.ingressAddress]);
  op = await startOperator(
    env,
    [
      `--watch-namespaces=${ns}`,
      '--leader-election=false',
      `--domain-filter=${zone.name}`,
      '--owner-id=lab-ari',
      '--namespace=certroute',
    ],
    undefined,
    { certificates: { ariRecheckMs: 2000 } },
  );
}, 120_000);

afterAll(async () => {
  await op?.stop();
  await deleteClusterIssuer(kc, issuer);
  await deleteNamespace(kc, ns);
});

describe('ARI renewal times', () => {
  it('100 certificates sharing one window spread over at least half of it', async () => {
    const before = ordersPlaced(env);
    for (let i = 0; i < count; i++)
      await customApi(kc).createNamespacedCustomObject({
        group: 'certroute.io',
        version: 'v1alpha1',
        namespace: ns,
        plural: 'certificates',
        body: {
          apiVersion: 'certroute.io/v1alpha1',
          kind: 'Certificate',
          metadata: { name: `c${i}` },
          spec: {
            secretName: `c${i}-tls`,
            dnsNames: [`h${i}.${zone.name}`],
            issuerRef: { name: issuer, kind: 'ClusterIssuer' },
          },
        },
      });
    await eventually(
      async () => {
        const cs = await listCertificates(kc, ns);
        return cs.filter((c) => conditionOf(c, 'Ready')?.status === 'True').length === count;
      },
      { timeoutMs: 240_000, intervalMs: 1000 },
    );
    expect(ordersPlaced(env) - before).toBe(count);

    // One window for all, an hour from now for a day: nothing renews while the test runs.
    const start = new Date(Date.now() + 3_600_000);
    const end = new Date(start.getTime() + 24 * 3_600_000);
    const ARIResponse = JSON.stringify({
      suggestedWindow: { start: start.toISOString(), end: end.toISOString() },
    });
    for (let i = 0; i < count; i++) {
      const res = await pebbleManagement(env, '/set-renewal-info/', {
        Certificate: await leafPem(`c${i}-tls`),
        ARIResponse,
      });
      expect(res.status).toBe(200);
    }
    const certs = await eventually(
      async () => {
        const cs = await listCertificates(kc, ns);
        const inWindow = (c: Certificate) => c.status?.ari?.windowStart === start.toISOString();
        return cs.length === count && cs.every(inWindow) && cs;
      },
      { timeoutMs: 120_000, intervalMs: 1000 },
    );
    const times = certs.map((c) => Date.parse(c.status?.renewalTime ?? ''));
    const width = end.getTime() - start.getTime();
    for (const t of times) {
      expect(t).toBeGreaterThanOrEqual(start.getTime());
      expect(t).toBeLessThanOrEqual(end.getTime());
    }
    const spread = (Math.max(...times) - Math.min(...times)) / width;
    const tenths = new Set(times.map((t) => Math.floor(((t - start.getTime()) / width) * 10)));
    const seconds = new Set(times.map((t) => Math.floor(t / 1000)));
    console.log(
      `ARI spread: ${(spread * 100).toFixed(1)} % of the window, ${tenths.size}/10 tenths, ${seconds.size} distinct seconds`,
    );
    expect(spread).toBeGreaterThanOrEqual(0.5);
    expect(tenths.size).toBeGreaterThanOrEqual(8);
    expect(seconds.size).toBeGreaterThanOrEqual(count - 2);
    expect(certs.every((c) => /ARI window/.test(c.status?.renewalReason ?? ''))).toBe(true);
    // Nothing renewed: the window is still ahead.
    expect(ordersPlaced(env) - before).toBe(count);
  }, 480_000);
});

async function leafPem(secret: string): Promise<string> {
  const s = await core.readNamespacedSecret({ namespace: ns, name: secret });
  const pem = Buffer.from(s.data?.['tls.crt'] ?? '', 'base64').toString('utf8');
  const leaf = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/.exec(pem)?.[0] ?? '';
  expect(new X509Certificate(leaf).subjectAltName).toMatch(/^DNS:h\d+\./);
  return `${leaf}\n`;
}
