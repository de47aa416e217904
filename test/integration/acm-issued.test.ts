// ACM-issued certificates (certroute.io/target: acm-issued), against moto's ACM and Route53
// through the lab AWS proxy. moto issues a requested certificate acmValidationWaitS seconds
// after the request whether or not the validation CNAMEs exist: this test shows they are
// written (with TXT ownership), not that ACM needs them.
import {
  ACMClient,
  DescribeCertificateCommand,
  ImportCertificateCommand,
  ListTagsForCertificateCommand,
} from '@aws-sdk/client-acm';
import * as k8s from '@kubernetes/client-node';
import * as x509 from '@peculiar/x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Certificate } from '../../src/api/v1alpha1.js';
import type { Operator } from '../../src/operator.js';
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
import { createZone, put, record, records } from '../lab/route53-helpers.js';

const env = labEnv();
const kc = adminConfig(env);
const net = kc.makeApiClient(k8s.NetworkingV1Api);
const r53 = labRoute53(env);
const acm = new ACMClient({
  endpoint: env.awsEndpoint,
  region: labAws.region,
  credentials: { accessKeyId: labAws.accessKeyId, secretAccessKey: labAws.secretAccessKey },
});
const userArn = 'arn:aws:acm:us-east-1:123456789012:certificate/user-owned';
const albAnnotation = 'alb.ingress.kubernetes.io/certificate-arn';

let ns: string;
let zone: { id: string; name: string };
let op: Operator;
let theirs = '';

/** A certificate someone else imported (no certroute tags): it must survive everything. */
async function importForeign(): Promise<string> {
  const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ]);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=theirs.example.test',
    notBefore: new Date(Date.now() - 86400_000),
    notAfter: new Date(Date.now() + 86400_000),
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
  });
  const pkcs8 = Buffer.from(await crypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64')}\n-----END PRIVATE KEY-----\n`;
  const res = await acm.send(
    new ImportCertificateCommand({
      Certificate: Buffer.from(cert.toString('pem')),
      PrivateKey: Buffer.from(keyPem),
    }),
  );
  return res.CertificateArn ?? '';
}

beforeAll(async () => {
  ns = await createNamespace(kc, 'acmiss');
  await ensureNamespace(kc, 'certroute');
  zone = await createZone(r53, 'acmiss');
  theirs = await importForeign();
  // Someone else's record in the same zone.
  await put(r53, zone.id, `unrelated.${zone.name}.`, 'A', ['192.0.2.7']);
  op = await startOperator(
    env,
    [
      `--watch-namespaces=${ns}`,
      '--leader-election=false',
      '--namespace=certroute',
      '--owner-id=lab-acm-issued',
      // Records nothing asks for go at once, not after the 10-minute default.
      '--claim-grace-period=0s',
    ],
    undefined,
    { certificates: { acmInUseRetryMs: 500 } },
  );
});
afterAll(async () => {
  await op?.stop();
  await deleteNamespace(kc, ns);
});

const describeArn = async (arn: string) =>
  (await acm.send(new DescribeCertificateCommand({ CertificateArn: arn }))).Certificate;

async function ready(name: string, check: (c: Certificate) => boolean = () => true) {
  return eventually(
    async () => {
      const c = await getCertificate(kc, ns, name);
      return c && conditionOf(c, 'Ready')?.status === 'True' && check(c) && c;
    },
    { timeoutMs: 60_000 },
  );
}

/** The validation CNAME moto gives for a name, and its TXT companion, as certroute wrote them. */
async function validationRecords(host: string) {
  const v = await describeArn(arnOf(await getCertificate(kc, ns, 'alb-tls')));
  const rr = v?.DomainValidationOptions?.find((o) => o.DomainName === host)?.ResourceRecord;
  const name = (rr?.Name ?? '').replace(/\.$/, '');
  return {
    name,
    value: (rr?.Value ?? '').replace(/\.$/, ''),
    cname: await record(r53, zone.id, name, 'CNAME'),
    txt: await record(r53, zone.id, `cname-${name}`, 'TXT'),
  };
}

const arnOf = (c: Certificate | undefined) => c?.status?.acm?.certificateArn ?? '';

