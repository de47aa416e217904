// The sources beyond Ingress against the real API server, Route53 (moto) and Pebble: Gateway
// API routes and Gateways (the CRDs v1.4.0), LoadBalancer Services. No Gateway implementation
// runs here: the harness writes the Gateway's status.addresses and the routes' status.parents
// the way a controller would (as the Ingress stand-in writes Ingress status).
import { X509Certificate } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DNSEndpoint } from '../../src/api/v1alpha1.js';
import type { Operator } from '../../src/operator.js';
import { createClusterIssuer, deleteClusterIssuer, labIssuer } from '../lab/acme-helpers.js';
import {
  adminConfig,
  createNamespace,
  deleteNamespace,
  eventually,
  labEnv,
  labRoute53,
} from '../lab/context.js';
import { conditionOf, eventsFor, getCertificate, listDnsEndpoints } from '../lab/k8s-helpers.js';
import { ensureNamespace, installGatewayApiCrds, startOperator } from '../lab/operator.js';
import { createZone, put, record } from '../lab/route53-helpers.js';

const env = labEnv();
const kc = adminConfig(env);
const core = kc.makeApiClient(k8s.CoreV1Api);
const custom = kc.makeApiClient(k8s.CustomObjectsApi);
const r53 = labRoute53(env);
const suffix = Date.now().toString(36);
const issuer = `gw-dns01-${suffix}`;
const className = `lab-${suffix}`;
const controllerName = 'lab.certroute.io/gateway-stand-in';
const group = 'gateway.networking.k8s.io';

let ns: string;
let zone: { id: string; name: string };
let op: Operator;

beforeAll(async () => {
  await installGatewayApiCrds(kc);
  ns = await createNamespace(kc, 'gwsrc');
  await ensureNamespace(kc, 'certroute');
  zone = await createZone(r53, 'gwsrc');
  // external-dns's records for an HTTPRoute (its gateway-httproute source, TXT registry with
  // the type prefix and the legacy same-name companion), before certroute starts.
  await put(r53, zone.id, `legacy.apps.${zone.name}`, 'A', ['198.51.100.7']);
  const txt = `"heritage=external-dns,external-dns/owner=legacy-cluster,external-dns/resource=httproute/${ns}/legacy"`;
  await put(r53, zone.id, `a-legacy.apps.${zone.name}`, 'TXT', [txt]);
  await put(r53, zone.id, `legacy.apps.${zone.name}`, 'TXT', [txt]);
  await createClusterIssuer(
    kc,
    labIssuer(env, issuer, { solvers: [{ dns01: { route53: { region: env.awsRegion } } }] }),
  );
  await custom.createClusterCustomObject({
    group,
    version: 'v1',
    plural: 'gatewayclasses',
    body: {
      apiVersion: `${group}/v1`,
      kind: 'GatewayClass',
      metadata: { name: className },
      spec: { controllerName },
    },
  });
  op = await startOperator(env, [
    `--watch-namespaces=${ns}`,
    '--leader-election=false',
    '--namespace=certroute',
    `--domain-filter=${zone.name}`,
    '--owner-id=lab-gw',
    '--adopt-owner-ids=legacy-cluster',
    '--claim-grace-period=0s',
  ]);
});
afterAll(async () => {
  await op?.stop();
  await deleteClusterIssuer(kc, issuer);
  await custom
    .deleteClusterCustomObject({ group, version: 'v1', plural: 'gatewayclasses', name: className })
    .catch(() => undefined);
  await deleteNamespace(kc, ns);
});

async function createGateway(name: string, annotations: Record<string, string> = {}) {
  await custom.createNamespacedCustomObject({
    group,
    version: 'v1',
    plural: 'gateways',
    namespace: ns,
    body: {
      apiVersion: `${group}/v1`,
      kind: 'Gateway',
      metadata: { name, namespace: ns, annotations },
      spec: {
        gatewayClassName: className,
        listeners: [
          {
            name: 'https',
            port: 443,
            protocol: 'HTTPS',
            hostname: `*.apps.${zone.name}`,
            tls: { mode: 'Terminate', certificateRefs: [{ name: 'apps-tls' }] },
          },
        ],
      },
    },
  });
}

