// Namespaced Issuers in a shared cluster: two tenants (RBAC-limited users who may only write
// Ingresses in their own namespace), a namespace admin who brings an ACME account (the lab's
// Pebble) as an Issuer, and the operator running with the chart's ServiceAccount and RBAC.
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Issuer } from '../../src/api/v1alpha1.js';
import type { Operator } from '../../src/operator.js';
import {
  createClusterIssuer,
  deleteClusterIssuer,
  labIssuer,
  ordersPlaced,
} from '../lab/acme-helpers.js';
import { adminConfig, eventually, labEnv, labRoute53, uniqueName } from '../lab/context.js';
import { conditionOf, eventsFor, getCertificate, ingress } from '../lab/k8s-helpers.js';
import { apiServerCertFile } from '../lab/identity.js';
import { serviceAccountKubeConfig } from '../lab/kube.js';
import { ensureNamespace, startOperator } from '../lab/operator.js';
import { bin } from '../lab/paths.js';
import { spawnManaged, type ManagedProcess } from '../lab/process.js';
import { createZone, record } from '../lab/route53-helpers.js';
import { createTenant, deleteTenant, type Tenant } from '../lab/tenants.js';

const env = labEnv();
const kc = adminConfig(env);
const r53 = labRoute53(env);
const group = 'certroute.io';
const version = 'v1alpha1';
const issuerName = 'team-ca';
const platformIssuer = uniqueName('platform');

let a: Tenant;
let b: Tenant;
let zone: { id: string; name: string };
let op: Operator;
let kcm: ManagedProcess | undefined;
/** A ServiceAccount of tenant A bound to the built-in `admin` ClusterRole in A only. */
let nsAdmin: k8s.KubeConfig;

/** An Issuer for the lab's Pebble (its HTTPS CA as caBundle), HTTP-01 unless told. */
function pebbleIssuer(
  namespace: string,
  name: string,
  solvers: NonNullable<Issuer['spec']['acme']>['solvers'] = [{ http01: {} }],
): Issuer {
  return {
    apiVersion: `${group}/${version}`,
    kind: 'Issuer',
    metadata: { name, namespace },
    spec: {
      acme: {
        server: env.acmeDirectory,
        email: 'team@example.com',
        privateKeySecretRef: { name: `${name}-account` },
        caBundle: readFileSync(env.acmeCaFile, 'utf8'),
        solvers,
      },
    },
  };
}

async function getIssuer(namespace: string, name: string): Promise<Issuer> {
  return (await kc.makeApiClient(k8s.CustomObjectsApi).getNamespacedCustomObject({
    group,
    version,
    plural: 'issuers',
    namespace,
    name,
  })) as Issuer;
}

async function getClusterIssuer(name: string): Promise<Issuer> {
  return (await kc.makeApiClient(k8s.CustomObjectsApi).getClusterCustomObject({
    group,
    version,
    plural: 'clusterissuers',
    name,
  })) as Issuer;
}

async function statusOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (err) {
    return (err as { code?: number }).code ?? -1;
  }
}

/** The tenant's user creates a TLS Ingress of Traefik's class naming `annotations`' issuer. */
async function tenantIngress(
  t: Tenant,
  name: string,
  host: string,
  annotations: Record<string, string>,
): Promise<void> {
  await t.kube.makeApiClient(k8s.NetworkingV1Api).createNamespacedIngress({
    namespace: t.namespace,
    body: ingress({
      name,
      namespace: t.namespace,
      hosts: [host],
      tls: [{ secretName: `${name}-tls`, hosts: [host] }],
      className: env.ingressClass,
      annotations: { 'certroute.io/dns': 'true', ...annotations },
    }),
  });
}

