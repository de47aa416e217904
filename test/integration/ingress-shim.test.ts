// The Ingress shims against the real API server: derived Certificates and DNSEndpoints, their
// lifecycle, garbage collection, and bad input.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Operator } from '../../src/operator.js';
import {
  adminConfig,
  createNamespace,
  deleteNamespace,
  eventually,
  labEnv,
} from '../lab/context.js';
import { eventsFor, ingress, listCertificates, listDnsEndpoints } from '../lab/k8s-helpers.js';
import { ensureNamespace, startOperator } from '../lab/operator.js';

const env = labEnv();
const kc = adminConfig(env);
const net = kc.makeApiClient(k8s.NetworkingV1Api);
let ns: string;
let other: string;
let op: Operator;

beforeAll(async () => {
  ns = await createNamespace(kc, 'shim');
  other = await createNamespace(kc, 'shim-other');
  await ensureNamespace(kc, 'certroute');
  op = await startOperator(env, [
    `--watch-namespaces=${ns},${other}`,
    '--leader-election=false',
    '--dns-default=false',
    '--default-issuer=pebble',
  ]);
});
afterAll(async () => {
  await op?.stop();
  await deleteNamespace(kc, ns);
  await deleteNamespace(kc, other);
});

const annotated = { 'certroute.io/issuer': 'pebble', 'certroute.io/dns': 'true' };

async function certNames(namespace = ns): Promise<string[]> {
  return (await listCertificates(kc, namespace)).map((c) => c.metadata.name ?? '').sort();
}

async function reasons(name: string, namespace = ns): Promise<string[]> {
  return (await eventsFor(kc, namespace, name)).map((e) => `${e.type}/${e.reason}: ${e.message}`);
}

describe('derived objects', () => {
  it('creates one Certificate per TLS Secret and one DNSEndpoint, owned by the Ingress', async () => {
    const ing = await net.createNamespacedIngress({
      namespace: ns,
      body: ingress({
        name: 'shop',
        namespace: ns,
        annotations: {
          ...annotated,
          'certroute.io/ttl': '120',
          'certroute.io/key-algorithm': 'rsa-3072',
        },
        hosts: ['shop.example.test', 'api.example.test'],
        tls: [
          { secretName: 'shop-tls', hosts: ['shop.example.test'] },
          { secretName: 'api-tls', hosts: ['api.example.test'] },
          { secretName: 'api-tls', hosts: ['api.example.test'] },
        ],
      }),
    });
    const uid = ing.metadata?.uid;
    await eventually(async () => (await certNames()).length === 2);
    const certs = await listCertificates(kc, ns);
    expect(
      certs.map((c) => [
        c.metadata.name,
        c.spec.dnsNames,
        c.spec.secretName,
        c.spec.privateKey?.algorithm,
      ]),
    ).toEqual([
      ['api-tls', ['api.example.test'], 'api-tls', 'RSA-3072'],
      ['shop-tls', ['shop.example.test'], 'shop-tls', 'RSA-3072'],
    ]);
    for (const c of certs) {
      expect(c.metadata.ownerReferences).toEqual([
        expect.objectContaining({ kind: 'Ingress', name: 'shop', uid, controller: true }),
      ]);
      expect(c.spec.issuerRef.name).toBe('pebble');
    }
    const dns = await eventually(async () =>
      (await listDnsEndpoints(kc, ns)).find((d) => d.metadata.name === 'shop'),
    );
    expect(dns.metadata.ownerReferences?.[0]?.uid).toBe(uid);
    // No address yet: hosts listed, no record type, so DNS can say WaitingForAddress.
    expect(dns.spec.endpoints).toEqual([
      { dnsName: 'api.example.test', targets: [] },
      { dnsName: 'shop.example.test', targets: [] },
    ]);
  });

  it('follows the Ingress address and host edits', async () => {
    const cur = await net.readNamespacedIngress({ namespace: ns, name: 'shop' });
    cur.status = { loadBalancer: { ingress: [{ ip: '192.0.2.10' }] } };
    await net.replaceNamespacedIngressStatus({ namespace: ns, name: 'shop', body: cur });
    await eventually(async () => {
      const d = (await listDnsEndpoints(kc, ns)).find((x) => x.metadata.name === 'shop');
      return d?.spec.endpoints.every(
        (e) => e.recordType === 'A' && e.targets[0] === '192.0.2.10' && e.recordTTL === 120,
      );
    });

    const edit = await net.readNamespacedIngress({ namespace: ns, name: 'shop' });
    edit.spec!.tls = [{ secretName: 'shop-tls', hosts: ['shop.example.test', 'www.example.test'] }];
    edit.spec!.rules = [{ host: 'shop.example.test' }, { host: 'www.example.test' }];
    await net.replaceNamespacedIngress({ namespace: ns, name: 'shop', body: edit });
    await eventually(async () => (await certNames()).join() === 'shop-tls');
    const [shop] = await listCertificates(kc, ns);
    expect(shop?.spec.dnsNames).toEqual(['shop.example.test', 'www.example.test']);
    await eventually(async () => {
      const d = (await listDnsEndpoints(kc, ns)).find((x) => x.metadata.name === 'shop');
      return (
        d?.spec.endpoints.map((e) => e.dnsName).join() === 'shop.example.test,www.example.test'
      );
    });
    expect(await reasons('shop')).toEqual(
      expect.arrayContaining([
        expect.stringContaining('Normal/CertificateDeleted: deleted Certificate api-tls'),
      ]),
    );
  });

  it('removes the derived objects when the annotations are removed', async () => {
    const edit = await net.readNamespacedIngress({ namespace: ns, name: 'shop' });
    edit.metadata!.annotations = {};
    await net.replaceNamespacedIngress({ namespace: ns, name: 'shop', body: edit });
    await eventually(
      async () => (await certNames()).length === 0 && (await listDnsEndpoints(kc, ns)).length === 0,
    );
  });

  it('leaves deletion of an Ingress to the garbage collector through owner references', async () => {
    await net.createNamespacedIngress({
      namespace: ns,
      body: ingress({
        name: 'gc',
        namespace: ns,
        annotations: annotated,
        hosts: ['gc.example.test'],
        tls: [{ secretName: 'gc-tls', hosts: ['gc.example.test'] }],
      }),
    });
    await eventually(
      async () =>
        (await certNames()).includes('gc-tls') &&
        (await listDnsEndpoints(kc, ns)).some((d) => d.metadata.name === 'gc'),
    );
    await net.deleteNamespacedIngress({ namespace: ns, name: 'gc' });
    await eventually(
      async () =>
        !(await certNames()).includes('gc-tls') &&
        !(await listDnsEndpoints(kc, ns)).some((d) => d.metadata.name === 'gc'),
      { timeoutMs: 30_000 },
    );
  });

  it('uses the default issuer for kubernetes.io/tls-acme and reads cert-manager/external-dns annotations', async () => {
    await net.createNamespacedIngress({
      namespace: ns,
      body: ingress({
        name: 'compat',
        namespace: ns,
        annotations: {
          'kubernetes.io/tls-acme': 'true',
          'certroute.io/dns': 'true',
          'external-dns.alpha.kubernetes.io/hostname': 'extra.example.test',
        },
        hosts: ['compat.example.test'],
        tls: [{ secretName: 'compat-tls', hosts: ['compat.example.test'] }],
      }),
    });
    const cert = await eventually(async () =>
      (await listCertificates(kc, ns)).find((c) => c.metadata.name === 'compat-tls'),
    );
    expect(cert.spec.issuerRef.name).toBe('pebble');
    const dns = await eventually(async () =>
      (await listDnsEndpoints(kc, ns)).find((d) => d.metadata.name === 'compat'),
    );
    expect(dns.spec.endpoints.map((e) => e.dnsName)).toEqual([
      'compat.example.test',
      'extra.example.test',
    ]);
  });
});