/** What the Gateway's controller would write: its address. */
async function setGatewayAddress(name: string, ip: string) {
  const gw = (await custom.getNamespacedCustomObject({
    group,
    version: 'v1',
    plural: 'gateways',
    namespace: ns,
    name,
  })) as { status?: Record<string, unknown> };
  await custom.replaceNamespacedCustomObjectStatus({
    group,
    version: 'v1',
    plural: 'gateways',
    namespace: ns,
    name,
    body: { ...gw, status: { ...gw.status, addresses: [{ type: 'IPAddress', value: ip }] } },
  });
}

async function createRoute(name: string, hostnames: string[], accepted: boolean) {
  const parentRef = { group, kind: 'Gateway', name: 'gw', sectionName: 'https' };
  await custom.createNamespacedCustomObject({
    group,
    version: 'v1',
    plural: 'httproutes',
    namespace: ns,
    body: {
      apiVersion: `${group}/v1`,
      kind: 'HTTPRoute',
      metadata: { name, namespace: ns },
      spec: { parentRefs: [parentRef], hostnames },
    },
  });
  // What the Gateway's controller would write: whether it accepted the route.
  const route = (await custom.getNamespacedCustomObject({
    group,
    version: 'v1',
    plural: 'httproutes',
    namespace: ns,
    name,
  })) as Record<string, unknown>;
  const condition = {
    type: 'Accepted',
    status: accepted ? 'True' : 'False',
    reason: accepted ? 'Accepted' : 'NotAllowedByListeners',
    message: accepted ? 'accepted' : 'not allowed by the listeners',
    lastTransitionTime: new Date().toISOString(),
  };
  await custom.replaceNamespacedCustomObjectStatus({
    group,
    version: 'v1',
    plural: 'httproutes',
    namespace: ns,
    name,
    body: {
      ...route,
      status: { parents: [{ parentRef, controllerName, conditions: [condition] }] },
    },
  });
}

async function endpoint(name: string): Promise<DNSEndpoint | undefined> {
  return (await listDnsEndpoints(kc, ns)).find((d) => d.metadata.name === name);
}