beforeAll(async () => {
  // The lab's kube-controller-manager runs no ClusterRole aggregation; this one runs only that
  // controller, as every cluster's does, so the built-in admin role picks up the chart's rules.
  kcm = spawnManaged('kube-controller-manager (aggregation)', bin.kubeControllerManager(), {
    args: [
      `--kubeconfig=${env.kubeconfig}`,
      '--controllers=clusterrole-aggregation-controller',
      '--leader-elect=false',
      '--secure-port=0',
      '--v=1',
    ],
    logFile: join(env.dir, 'issuers-namespaced-aggregation-controller.log'),
  });
  a = await createTenant(env, uniqueName('team-a'));
  b = await createTenant(env, uniqueName('team-b'));
  await ensureNamespace(kc, 'certroute');
  zone = await createZone(r53, 'nsissuer');
  const core = kc.makeApiClient(k8s.CoreV1Api);
  await core.createNamespacedServiceAccount({
    namespace: a.namespace,
    body: { metadata: { name: 'ns-admin' } },
  });
  await kc.makeApiClient(k8s.RbacAuthorizationV1Api).createNamespacedRoleBinding({
    namespace: a.namespace,
    body: {
      metadata: { name: 'ns-admin' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' },
      subjects: [{ kind: 'ServiceAccount', name: 'ns-admin', namespace: a.namespace }],
    },
  });
  nsAdmin = (await serviceAccountKubeConfig(kc, a.namespace, 'ns-admin')).kubeConfig;
  op = await startOperator(env, [
    `--watch-namespaces=${a.namespace},${b.namespace}`,
    '--leader-election=false',
    `--domain-filter=${zone.name}`,
    '--owner-id=lab-nsissuer',
    '--namespace=certroute',
    // No sweep during the test: only the Issuer's Ready can re-enqueue a waiting Certificate.
    '--renewal-schedule=0 0 1 1 *',
  ]);
}, 120_000);

afterAll(async () => {
  await op?.stop();
  await deleteClusterIssuer(kc, platformIssuer);
  await kcm?.stop();
  for (const t of [a, b]) if (t) await deleteTenant(env, t);
});

describe('a namespaced Issuer', () => {
  it("is created by the namespace's admin (the aggregated admin role), and nowhere else", async () => {
    const custom = nsAdmin.makeApiClient(k8s.CustomObjectsApi);
    // Aggregation is asynchronous: wait until the built-in admin role holds the chart's rules.
    await eventually(
      async () =>
        (await statusOf(
          custom.createNamespacedCustomObject({
            group,
            version,
            plural: 'issuers',
            namespace: a.namespace,
            body: pebbleIssuer(a.namespace, issuerName),
          }),
        )) === 200,
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    expect(
      await statusOf(
        custom.createNamespacedCustomObject({
          group,
          version,
          plural: 'issuers',
          namespace: b.namespace,
          body: pebbleIssuer(b.namespace, issuerName),
        }),
      ),
    ).toBe(403);
    expect(
      await statusOf(
        custom.createClusterCustomObject({
          group,
          version,
          plural: 'clusterissuers',
          body: {
            ...pebbleIssuer('', issuerName),
            kind: 'ClusterIssuer',
            metadata: { name: issuerName },
          },
        }),
      ),
    ).toBe(403);
    // The tenant's developer (Ingresses only) may not bring an issuer.
    expect(
      await statusOf(
        a.kube.makeApiClient(k8s.CustomObjectsApi).createNamespacedCustomObject({
          group,
          version,
          plural: 'issuers',
          namespace: a.namespace,
          body: pebbleIssuer(a.namespace, 'developer-ca'),
        }),
      ),
    ).toBe(403);
  });

  it("registers its ACME account with the key in the Issuer's namespace, not the operator's", async () => {
    const iss = await eventually(
      async () => {
        const o = await getIssuer(a.namespace, issuerName);
        return o.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' && o;
      },
      { timeoutMs: 45_000 },
    );
    expect(iss.status?.acme?.uri).toMatch(/^https:\/\/127\.0\.0\.1:\d+\//);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const key = await core.readNamespacedSecret({
      namespace: a.namespace,
      name: `${issuerName}-account`,
    });
    expect(Buffer.from(key.data?.['tls.key'] ?? '', 'base64').toString()).toMatch(
      /BEGIN PRIVATE KEY/,
    );
    expect(key.metadata?.annotations).toMatchObject({
      'certroute.io/issuer': issuerName,
      'certroute.io/issuer-kind': 'Issuer',
    });
    expect(
      await statusOf(
        core.readNamespacedSecret({ namespace: 'certroute', name: `${issuerName}-account` }),
      ),
    ).toBe(404);
  });

  it('issues a certificate for an Ingress of its namespace with cert-manager.io/issuer', async () => {
    const host = `app.${zone.name}`;
    await tenantIngress(a, 'app', host, { 'cert-manager.io/issuer': issuerName });
    const cert = await eventually(
      async () => {
        const c = await getCertificate(kc, a.namespace, 'app-tls');
        return conditionOf(c, 'Ready')?.status === 'True' && c;
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    expect(cert.spec.issuerRef).toEqual({ name: issuerName, kind: 'Issuer' });
    const tls = await kc
      .makeApiClient(k8s.CoreV1Api)
      .readNamespacedSecret({ namespace: a.namespace, name: 'app-tls' });
    expect(tls.type).toBe('kubernetes.io/tls');
    expect(tls.metadata?.annotations?.['certroute.io/issuer-kind']).toBe('Issuer');
  });

  it('keeps its Certificate when the issuer annotations start to conflict, and says so', async () => {
    const net = a.kube.makeApiClient(k8s.NetworkingV1Api);
    const before = await getCertificate(kc, a.namespace, 'app-tls');
    const patch = (annotations: Record<string, string | null>) =>
      net.patchNamespacedIngress(
        { namespace: a.namespace, name: 'app', body: { metadata: { annotations } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
    const dnsHas = (host: string) =>
      eventually(async () => {
        const e = (await kc.makeApiClient(k8s.CustomObjectsApi).getNamespacedCustomObject({
          group,
          version,
          plural: 'dnsendpoints',
          namespace: a.namespace,
          name: 'app',
        })) as { spec: { endpoints: { dnsName: string }[] } };
        return e.spec.endpoints.some((x) => x.dnsName === host);
      });
    await patch({
      'cert-manager.io/cluster-issuer': 'someone-elses',
      'certroute.io/hostname': `marker1.${zone.name}`,
    });
    const events = await eventually(async () => {
      const list = await a.kube
        .makeApiClient(k8s.CoreV1Api)
        .listNamespacedEvent({ namespace: a.namespace, fieldSelector: 'involvedObject.name=app' });
      const found = list.items.filter((e) => e.reason === 'InvalidAnnotation');
      // An empty list is truthy: wait for the Event itself.
      return found.length > 0 && found;
    });
    expect(events[0]?.message).toMatch(
      /^cert-manager\.io\/issuer: conflicts with cert-manager\.io\/cluster-issuer/,
    );
    await dnsHas(`marker1.${zone.name}`);
    // A later reconcile of the same Ingress has begun only when this one has ended.
    await patch({ 'certroute.io/hostname': `marker2.${zone.name}` });
    await dnsHas(`marker2.${zone.name}`);
    const after = await getCertificate(kc, a.namespace, 'app-tls');
    expect(after?.metadata.uid).toBe(before?.metadata.uid);
    expect(after?.spec).toEqual(before?.spec);
    expect(conditionOf(after, 'Ready')?.status).toBe('True');
    await patch({ 'cert-manager.io/cluster-issuer': null, 'certroute.io/hostname': null });
  });

  it('is not usable from another namespace: IssuerNotFound, an Event, and no order', async () => {
    const before = ordersPlaced(env);
    await tenantIngress(b, 'steal', `steal.${zone.name}`, { 'cert-manager.io/issuer': issuerName });
    const cert = await eventually(
      async () => {
        const c = await getCertificate(kc, b.namespace, 'steal-tls');
        return conditionOf(c, 'Ready')?.reason === 'IssuerNotFound' && c;
      },
      { timeoutMs: 30_000 },
    );
    expect(conditionOf(cert, 'Ready')?.status).toBe('False');
    expect(conditionOf(cert, 'Ready')?.message).toContain(
      `Issuer ${b.namespace}/${issuerName} not found`,
    );
    expect(cert.spec.issuerRef).toEqual({ name: issuerName, kind: 'Issuer' });
    const events = await eventually(async () => {
      const list = await eventsFor(kc, b.namespace, 'steal-tls');
      return list.some((e) => e.reason === 'IssuerNotFound') && list;
    });
    expect(events.find((e) => e.reason === 'IssuerNotFound')?.type).toBe('Warning');
    // The tenant's user sees it on the Ingress too.
    const onIngress = await eventually(async () => {
      const list = await b.kube.makeApiClient(k8s.CoreV1Api).listNamespacedEvent({
        namespace: b.namespace,
        fieldSelector: 'involvedObject.name=steal',
      });
      return list.items.some((e) => e.reason === 'IssuerNotFound') && list.items;
    });
    expect(onIngress.length).toBeGreaterThan(0);
    expect(cert.status?.order).toBeUndefined();
    expect(ordersPlaced(env)).toBe(before);
  });

  it('is not a ClusterIssuer of the same name', async () => {
    await tenantIngress(b, 'cluster', `cluster.${zone.name}`, {
      'certroute.io/issuer': issuerName,
    });
    const cert = await eventually(async () => {
      const c = await getCertificate(kc, b.namespace, 'cluster-tls');
      return conditionOf(c, 'Ready')?.reason === 'IssuerNotFound' && c;
    });
    expect(cert.spec.issuerRef).toEqual({ name: issuerName });
    expect(conditionOf(cert, 'Ready')?.message).toBe(`ClusterIssuer ${issuerName} not found`);
  });

  it('serves a Certificate that was waiting for it as soon as it is Ready', async () => {
    await tenantIngress(a, 'late', `late.${zone.name}`, { 'cert-manager.io/issuer': 'late-ca' });
    await eventually(async () => {
      const c = await getCertificate(kc, a.namespace, 'late-tls');
      return conditionOf(c, 'Ready')?.reason === 'IssuerNotFound';
    });
    await nsAdmin.makeApiClient(k8s.CustomObjectsApi).createNamespacedCustomObject({
      group,
      version,
      plural: 'issuers',
      namespace: a.namespace,
      body: pebbleIssuer(a.namespace, 'late-ca'),
    });
    // The Issuer's Ready re-enqueues its Certificates (keyed by kind, namespace and name); the
    // 60 s backstop requeue is not what gets this one issued within the wait below.
    const cert = await eventually(
      async () => {
        const c = await getCertificate(kc, a.namespace, 'late-tls');
        return conditionOf(c, 'Ready')?.status === 'True' && c;
      },
      { timeoutMs: 45_000, intervalMs: 500 },
    );
    expect(cert.spec.issuerRef).toEqual({ name: 'late-ca', kind: 'Issuer' });
  });

  it("solves DNS-01 as a ClusterIssuer does: a wildcard Certificate written by the namespace's admin", async () => {
    const custom = nsAdmin.makeApiClient(k8s.CustomObjectsApi);
    await custom.createNamespacedCustomObject({
      group,
      version,
      plural: 'issuers',
      namespace: a.namespace,
      body: pebbleIssuer(a.namespace, 'team-dns', [
        { dns01: { route53: { region: env.awsRegion } } },
      ]),
    });
    await custom.createNamespacedCustomObject({
      group,
      version,
      plural: 'certificates',
      namespace: a.namespace,
      body: {
        apiVersion: `${group}/${version}`,
        kind: 'Certificate',
        metadata: { name: 'wild', namespace: a.namespace },
        spec: {
          dnsNames: [`*.${zone.name}`],
          issuerRef: { name: 'team-dns', kind: 'Issuer' },
          secretName: 'wild-tls',
        },
      },
    });
    const cert = await eventually(
      async () => {
        const c = await getCertificate(kc, a.namespace, 'wild');
        return conditionOf(c, 'Ready')?.status === 'True' && c;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(cert.status?.lastOrder?.result).toBe('valid');
    expect(await record(r53, zone.id, `_acme-challenge.${zone.name}`, 'TXT')).toBeUndefined();
  });

  it("cannot change how a ClusterIssuer's ACME server is trusted", async () => {
    await createClusterIssuer(kc, labIssuer(env, platformIssuer));
    await eventually(
      async () =>
        (await getClusterIssuer(platformIssuer)).status?.conditions?.find(
          (c) => c.type === 'Ready' && c.status === 'True',
        ),
      { timeoutMs: 45_000 },
    );
    // Then two tenant Issuers for the platform's CA: one trusting some other CA there (the API
    // server's), one trusting the system roots there. Either would make every connection to
    // Pebble fail, if an Issuer could set the trust of an origin a ClusterIssuer uses.
    const otherCa = pebbleIssuer(a.namespace, 'other-ca');
    otherCa.spec.acme!.caBundle = readFileSync(apiServerCertFile(env.dir), 'utf8');
    const systemRoots = pebbleIssuer(a.namespace, 'system-roots');
    delete systemRoots.spec.acme!.caBundle;
    for (const body of [otherCa, systemRoots])
      await nsAdmin.makeApiClient(k8s.CustomObjectsApi).createNamespacedCustomObject({
        group,
        version,
        plural: 'issuers',
        namespace: a.namespace,
        body,
      });
    // They register all the same: for that origin, the ClusterIssuer's bundle decides.
    for (const name of ['other-ca', 'system-roots']) {
      const ready = await eventually(
        async () =>
          (await getIssuer(a.namespace, name)).status?.conditions?.find(
            (c) => c.type === 'Ready' && c.status === 'True',
          ),
        { timeoutMs: 45_000 },
      );
      expect(ready.reason, name).toBe('Registered');
    }
    // And the platform's ClusterIssuer still issues.
    await tenantIngress(a, 'platform', `platform.${zone.name}`, {
      'certroute.io/issuer': platformIssuer,
    });
    await eventually(
      async () => {
        const c = await getCertificate(kc, a.namespace, 'platform-tls');
        return conditionOf(c, 'Ready')?.status === 'True' && c;
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
  });
});
