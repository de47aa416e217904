// ACM as the certificate target, against moto's ACM through the lab AWS proxy.
import { X509Certificate } from 'node:crypto';
import {
  ACMClient,
  DescribeCertificateCommand,
  GetCertificateCommand,
  ImportCertificateCommand,
  ListTagsForCertificateCommand,
} from '@aws-sdk/client-acm';
import * as k8s from '@kubernetes/client-node';
import * as x509 from '@peculiar/x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Acm } from '../../src/certificates/stores/acm-client.js';
import { createMetrics } from '../../src/observability/metrics.js';
import type { Operator } from '../../src/operator.js';
import {
  createClusterIssuer,
  deleteClusterIssuer,
  labIssuer,
  pebbleManagement,
} from '../lab/acme-helpers.js';
import { injectError } from '../lab/aws-proxy.js';
import {
  adminConfig,
  createNamespace,
  deleteNamespace,
  eventually,
  labEnv,
  labRoute53,
} from '../lab/context.js';
import { writeAddress } from '../lab/ingress-router.js';
import { conditionOf, eventsFor, getCertificate, ingress } from '../lab/k8s-helpers.js';
import { labAws } from '../lab/lab.js';
import { ensureNamespace, startOperator } from '../lab/operator.js';
import { createZone } from '../lab/route53-helpers.js';

const env = labEnv();
const kc = adminConfig(env);
const net = kc.makeApiClient(k8s.NetworkingV1Api);
const core = kc.makeApiClient(k8s.CoreV1Api);
const r53 = labRoute53(env);
const acm = new ACMClient({
  endpoint: env.awsEndpoint,
  region: labAws.region,
  credentials: { accessKeyId: labAws.accessKeyId, secretAccessKey: labAws.secretAccessKey },
});
const suffix = Date.now().toString(36);
const issuer = `acm-${suffix}`;
const userArn = 'arn:aws:acm:us-east-1:123456789012:certificate/user-owned';

let ns: string;
let zone: { id: string; name: string };
let op: Operator;

beforeAll(async () => {
  ns = await createNamespace(kc, 'acm');
  await ensureNamespace(kc, 'certroute');
  zone = await createZone(r53, 'acm');
  await createClusterIssuer(kc, labIssuer(env, issuer));
  op = await startOperator(
    env,
    [
      `--watch-namespaces=${ns}`,
      '--leader-election=false',
      '--namespace=certroute',
      '--owner-id=lab-acm',
    ],
    undefined,
    { certificates: { ariRecheckMs: 500, acmInUseRetryMs: 500 } },
  );
});
afterAll(async () => {
  await op?.stop();
  await deleteClusterIssuer(kc, issuer);
  await deleteNamespace(kc, ns);
});

async function albIngress(name: string, host: string, extra: Record<string, string> = {}) {
  await net.createNamespacedIngress({
    namespace: ns,
    body: ingress({
      name,
      namespace: ns,
      hosts: [host],
      tls: [{ secretName: `${name}-tls`, hosts: [host] }],
      annotations: {
        'certroute.io/issuer': issuer,
        'certroute.io/dns': 'true',
        'certroute.io/target': 'acm',
        'certroute.io/acm-region': labAws.region,
        ...extra,
      },
    }),
  });
  await writeAddress(net, ns, name, [{ ip: env.ingressAddress }]);
}

async function acmLeaf(arn: string): Promise<X509Certificate> {
  const res = await acm.send(new GetCertificateCommand({ CertificateArn: arn }));
  return new X509Certificate(res.Certificate ?? '');
}