describe('Gateway API sources', () => {
  it('an HTTPRoute under a wildcard HTTPS listener gets its record; the listener Secret a wildcard certificate via DNS-01', async () => {
    // Found through discovery at start (TLSRoute only where its experimental CRD is installed).
    expect(op.sources.kinds).toEqual(
      expect.arrayContaining(['Service', 'Gateway', 'HTTPRoute', 'GRPCRoute']),
    );
    await createGateway('gw', { 'certroute.io/issuer': issuer });
    await setGatewayAddress('gw', '192.0.2.80');
    await createRoute('shop', [`shop.apps.${zone.name}`], true);
    const rec = await eventually(async () => record(r53, zone.id, `shop.apps.${zone.name}`, 'A'), {
      timeoutMs: 30_000,
    });
    expect(rec.ResourceRecords?.map((r) => r.Value)).toEqual(['192.0.2.80']);
    const txt = await record(r53, zone.id, `a-shop.apps.${zone.name}`, 'TXT');
    expect(txt?.ResourceRecords?.[0]?.Value).toBe(
      `"heritage=certroute,certroute/owner=lab-gw,certroute/resource=httproute/${ns}/shop"`,
    );
    const dns = await endpoint('httproute-shop');
    expect(dns?.metadata.ownerReferences?.[0]).toEqual(
      expect.objectContaining({ kind: 'HTTPRoute', name: 'shop', controller: true }),
    );

    const cert = await eventually(
      async () => {
        const c = await getCertificate(kc, ns, 'apps-tls');
        return conditionOf(c, 'Ready')?.status === 'True' && c;
      },
      { timeoutMs: 90_000 },
    );
    expect(cert.spec.dnsNames).toEqual([`*.apps.${zone.name}`]);
    expect(cert.metadata.ownerReferences?.[0]).toEqual(
      expect.objectContaining({ kind: 'Gateway', name: 'gw', controller: true }),
    );
    const secret = await core.readNamespacedSecret({ namespace: ns, name: 'apps-tls' });
    const pem = Buffer.from(secret.data?.['tls.crt'] ?? '', 'base64').toString();
    expect(new X509Certificate(pem).subjectAltName).toContain(`DNS:*.apps.${zone.name}`);
  });

  it('a route its Gateway did not accept, and a hostname outside every listener: no record, the reason on the DNSEndpoint and in an Event', async () => {
    await createRoute('refused', [`refused.apps.${zone.name}`], false);
    await createRoute('outside', [`outside.other.${zone.name}`], true);
    for (const [name, reason] of [
      ['refused', 'RouteNotAccepted'],
      ['outside', 'HostnameNotAllowed'],
    ] as const) {
      const d = await eventually(async () => {
        const e = await endpoint(`httproute-${name}`);
        return e?.status?.conditions?.find((c) => c.type === 'SourceValid')?.reason === reason && e;
      });
      expect(d.spec.endpoints).toEqual([]);
      await eventually(async () =>
        (await eventsFor(kc, ns, name)).some((e) => e.reason === reason && e.type === 'Warning'),
      );
    }
    expect(await record(r53, zone.id, `refused.apps.${zone.name}`, 'A')).toBeUndefined();
    expect(await record(r53, zone.id, `outside.other.${zone.name}`, 'A')).toBeUndefined();
  });

  it("adopts external-dns's records for an HTTPRoute", async () => {
    await createRoute('legacy', [`legacy.apps.${zone.name}`], true);
    await eventually(
      async () =>
        (await record(r53, zone.id, `legacy.apps.${zone.name}`, 'A'))?.ResourceRecords?.[0]
          ?.Value === '192.0.2.80',
      { timeoutMs: 30_000 },
    );
    const txt = await record(r53, zone.id, `a-legacy.apps.${zone.name}`, 'TXT');
    expect(txt?.ResourceRecords?.[0]?.Value).toBe(
      `"heritage=certroute,certroute/owner=lab-gw,certroute/resource=httproute/${ns}/legacy"`,
    );
  });

  it('a route is derived again when its Gateway changes address', async () => {
    await setGatewayAddress('gw', '192.0.2.81');
    await eventually(
      async () =>
        (await record(r53, zone.id, `shop.apps.${zone.name}`, 'A'))?.ResourceRecords?.[0]?.Value ===
        '192.0.2.81',
      { timeoutMs: 30_000 },
    );
  });

  it("a LoadBalancer Service with external-dns's hostname annotation gets its record", async () => {
    await core.createNamespacedService({
      namespace: ns,
      body: {
        metadata: {
          name: 'db',
          annotations: { 'external-dns.alpha.kubernetes.io/hostname': `db.${zone.name}` },
        },
        spec: { type: 'LoadBalancer', ports: [{ port: 5432 }] },
      },
    });
    // What the cloud's load balancer controller would write.
    const svc = await core.readNamespacedService({ namespace: ns, name: 'db' });
    svc.status = { loadBalancer: { ingress: [{ ip: '192.0.2.90' }] } };
    await core.replaceNamespacedServiceStatus({ namespace: ns, name: 'db', body: svc });
    const rec = await eventually(async () => record(r53, zone.id, `db.${zone.name}`, 'A'), {
      timeoutMs: 30_000,
    });
    expect(rec.ResourceRecords?.map((r) => r.Value)).toEqual(['192.0.2.90']);
    const txt = await record(r53, zone.id, `a-db.${zone.name}`, 'TXT');
    expect(txt?.ResourceRecords?.[0]?.Value).toBe(
      `"heritage=certroute,certroute/owner=lab-gw,certroute/resource=service/${ns}/db"`,
    );
  });
});
