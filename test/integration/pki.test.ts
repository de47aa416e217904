// Local PKI (issue 25): a SelfSigned ClusterIssuer bootstraps a CA certificate, a CA
// ClusterIssuer signs with it, Ingresses get certificates shaped by cert-manager's annotations,
// and PKCS#12 keystores open with keytool and openssl. No ACME: Pebble is not involved.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Certificate } from '../../src/api/v1alpha1.js';
import type { Operator } from '../../src/operator.js';
import { createClusterIssuer, deleteClusterIssuer } from '../lab/acme-helpers.js';
import {
  adminConfig,
  createNamespace,
  deleteNamespace,
  eventually,
  labEnv,
  uniqueName,
} from '../lab/context.js';
import { conditionOf, customApi, eventsFor, getCertificate, ingress } from '../lab/k8s-helpers.js';
import { ensureNamespace, startOperator } from '../lab/operator.js';

const env = labEnv();
const kc = adminConfig(env);
const core = kc.makeApiClient(k8s.CoreV1Api);
const opNs = 'certroute';
const selfSigned = uniqueName('pki-selfsigned');
const caIssuer = uniqueName('pki-ca');
const rootSecret = uniqueName('pki-root');
const work = mkdtempSync(join(tmpdir(), 'certroute-pki-'));
let ns: string;
let op: Operator;

async function createCertificate(namespace: string, spec: Certificate['spec']): Promise<string> {
  const name = uniqueName('pki-cert');
  await customApi(kc).createNamespacedCustomObject({
    group: 'certroute.io',
    version: 'v1alpha1',
    plural: 'certificates',
    namespace,
    body: { apiVersion: 'certroute.io/v1alpha1', kind: 'Certificate', metadata: { name }, spec },
  });
  return name;
}

async function issuerReady(name: string): Promise<{ status: string; reason: string }> {
  return eventually(async () => {
    const o = (await customApi(kc).getClusterCustomObject({
      group: 'certroute.io',
      version: 'v1alpha1',
      plural: 'clusterissuers',
      name,
    })) as { status?: { conditions?: { type: string; status: string; reason: string }[] } };
    return o.status?.conditions?.find((c) => c.type === 'Ready');
  });
}