describe('ACM target', () => {
  let arn = '';

  it('imports the certificate, tags it, and merges the ARN into the Ingress annotation', async () => {
    const host = `alb.${zone.name}`;
    await albIngress('alb', host, { 'alb.ingress.kubernetes.io/certificate-arn': userArn });
    const c = await eventually(
      async () => {
        const x = await getCertificate(kc, ns, 'alb-tls');
        return conditionOf(x, 'Ready')?.status === 'True' && x;
      },
      { timeoutMs: 45_000 },
    );
    arn = c.status?.acm?.certificateArn ?? '';
    expect(arn).toMatch(/^arn:aws:acm:us-east-1:/);
    const leaf = await acmLeaf(arn);
    expect(leaf.subjectAltName).toBe(`DNS:${host}`);
    const tags = await acm.send(new ListTagsForCertificateCommand({ CertificateArn: arn }));
    expect(tags.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'certroute.io/owner', Value: 'lab-acm' },
        { Key: 'certroute.io/certificate', Value: `${ns}/alb-tls` },
      ]),
    );
    const ing = await net.readNamespacedIngress({ namespace: ns, name: 'alb' });
    expect(ing.metadata?.annotations?.['alb.ingress.kubernetes.io/certificate-arn']).toBe(
      `${userArn},${arn}`,
    );
    // No private key in the cluster: no Secret at the TLS name, none holding a key.
    const secrets = await core.listNamespacedSecret({ namespace: ns });
    expect(secrets.items.filter((s) => s.data?.['tls.key'])).toEqual([]);
    expect(c.spec.secretName).toBeUndefined();
  });

  it('re-imports a renewal to the same ARN', async () => {
    const before = await acmLeaf(arn);
    // The CA asks for renewal now (ARI), and the operator re-checks ARI every 500 ms here.
    const start = new Date(Date.now() + 1000);
    const end = new Date(Date.now() + 3000);
    const res = await pebbleManagement(env, '/set-renewal-info/', {
      Certificate: before.toString(),
      ARIResponse: JSON.stringify({
        suggestedWindow: { start: start.toISOString(), end: end.toISOString() },
      }),
    });
    expect(res.status).toBe(200);
    const renewed = await eventually(
      async () => {
        const x = await getCertificate(kc, ns, 'alb-tls');
        return x?.status?.revision === 2 && conditionOf(x, 'Ready')?.status === 'True' && x;
      },
      { timeoutMs: 30_000 },
    );
    expect(renewed.status?.acm?.certificateArn).toBe(arn);
    const tags = await acm.send(new ListTagsForCertificateCommand({ CertificateArn: arn }));
    expect(tags.Tags).toContainEqual({ Key: 'certroute.io/owner', Value: 'lab-acm' });
    const after = await acmLeaf(arn);
    expect(after.serialNumber).not.toBe(before.serialNumber);
    const ing = await net.readNamespacedIngress({ namespace: ns, name: 'alb' });
    expect(ing.metadata?.annotations?.['alb.ingress.kubernetes.io/certificate-arn']).toBe(
      `${userArn},${arn}`,
    );
  });

  it('deletes its ACM certificate with the Certificate, retrying while ACM says it is in use', async () => {
    // Four refusals: a status write can set off one more attempt at once, so two refusals could
    // leave the in-use condition up for only milliseconds, too short to be seen by polling.
    await injectError(env.awsEndpoint, 'DeleteCertificate', 'ResourceInUseException', 4);
    await net.deleteNamespacedIngress({ namespace: ns, name: 'alb' });
    const inUse = await eventually(async () => {
      const x = await getCertificate(kc, ns, 'alb-tls');
      return conditionOf(x, 'Ready')?.reason === 'ACMCertificateInUse' && x;
    });
    expect(conditionOf(inUse, 'Ready')?.message).toContain(arn);
    await eventually(async () =>
      (await eventsFor(kc, ns, 'alb-tls')).some((e) => e.reason === 'ACMCertificateInUse'),
    );
    await eventually(async () => (await getCertificate(kc, ns, 'alb-tls')) === undefined, {
      timeoutMs: 30_000,
    });
    await expect(
      acm.send(new DescribeCertificateCommand({ CertificateArn: arn })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('never deletes an ACM certificate it did not import', async () => {
    const leaf = await acmLeaf(arn).catch(() => undefined);
    expect(leaf).toBeUndefined();
    // A certificate someone else imported (no certroute owner tag).
    const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ]);
    const mine = await x509.X509CertificateGenerator.createSelfSigned({
      name: 'CN=theirs.example.test',
      notBefore: new Date(Date.now() - 86400_000),
      notAfter: new Date(Date.now() + 86400_000),
      keys,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    });
    const pkcs8 = Buffer.from(await crypto.subtle.exportKey('pkcs8', keys.privateKey));
    const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64')}\n-----END PRIVATE KEY-----\n`;
    const theirs = await acm
      .send(
        new ImportCertificateCommand({
          Certificate: Buffer.from(mine.toString('pem')),
          PrivateKey: Buffer.from(keyPem),
        }),
      )
      .then((r) => r.CertificateArn ?? '');
    const result = await new Acm(createMetrics(), 'lab-acm').remove(labAws.region, theirs);
    expect(result).toBe('not-ours');
    const still = await acm.send(new DescribeCertificateCommand({ CertificateArn: theirs }));
    expect(still.Certificate?.CertificateArn).toBe(theirs);
  });

  it('reports an ACM error as a condition and an Event', async () => {
    await injectError(env.awsEndpoint, 'ImportCertificate', 'ValidationException', 5);
    await albIngress('bad', `bad.${zone.name}`);
    const c = await eventually(
      async () => {
        const x = await getCertificate(kc, ns, 'bad-tls');
        return conditionOf(x, 'Issuing')?.reason === 'Failed' && x;
      },
      { timeoutMs: 45_000 },
    );
    expect(conditionOf(c, 'Ready')).toMatchObject({ status: 'False', reason: 'ACMImportFailed' });
    expect(conditionOf(c, 'Ready')?.message).toContain('ValidationException');
    await eventually(async () =>
      (await eventsFor(kc, ns, 'bad-tls')).some((e) => e.reason === 'ACMImportFailed'),
    );
  });
});