describe('bad input', () => {
  it('reports a malformed annotation and still serves the rest of the Ingress', async () => {
    await net.createNamespacedIngress({
      namespace: ns,
      body: ingress({
        name: 'typo',
        namespace: ns,
        annotations: {
          ...annotated,
          'certroute.io/ttl': 'soon',
          'certroute.io/key-algorithm': 'dsa',
        },
        hosts: ['typo.example.test'],
        tls: [{ secretName: 'typo-tls', hosts: ['typo.example.test'] }],
      }),
    });
    const cert = await eventually(async () =>
      (await listCertificates(kc, ns)).find((c) => c.metadata.name === 'typo-tls'),
    );
    expect(cert.spec.privateKey).toBeUndefined();
    const ev = await eventually(async () => {
      const r = await reasons('typo');
      return r.some((x) => x.includes('certroute.io/ttl')) &&
        r.some((x) => x.includes('certroute.io/key-algorithm'))
        ? r
        : undefined;
    });
    expect(ev).toEqual(
      expect.arrayContaining([
        'Warning/InvalidAnnotation: certroute.io/ttl: must be a whole number of seconds (or a duration like 5m), got "soon"',
        expect.stringMatching(
          /^Warning\/InvalidAnnotation: certroute.io\/key-algorithm: must be one of .*got "dsa"$/,
        ),
      ]),
    );
  });

  // The API server itself rejects malformed hosts in spec.rules and spec.tls, so bad hosts
  // reach certroute through annotations; a TLS block without a Secret is valid Kubernetes.
  it('drops an invalid host with an Event and keeps the valid ones', async () => {
    await net.createNamespacedIngress({
      namespace: ns,
      body: ingress({
        name: 'badhost',
        namespace: ns,
        annotations: {
          ...annotated,
          'certroute.io/hostname': 'bad_host!.example.test, extra2.example.test',
        },
        hosts: ['ok.example.test'],
        tls: [
          { secretName: 'badhost-tls', hosts: ['ok.example.test'] },
          { hosts: ['nosecret.example.test'] },
        ],
      }),
    });
    const dns = await eventually(async () =>
      (await listDnsEndpoints(kc, ns)).find((d) => d.metadata.name === 'badhost'),
    );
    expect(dns.spec.endpoints.map((e) => e.dnsName)).toEqual([
      'extra2.example.test',
      'nosecret.example.test',
      'ok.example.test',
    ]);
    const cert = await eventually(async () =>
      (await listCertificates(kc, ns)).find((c) => c.metadata.name === 'badhost-tls'),
    );
    expect(cert.spec.dnsNames).toEqual(['ok.example.test']);
    const ev = await eventually(async () => {
      const r = await reasons('badhost');
      return r.filter((x) => x.startsWith('Warning/')).length >= 2 ? r : undefined;
    });
    expect(ev).toEqual(
      expect.arrayContaining([
        'Warning/InvalidAnnotation: certroute.io/hostname: "bad_host!.example.test" is not a valid hostname',
        'Warning/InvalidTLS: spec.tls[1] has no secretName; no certificate for it',
      ]),
    );
  });

  it('never takes over a Certificate another Ingress owns, or one made by hand', async () => {
    await net.createNamespacedIngress({
      namespace: other,
      body: ingress({
        name: 'first',
        namespace: other,
        annotations: annotated,
        hosts: ['a.example.test'],
        tls: [{ secretName: 'shared-tls', hosts: ['a.example.test'] }],
      }),
    });
    const owned = await eventually(async () =>
      (await listCertificates(kc, other)).find((c) => c.metadata.name === 'shared-tls'),
    );
    await net.createNamespacedIngress({
      namespace: other,
      body: ingress({
        name: 'second',
        namespace: other,
        annotations: annotated,
        hosts: ['b.example.test'],
        tls: [{ secretName: 'shared-tls', hosts: ['b.example.test'] }],
      }),
    });
    await eventually(async () =>
      (await reasons('second', other)).some((r) => r.includes('SecretClaimedElsewhere')),
    );
    expect(await reasons('second', other)).toContain(
      'Warning/SecretClaimedElsewhere: Certificate shared-tls already exists and is controlled by Ingress/first; certroute will not take it over',
    );
    const after = (await listCertificates(kc, other)).find((c) => c.metadata.name === 'shared-tls');
    expect(after?.spec).toEqual(owned.spec);
    // Untouched by the shim: same spec generation and owner (the certificate controller may
    // have written its status meanwhile, which moves resourceVersion but not generation).
    expect(after?.metadata.generation).toBe(owned.metadata.generation);
    expect(after?.metadata.ownerReferences).toEqual(owned.metadata.ownerReferences);

    // A Certificate created by hand (no owner, no managed-by label) is never taken over.
    await kc.makeApiClient(k8s.CustomObjectsApi).createNamespacedCustomObject({
      group: 'certroute.io',
      version: 'v1alpha1',
      namespace: other,
      plural: 'certificates',
      body: {
        apiVersion: 'certroute.io/v1alpha1',
        kind: 'Certificate',
        metadata: { name: 'manual-tls' },
        spec: { dnsNames: ['m.example.test'], issuerRef: { name: 'x' }, secretName: 'manual-tls' },
      },
    });
    await net.createNamespacedIngress({
      namespace: other,
      body: ingress({
        name: 'third',
        namespace: other,
        annotations: annotated,
        hosts: ['c.example.test'],
        tls: [{ secretName: 'manual-tls', hosts: ['c.example.test'] }],
      }),
    });
    await eventually(async () =>
      (await reasons('third', other)).some((r) =>
        r.includes('controlled by nobody (created by hand)'),
      ),
    );
    // ...and the other Ingresses keep working: the third still gets its DNSEndpoint.
    await eventually(async () =>
      (await listDnsEndpoints(kc, other)).some((d) => d.metadata.name === 'third'),
    );
  });

  it('ignores Ingresses of other classes when classes are configured', async () => {
    const classNs = await createNamespace(kc, 'shim-class');
    const classOp = await startOperator(env, [
      `--watch-namespaces=${classNs}`,
      '--leader-election=false',
      '--ingress-classes=nginx',
    ]);
    try {
      const mk = (name: string, className: string) =>
        net.createNamespacedIngress({
          namespace: classNs,
          body: ingress({
            name,
            namespace: classNs,
            className,
            annotations: annotated,
            hosts: [`${name}.example.test`],
            tls: [{ secretName: `${name}-tls`, hosts: [`${name}.example.test`] }],
          }),
        });
      await mk('traefik-one', 'traefik');
      await mk('nginx-one', 'nginx');
      await eventually(async () => (await certNames(classNs)).includes('nginx-one-tls'));
      await classOp.shim.queue.idle();
      expect(await certNames(classNs)).toEqual(['nginx-one-tls']);
    } finally {
      await classOp.stop();
      await deleteNamespace(kc, classNs);
    }
  });
});