describe('ACM-issued certificates', () => {
  const host = () => `alb.${zone.name}`;
  const host2 = () => `www.${zone.name}`;
  let arn = '';

  it('requests a tagged ACM certificate, publishes the validation CNAMEs with TXT ownership, and puts the ARN on the Ingress once ISSUED', async () => {
    await net.createNamespacedIngress({
      namespace: ns,
      body: ingress({
        name: 'alb',
        namespace: ns,
        className: 'alb',
        hosts: [host()],
        tls: [{ secretName: 'alb-tls', hosts: [host()] }],
        annotations: {
          'certroute.io/dns': 'true',
          'certroute.io/target': 'acm-issued',
          'certroute.io/acm-region': labAws.region,
          [albAnnotation]: userArn,
        },
      }),
    });
    await writeAddress(net, ns, 'alb', [{ ip: env.ingressAddress }]);
    // The ARN is in status while ACM still validates (moto waits acmValidationWaitS seconds).
    const pending = await eventually(
      async () => {
        const c = await getCertificate(kc, ns, 'alb-tls');
        return conditionOf(c, 'Ready')?.reason === 'ACMPendingValidation' && c;
      },
      { timeoutMs: 45_000 },
    );
    arn = arnOf(pending);
    expect(arn).toMatch(/^arn:aws:acm:us-east-1:/);
    expect(pending.spec.acm).toEqual({ region: labAws.region, issued: true });
    expect((pending.metadata as { finalizers?: string[] }).finalizers).toContain(
      'certroute.io/acm-certificate',
    );
    const requested = await describeArn(arn);
    expect(requested?.Type).toBe('AMAZON_ISSUED');
    expect(requested?.SubjectAlternativeNames).toEqual([host()]);
    const tags = await acm.send(new ListTagsForCertificateCommand({ CertificateArn: arn }));
    expect(tags.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'certroute.io/owner', Value: 'lab-acm-issued' },
        { Key: 'certroute.io/certificate', Value: `${ns}/alb-tls` },
      ]),
    );
    const c = await ready('alb-tls');
    expect(arnOf(c)).toBe(arn);
    expect(c.status?.acm?.certificateStatus).toBe('ISSUED');
    expect((await describeArn(arn))?.Status).toBe('ISSUED');
    expect(Date.parse(c.status?.notAfter ?? '')).toBeGreaterThan(Date.now());
    const v = await eventually(async () => {
      const r = await validationRecords(host());
      return r.cname && r.txt && r;
    });
    expect(v.name).toMatch(new RegExp(`^_[0-9a-f]+\\.${host().replace(/\./g, '\\.')}$`));
    expect(v.cname?.ResourceRecords?.map((r) => r.Value?.replace(/\.$/, ''))).toEqual([v.value]);
    expect(v.txt?.ResourceRecords?.[0]?.Value).toBe(
      `"heritage=certroute,certroute/owner=lab-acm-issued,certroute/resource=dnsendpoint/${ns}/alb-tls-acm-validation"`,
    );
    await eventually(async () => {
      const ing = await net.readNamespacedIngress({ namespace: ns, name: 'alb' });
      return ing.metadata?.annotations?.[albAnnotation] === `${userArn},${arn}`;
    });
    await eventually(async () =>
      (await eventsFor(kc, ns, 'alb-tls')).some((e) => e.reason === 'ACMRequested'),
    );
  });

  it('requests a new certificate when the names change, and deletes the old one once the new one is issued', async () => {
    await net.patchNamespacedIngress(
      {
        namespace: ns,
        name: 'alb',
        body: { spec: { tls: [{ secretName: 'alb-tls', hosts: [host(), host2()] }] } },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    const c = await ready(
      'alb-tls',
      (x) => arnOf(x) !== arn && !x.status?.acm?.previousArn && x.spec.dnsNames.length === 2,
    );
    const next = arnOf(c);
    expect(c.status?.acm?.requestedNames?.slice().sort()).toEqual([host(), host2()].sort());
    expect((await describeArn(next))?.SubjectAlternativeNames?.slice().sort()).toEqual(
      [host(), host2()].sort(),
    );
    await expect(describeArn(arn)).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await eventually(async () => {
      const ing = await net.readNamespacedIngress({ namespace: ns, name: 'alb' });
      return ing.metadata?.annotations?.[albAnnotation] === `${userArn},${next}`;
    });
    const v = await eventually(async () => {
      const r = await validationRecords(host2());
      return r.cname && r.txt && r;
    });
    expect(v.name.endsWith(host2())).toBe(true);
    arn = next;
  });

  it('deletes its ACM certificate and the validation records with the Ingress (retrying while in use), and leaves the rest alone', async () => {
    const names = await Promise.all(
      [host(), host2()].map(async (h) => (await validationRecords(h)).name),
    );
    expect(names.every((n) => n.startsWith('_'))).toBe(true);
    await injectError(env.awsEndpoint, 'DeleteCertificate', 'ResourceInUseException', 4);
    await net.deleteNamespacedIngress({ namespace: ns, name: 'alb' });
    await eventually(async () => {
      const x = await getCertificate(kc, ns, 'alb-tls');
      return conditionOf(x, 'Ready')?.reason === 'ACMCertificateInUse';
    });
    await eventually(async () => (await getCertificate(kc, ns, 'alb-tls')) === undefined, {
      timeoutMs: 45_000,
    });
    await expect(describeArn(arn)).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await eventually(
      async () => {
        const all = await records(r53, zone.id);
        const left = all.filter((r) => names.some((n) => (r.Name ?? '').includes(n)));
        return left.length === 0;
      },
      { timeoutMs: 45_000 },
    );
    // Someone else's certificate and record are still there.
    expect((await describeArn(theirs))?.CertificateArn).toBe(theirs);
    const unrelated = await record(r53, zone.id, `unrelated.${zone.name}`, 'A');
    expect(unrelated?.ResourceRecords?.[0]?.Value).toBe('192.0.2.7');
  });
});