/** The Secret's data, decoded, once it holds `key`. */
async function secretWith(namespace: string, name: string, key = 'tls.crt') {
  return eventually(
    async () => {
      const s = await core.readNamespacedSecret({ name, namespace });
      if (!s.data?.[key]) return undefined;
      return Object.fromEntries(
        Object.entries(s.data).map(([k, v]) => [k, Buffer.from(v, 'base64')]),
      );
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
}

function file(name: string, data: Buffer | string): string {
  const p = join(work, name);
  writeFileSync(p, data);
  return p;
}

beforeAll(async () => {
  await ensureNamespace(kc, opNs);
  ns = await createNamespace(kc, 'pki');
  op = await startOperator(env, ['--leader-election=false', `--namespace=${opNs}`]);
}, 120_000);

afterAll(async () => {
  await op?.stop();
  for (const n of [selfSigned, caIssuer]) await deleteClusterIssuer(kc, n);
  await core.deleteNamespacedSecret({ name: rootSecret, namespace: opNs }).catch(() => undefined);
  if (ns) await deleteNamespace(kc, ns);
});

describe('CA and SelfSigned issuers', () => {
  it('refuses an issuer with two kinds (CEL: exactly one)', async () => {
    const err = await createClusterIssuer(kc, {
      apiVersion: 'certroute.io/v1alpha1',
      kind: 'ClusterIssuer',
      metadata: { name: uniqueName('pki-two') },
      spec: { selfSigned: {}, ca: { secretName: 'x' } },
    }).catch((e: unknown) => e);
    expect(String((err as { body?: unknown }).body ?? err)).toMatch(
      /exactly one of acme, ca or selfSigned/,
    );
  });

  it('a SelfSigned ClusterIssuer issues a CA certificate (isCA) into a Secret', async () => {
    await createClusterIssuer(kc, {
      apiVersion: 'certroute.io/v1alpha1',
      kind: 'ClusterIssuer',
      metadata: { name: selfSigned },
      spec: { selfSigned: {} },
    });
    expect(await issuerReady(selfSigned)).toMatchObject({ status: 'True', reason: 'SelfSigned' });
    const name = await createCertificate(opNs, {
      dnsNames: ['root.pki.test'],
      commonName: 'certroute lab root',
      isCA: true,
      duration: '8760h',
      issuerRef: { name: selfSigned },
      secretName: rootSecret,
    });
    const data = await secretWith(opNs, rootSecret);
    const root = new X509Certificate(data['tls.crt'] as Buffer);
    expect(root.ca).toBe(true);
    expect(root.subject).toBe('CN=certroute lab root');
    expect(root.verify(root.publicKey)).toBe(true);
    expect(data['ca.crt']?.toString()).toBe(data['tls.crt']?.toString());
    const c = await eventually(async () => {
      const cert = await getCertificate(kc, opNs, name);
      return conditionOf(cert, 'Ready')?.status === 'True' ? cert : undefined;
    });
    // Renewal at 2/3 of the lifetime, as for ACME.
    const nb = Date.parse(c.status?.notBefore ?? '');
    const na = Date.parse(c.status?.notAfter ?? '');
    const rt = Date.parse(c.status?.renewalTime ?? '');
    expect(Math.abs(rt - (nb + ((na - nb) * 2) / 3))).toBeLessThan(5_000);
  }, 90_000);

  it('a CA ClusterIssuer with a missing Secret says so', async () => {
    const name = uniqueName('pki-ca-missing');
    await createClusterIssuer(kc, {
      apiVersion: 'certroute.io/v1alpha1',
      kind: 'ClusterIssuer',
      metadata: { name },
      spec: { ca: { secretName: 'no-such-secret' } },
    });
    expect(await issuerReady(name)).toMatchObject({ status: 'False', reason: 'CASecretNotFound' });
    await deleteClusterIssuer(kc, name);
  });

  it("a CA ClusterIssuer signs an Ingress's certificate, shaped by cert-manager's annotations; openssl verifies it", async () => {
    await createClusterIssuer(kc, {
      apiVersion: 'certroute.io/v1alpha1',
      kind: 'ClusterIssuer',
      metadata: { name: caIssuer },
      spec: { ca: { secretName: rootSecret } },
    });
    expect(await issuerReady(caIssuer)).toMatchObject({
      status: 'True',
      reason: 'KeyPairVerified',
    });
    await kc.makeApiClient(k8s.NetworkingV1Api).createNamespacedIngress({
      namespace: ns,
      body: ingress({
        name: 'app',
        namespace: ns,
        hosts: ['app.pki.test'],
        tls: [{ secretName: 'app-tls', hosts: ['app.pki.test'] }],
        className: env.ingressClass,
        annotations: {
          'certroute.io/dns': 'false',
          'cert-manager.io/cluster-issuer': caIssuer,
          'cert-manager.io/duration': '720h',
          'cert-manager.io/private-key-algorithm': 'RSA',
          'cert-manager.io/private-key-size': '3072',
          'cert-manager.io/common-name': 'Lab Service',
        },
      }),
    });
    const data = await secretWith(ns, 'app-tls');
    const root = await secretWith(opNs, rootSecret);
    expect(data['ca.crt']?.toString()).toBe(root['tls.crt']?.toString());
    const out = execFileSync('openssl', [
      'verify',
      '-CAfile',
      file('ca.crt', data['ca.crt'] as Buffer),
      file('app.crt', data['tls.crt'] as Buffer),
    ]).toString();
    expect(out).toMatch(/app\.crt: OK/);
    const leaf = new X509Certificate(data['tls.crt'] as Buffer);
    expect(leaf.subject).toBe('CN=Lab Service');
    expect(leaf.subjectAltName).toBe('DNS:app.pki.test');
    expect(leaf.publicKey.asymmetricKeyType).toBe('rsa');
    expect(leaf.publicKey.asymmetricKeyDetails?.modulusLength).toBe(3072);
    expect(leaf.ca).toBe(false);
    // 720h after issuance, which is at most an hour after notBefore (back-dated an hour).
    const lifetime = Date.parse(leaf.validTo) - Date.parse(leaf.validFrom);
    expect(lifetime).toBe(720 * 3_600_000 + 3_600_000);
  }, 90_000);
});

describe('a namespaced CA Issuer', () => {
  it('signs with a CA Secret in its own namespace, for Ingresses naming it with cert-manager.io/issuer', async () => {
    // The team's own CA, bootstrapped by the SelfSigned ClusterIssuer into the team's namespace.
    await createCertificate(ns, {
      dnsNames: ['team-root.pki.test'],
      commonName: 'team root',
      isCA: true,
      issuerRef: { name: selfSigned },
      secretName: 'team-root',
    });
    const teamRoot = await secretWith(ns, 'team-root');
    await customApi(kc).createNamespacedCustomObject({
      group: 'certroute.io',
      version: 'v1alpha1',
      plural: 'issuers',
      namespace: ns,
      body: {
        apiVersion: 'certroute.io/v1alpha1',
        kind: 'Issuer',
        metadata: { name: 'team-ca' },
        spec: { ca: { secretName: 'team-root' } },
      },
    });
    await kc.makeApiClient(k8s.NetworkingV1Api).createNamespacedIngress({
      namespace: ns,
      body: ingress({
        name: 'team-app',
        namespace: ns,
        hosts: ['team.pki.test'],
        tls: [{ secretName: 'team-app-tls', hosts: ['team.pki.test'] }],
        className: env.ingressClass,
        annotations: { 'certroute.io/dns': 'false', 'cert-manager.io/issuer': 'team-ca' },
      }),
    });
    const data = await secretWith(ns, 'team-app-tls');
    expect(data['ca.crt']?.toString()).toBe(teamRoot['tls.crt']?.toString());
    const out = execFileSync('openssl', [
      'verify',
      '-CAfile',
      file('team-ca.crt', data['ca.crt'] as Buffer),
      file('team.crt', data['tls.crt'] as Buffer),
    ]).toString();
    expect(out).toMatch(/team\.crt: OK/);
    // The default key: ECDSA P-256, with cert-manager's defaults absent.
    expect(new X509Certificate(data['tls.crt'] as Buffer).publicKey.asymmetricKeyType).toBe('ec');
  }, 90_000);
});

describe('a renewal asked for by hand', () => {
  it('certroute.io/renew on a locally signed certificate: signed again once, the request recorded', async () => {
    const name = await createCertificate(ns, {
      dnsNames: ['renew.pki.test'],
      issuerRef: { name: selfSigned },
      secretName: 'renew-tls',
    });
    const first = await eventually(async () => {
      const c = await getCertificate(kc, ns, name);
      return (c?.status?.revision ?? 0) >= 1 && c;
    });
    const token = new Date().toISOString();
    // What `kubectl certroute renew` writes: a fresh token in the annotation.
    await customApi(kc).patchNamespacedCustomObject(
      {
        group: 'certroute.io',
        version: 'v1alpha1',
        plural: 'certificates',
        namespace: ns,
        name,
        body: { metadata: { annotations: { 'certroute.io/renew': token } } },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    const renewed = await eventually(async () => {
      const c = await getCertificate(kc, ns, name);
      return c?.status?.requests?.renew === token && c;
    });
    expect(renewed.status?.revision).toBe((first.status?.revision ?? 0) + 1);
    expect(renewed.status?.serialNumber).not.toBe(first.status?.serialNumber);
    // Honoured once: the next reconciles (a resync of the Certificate) sign nothing more.
    await customApi(kc).patchNamespacedCustomObject(
      {
        group: 'certroute.io',
        version: 'v1alpha1',
        plural: 'certificates',
        namespace: ns,
        name,
        body: { metadata: { labels: { 'lab.certroute.io/touched': 'yes' } } },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await new Promise((r) => setTimeout(r, 2_000));
    const later = await getCertificate(kc, ns, name);
    expect(later?.status?.revision).toBe(renewed.status?.revision);
  }, 90_000);
});

describe('keystores and output formats', () => {
  it('keystore.p12 opens with keytool and openssl; truststore.p12, tls-combined.pem and key.der are written', async () => {
    const password = 'lab-keystore-pw';
    await core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'p12-password' }, stringData: { password } },
    });
    await createCertificate(ns, {
      dnsNames: ['java.pki.test'],
      issuerRef: { name: caIssuer },
      secretName: 'java-tls',
      keystores: {
        pkcs12: { create: true, passwordSecretRef: { name: 'p12-password', key: 'password' } },
      },
      additionalOutputFormats: [{ type: 'CombinedPEM' }, { type: 'DER' }],
    });
    const data = await secretWith(ns, 'java-tls', 'keystore.p12');
    const ks = file('keystore.p12', data['keystore.p12'] as Buffer);
    const ts = file('truststore.p12', data['truststore.p12'] as Buffer);
    const list = execFileSync('keytool', [
      '-list',
      '-storetype',
      'PKCS12',
      '-keystore',
      ks,
      '-storepass',
      password,
    ]).toString();
    expect(list).toMatch(/Your keystore contains 1 entry/);
    expect(list).toMatch(/certificate, .*PrivateKeyEntry/);
    const trust = execFileSync('keytool', [
      '-list',
      '-storetype',
      'PKCS12',
      '-keystore',
      ts,
      '-storepass',
      password,
    ]).toString();
    expect(trust).toMatch(/ca, .*trustedCertEntry/);
    const info = execFileSync(
      'openssl',
      ['pkcs12', '-info', '-nokeys', '-in', ks, '-passin', `pass:${password}`],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    ).toString();
    expect(info).toMatch(/subject=CN\s*=\s*java\.pki\.test/);
    expect(info).toMatch(/subject=CN\s*=\s*certroute lab root/);
    const combined = data['tls-combined.pem']?.toString() ?? '';
    expect(combined).toMatch(/^-----BEGIN PRIVATE KEY-----[\s\S]+-----BEGIN CERTIFICATE-----/);
    expect(data['key.der']?.[0]).toBe(0x30);
  }, 90_000);

  it('a missing password Secret: a Keystore condition and an Event name it, the certificate is still stored', async () => {
    const name = await createCertificate(ns, {
      dnsNames: ['nopw.pki.test'],
      issuerRef: { name: caIssuer },
      secretName: 'nopw-tls',
      keystores: { pkcs12: { create: true, passwordSecretRef: { name: 'absent', key: 'pw' } } },
    });
    const data = await secretWith(ns, 'nopw-tls');
    expect(data['keystore.p12']).toBeUndefined();
    const ks = await eventually(async () => {
      const c = await getCertificate(kc, ns, name);
      return conditionOf(c, 'Keystore');
    });
    expect(ks).toMatchObject({ status: 'False', reason: 'KeystorePasswordMissing' });
    expect(ks.message).toMatch(new RegExp(`Secret ${ns}/absent not found`));
    const events = await eventually(async () => {
      const e = await eventsFor(kc, ns, name);
      return e.some((x) => x.reason === 'KeystorePasswordMissing') ? e : undefined;
    });
    expect(events.length).toBeGreaterThan(0);
  }, 90_000);
});
