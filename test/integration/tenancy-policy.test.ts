// DomainPolicies in the lab: two tenants (each a namespace and a user who may only write
// Ingresses there), one policy and one hosted zone per tenant, the operator with the chart's
// ServiceAccount and RBAC. The tenants' users create the Ingresses with their own kubeconfigs.
//
// DomainPolicies are cluster-scoped, and while one exists every namespace no policy selects is
// denied. Integration files run one at a time (vitest.integration.config.ts: fileParallelism
// false), so no other file's operator runs while these policies exist; they carry a label,
// leftovers of an interrupted run are deleted first, and afterAll deletes them and checks that
// none is left.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Certificate, DNSEndpoint, DomainPolicy } from '../../src/api/v1alpha1.js';
import type { Operator } from '../../src/operator.js';
import {
  createClusterIssuer,
  deleteClusterIssuer,
  labIssuer,
  ordersPlaced,
} from '../lab/acme-helpers.js';
import { adminConfig, eventually, labEnv, labRoute53, uniqueName } from '../lab/context.js';
import { eventsFor, ingress, listCertificates, listDnsEndpoints } from '../lab/k8s-helpers.js';
import { writeAddress } from '../lab/ingress-router.js';
import { ensureNamespace, startOperator } from '../lab/operator.js';
import { createZone, record } from '../lab/route53-helpers.js';
import { createTenant, deleteTenant, type Tenant } from '../lab/tenants.js';

const env = labEnv();
const kc = adminConfig(env);
const admin = kc.makeApiClient(k8s.NetworkingV1Api);
const custom = kc.makeApiClient(k8s.CustomObjectsApi);
const r53 = labRoute53(env);
const testLabel = { 'certroute.io/lab-test': 'tenancy-policy' };
const group = { group: 'certroute.io', version: 'v1alpha1', plural: 'domainpolicies' };

let a: Tenant;
let b: Tenant;
/** A third tenant no policy selects, until its labels change. */
let c: Tenant;
let zoneA: { id: string; name: string };
let zoneB: { id: string; name: string };
let op: Operator;
const policyA = uniqueName('team-a');
const policyB = uniqueName('team-b');
const issuerA = uniqueName('issuer-a');
const issuerB = uniqueName('issuer-b');

function policySpecA(extra: { apex?: boolean } = {}): DomainPolicy['spec'] {
  return {
    namespaces: { names: [a.namespace] },
    domains: [{ suffix: zoneA.name, ...(extra.apex ? { apex: true } : {}) }],
    issuers: { clusterIssuers: [issuerA] },
    targets: ['secret'],
    recordTargets: ['192.0.2.0/24'],
    budgets: { hostsPerSource: 3 },
  };
}

async function deletePolicies(): Promise<void> {
  const list = (await custom.listClusterCustomObject({
    ...group,
    labelSelector: 'certroute.io/lab-test=tenancy-policy',
  })) as { items: DomainPolicy[] };
  for (const p of list.items)
    await custom
      .deleteClusterCustomObject({ ...group, name: p.metadata.name ?? '' })
      .catch(() => undefined);
}

beforeAll(async () => {
  await deletePolicies();
  const run = Date.now().toString(36);
  a = await createTenant(env, `ten-a-${run}`);
  b = await createTenant(env, `ten-b-${run}`);
  c = await createTenant(env, `ten-c-${run}`);
  zoneA = await createZone(r53, 'ten-a');
  zoneB = await createZone(r53, 'ten-b');
  await ensureNamespace(kc, 'certroute');
  for (const name of [issuerA, issuerB]) await createClusterIssuer(kc, labIssuer(env, name));
  await custom.createClusterCustomObject({
    ...group,
    body: {
      apiVersion: 'certroute.io/v1alpha1',
      kind: 'DomainPolicy',
      metadata: { name: policyA, labels: testLabel },
      spec: policySpecA(),
    },
  });
  // Tenant B's policy selects its namespace by label (createTenant sets tenant=<name>).
  await custom.createClusterCustomObject({
    ...group,
    body: {
      apiVersion: 'certroute.io/v1alpha1',
      kind: 'DomainPolicy',
      metadata: { name: policyB, labels: testLabel },
      spec: {
        namespaces: { selector: { matchLabels: { tenant: b.namespace } } },
        domains: [{ suffix: zoneB.name }],
        // No new orders at all: the budget case without spending Pebble's time.
        budgets: { ordersPerHour: 0 },
      },
    },
  });
  op = await startOperator(env, [
    `--watch-namespaces=${a.namespace},${b.namespace},${c.namespace}`,
    '--leader-election=false',
    `--domain-filter=${zoneA.name},${zoneB.name}`,
    '--owner-id=lab-tenancy',
    '--namespace=certroute',
  ]);
});

afterAll(async () => {
  await op?.stop();
  await deletePolicies();
  for (const name of [issuerA, issuerB]) await deleteClusterIssuer(kc, name);
  for (const t of [a, b, c]) if (t) await deleteTenant(env, t);
  const left = (await custom.listClusterCustomObject(group)) as { items: DomainPolicy[] };
  expect(left.items.map((p) => p.metadata.name)).toEqual([]);
});

/** An Ingress written by the tenant's own user; its address written as the controller would. */
async function tenantIngress(
  t: Tenant,
  name: string,
  hosts: string[],
  more: { tls?: string[]; issuer?: string } = {},
): Promise<void> {
  await t.kube.makeApiClient(k8s.NetworkingV1Api).createNamespacedIngress({
    namespace: t.namespace,
    body: ingress({
      name,
      namespace: t.namespace,
      hosts,
      annotations: {
        'certroute.io/dns': 'true',
        ...(more.issuer ? { 'certroute.io/issuer': more.issuer } : {}),
      },
      ...(more.tls ? { tls: [{ secretName: `${name}-tls`, hosts: more.tls }] } : {}),
    }),
  });
  await writeAddress(admin, t.namespace, name, [{ ip: '192.0.2.10' }]);
}

async function endpoint(t: Tenant, name: string): Promise<DNSEndpoint | undefined> {
  return (await listDnsEndpoints(kc, t.namespace)).find((d) => d.metadata.name === name);
}

async function stateOf(t: Tenant, name: string, host: string) {
  return (await endpoint(t, name))?.status?.endpoints?.find((e) => e.dnsName === host);
}

async function certificateOf(t: Tenant, ingressName: string): Promise<Certificate | undefined> {
  return (await listCertificates(kc, t.namespace)).find((c) =>
    c.metadata.ownerReferences?.some((o) => o.name === ingressName),
  );
}

/** A Denied Event on the object (an Ingress unless told: its DNSEndpoint has the same name). */
async function deniedEvent(t: Tenant, object: string, text: string, kind = 'Ingress') {
  const events = await eventsFor(kc, t.namespace, object);
  return events.find(
    (e) => e.reason === 'Denied' && e.involvedObject.kind === kind && e.message?.includes(text),
  );
}

describe('DNS', () => {
  it("tenant A's Ingress for B's domain: its own host is published, B's is Denied", async () => {
    const own = `www.${zoneA.name}`;
    const theirs = `www.${zoneB.name}`;
    await tenantIngress(a, 'cross', [own, theirs]);
    await eventually(async () => (await stateOf(a, 'cross', own))?.state === 'Published', {
      timeoutMs: 40_000,
    });
    const denied = await eventually(async () => {
      const s = await stateOf(a, 'cross', theirs);
      return s?.state === 'Denied' && s;
    });
    expect(denied.message).toContain(
      `DomainPolicy ${policyA}: ${theirs} matches none of spec.domains`,
    );
    expect(await record(r53, zoneB.id, theirs, 'A')).toBeUndefined();
    expect((await record(r53, zoneA.id, own, 'A'))?.ResourceRecords?.[0]?.Value).toBe('192.0.2.10');
    const ready = (await endpoint(a, 'cross'))?.status?.conditions?.find((c) => c.type === 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'Denied' });
    // On the Ingress and on its DNSEndpoint, naming the policy.
    await eventually(() => deniedEvent(a, 'cross', `DomainPolicy ${policyA}`));
    const onEndpoint = await eventually(async () =>
      (await eventsFor(kc, a.namespace, 'cross')).find(
        (e) => e.reason === 'Denied' && e.involvedObject.kind === 'DNSEndpoint',
      ),
    );
    expect(onEndpoint.message).toContain(theirs);
    // Tenant B publishes its own name.
    await tenantIngress(b, 'mine', [theirs]);
    await eventually(async () => (await stateOf(b, 'mine', theirs))?.state === 'Published', {
      timeoutMs: 40_000,
    });
  });

  it('the apex and a wildcard are Denied when the policy forbids them', async () => {
    const apex = zoneA.name;
    const wild = `*.${zoneA.name}`;
    await tenantIngress(a, 'edge', [apex, wild]);
    const s = await eventually(async () => {
      const [x, y] = [await stateOf(a, 'edge', apex), await stateOf(a, 'edge', wild)];
      return x?.state === 'Denied' && y?.state === 'Denied' && { x, y };
    });
    expect(s.x.message).toContain(`${apex} is the apex and spec.domains[0].apex is false`);
    expect(s.y.message).toContain(`${wild} is a wildcard and spec.domains[0].wildcards is false`);
    expect(await record(r53, zoneA.id, apex, 'A')).toBeUndefined();
    expect(await record(r53, zoneA.id, wild, 'A')).toBeUndefined();
    await eventually(() => deniedEvent(a, 'edge', 'is the apex'));
    await eventually(() => deniedEvent(a, 'edge', 'is a wildcard'));
  });

  it('hostsPerSource: hosts past the budget are Denied, the first ones published', async () => {
    const hosts = ['h1', 'h2', 'h3', 'h4'].map((h) => `${h}.${zoneA.name}`);
    await tenantIngress(a, 'many', hosts);
    await eventually(
      async () => {
        const states = await Promise.all(hosts.map((h) => stateOf(a, 'many', h)));
        return states.map((x) => x?.state).join() === 'Published,Published,Published,Denied';
      },
      { timeoutMs: 40_000 },
    );
    const last = await stateOf(a, 'many', hosts[3] ?? '');
    expect(last?.message).toContain('spec.budgets.hostsPerSource is 3');
    expect(await record(r53, zoneA.id, hosts[3] ?? '', 'A')).toBeUndefined();
    await eventually(() => deniedEvent(a, 'many', 'hostsPerSource'));
  });

  it('a policy change that allows a name takes effect without a restart', async () => {
    const apex = zoneA.name;
    const current = (await custom.getClusterCustomObject({
      ...group,
      name: policyA,
    })) as DomainPolicy;
    await custom.replaceClusterCustomObject({
      ...group,
      name: policyA,
      body: { ...current, spec: policySpecA({ apex: true }) },
    });
    await eventually(async () => (await stateOf(a, 'edge', apex))?.state === 'Published', {
      timeoutMs: 40_000,
    });
    expect((await record(r53, zoneA.id, apex, 'A'))?.ResourceRecords?.[0]?.Value).toBe(
      '192.0.2.10',
    );
    // The wildcard stays denied.
    expect((await stateOf(a, 'edge', `*.${zoneA.name}`))?.state).toBe('Denied');
  });
});

describe('default deny', () => {
  it('a namespace no policy selects is denied; labels that a selector matches allow it', async () => {
    const host = `c.${zoneB.name}`;
    await tenantIngress(c, 'app', [host]);
    const s = await eventually(async () => {
      const x = await stateOf(c, 'app', host);
      return x?.state === 'Denied' && x;
    });
    expect(s.message).toContain(`no DomainPolicy selects namespace ${c.namespace}`);
    await eventually(() => deniedEvent(c, 'app', 'no DomainPolicy selects'));
    expect(await record(r53, zoneB.id, host, 'A')).toBeUndefined();
    // The platform team gives the namespace the label tenant B's policy selects.
    await kc
      .makeApiClient(k8s.CoreV1Api)
      .patchNamespace(
        { name: c.namespace, body: { metadata: { labels: { tenant: b.namespace } } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
    await eventually(async () => (await stateOf(c, 'app', host))?.state === 'Published', {
      timeoutMs: 40_000,
    });
    expect((await record(r53, zoneB.id, host, 'A'))?.ResourceRecords?.[0]?.Value).toBe(
      '192.0.2.10',
    );
  });
});

describe('Certificates', () => {
  it('a wildcard Certificate is Denied, with no order', async () => {
    const before = ordersPlaced(env);
    const wild = `*.${zoneA.name}`;
    await tenantIngress(a, 'wild-tls', [`w.${zoneA.name}`], { tls: [wild], issuer: issuerA });
    const c = await eventually(async () => {
      const x = await certificateOf(a, 'wild-tls');
      const ready = x?.status?.conditions?.find((k) => k.type === 'Ready');
      return x && ready?.reason === 'Denied' && { x, ready };
    });
    expect(c.ready.status).toBe('False');
    expect(c.ready.message).toContain(`DomainPolicy ${policyA}: ${wild} is a wildcard`);
    expect(c.x.status?.order).toBeUndefined();
    expect(ordersPlaced(env)).toBe(before);
    await eventually(() => deniedEvent(a, 'wild-tls', `DomainPolicy ${policyA}`));
  });

  it('an issuer tenant A may not use: Ready=False reason Denied, and no order at Pebble', async () => {
    const before = ordersPlaced(env);
    const host = `app.${zoneA.name}`;
    await tenantIngress(a, 'wrong-issuer', [host], { tls: [host], issuer: issuerB });
    const c = await eventually(async () => {
      const x = await certificateOf(a, 'wrong-issuer');
      const ready = x?.status?.conditions?.find((k) => k.type === 'Ready');
      return x && ready?.reason === 'Denied' && { x, ready };
    });
    expect(c.ready).toMatchObject({ status: 'False', reason: 'Denied' });
    expect(c.ready.message).toContain(
      `DomainPolicy ${policyA}: ClusterIssuer ${issuerB} is not in spec.issuers.clusterIssuers (${issuerA})`,
    );
    expect(c.x.status?.order).toBeUndefined();
    expect(c.x.status?.lastOrder).toBeUndefined();
    const certName = c.x.metadata.name ?? '';
    await eventually(() => deniedEvent(a, certName, `ClusterIssuer ${issuerB}`, 'Certificate'));
    await eventually(() => deniedEvent(a, 'wrong-issuer', `ClusterIssuer ${issuerB}`));
    expect(ordersPlaced(env)).toBe(before);
    const metrics = await op.metrics.registry.getSingleMetricAsString(
      'certroute_policy_denials_total',
    );
    expect(metrics).toMatch(/kind="certificate",reason="issuer"\} [1-9]/);
    // The DNS record of the same Ingress is allowed: only the certificate is denied.
    await eventually(async () => (await stateOf(a, 'wrong-issuer', host))?.state === 'Published', {
      timeoutMs: 40_000,
    });
  });
});

describe('the order budget', () => {
  it('ordersPerHour used up: Ready=False reason OrderBudgetExhausted, no order', async () => {
    const before = ordersPlaced(env);
    const host = `shop.${zoneB.name}`;
    await tenantIngress(b, 'shop', [host], { tls: [host], issuer: issuerA });
    const c = await eventually(async () => {
      const x = await certificateOf(b, 'shop');
      const ready = x?.status?.conditions?.find((k) => k.type === 'Ready');
      return x && ready?.reason === 'OrderBudgetExhausted' && { x, ready };
    });
    expect(c.ready.status).toBe('False');
    expect(c.ready.message).toContain(
      `namespace ${b.namespace} has used its 0 new orders per hour (DomainPolicy ${policyB}`,
    );
    expect(c.x.status?.order).toBeUndefined();
    await eventually(async () =>
      (await eventsFor(kc, b.namespace, c.x.metadata.name ?? '')).find(
        (e) => e.reason === 'OrderBudgetExhausted',
      ),
    );
    expect(ordersPlaced(env)).toBe(before);
    // Counted once the hold is reported: after its Events (on the Certificate, then the
    // Ingress), so it may land a moment after the first one is visible.
    const metric = await eventually(async () => {
      const m = await op.metrics.registry.getSingleMetricAsString(
        'certroute_order_budget_exhausted_total',
      );
      return m.includes(`namespace="${b.namespace}"}`) && m;
    });
    expect(metric).toContain(`namespace="${b.namespace}"} 1`);
  });
});

describe('DomainPolicy status', () => {
  it('says what each policy matched', async () => {
    const status = async (name: string) =>
      ((await custom.getClusterCustomObject({ ...group, name })) as DomainPolicy).status;
    const sa = await eventually(async () => {
      const s = await status(policyA);
      return s?.matchedNamespaces?.length === 1 && s;
    });
    expect(sa.matchedNamespaces).toEqual([a.namespace]);
    expect(sa.conditions?.find((c) => c.type === 'Accepted')?.status).toBe('True');
    // B's selector matches B and, since its labels changed, C.
    const sb = await eventually(async () => {
      const s = await status(policyB);
      return s?.matchedNamespaceCount === 2 && s;
    });
    expect(sb.matchedNamespaces).toEqual([b.namespace, c.namespace].sort());
  });

  it('an invalid policy is not accepted and says why (it selects no namespace of this test)', async () => {
    const name = uniqueName('bad');
    await custom.createClusterCustomObject({
      ...group,
      body: {
        apiVersion: 'certroute.io/v1alpha1',
        kind: 'DomainPolicy',
        metadata: { name, labels: testLabel },
        spec: {
          namespaces: { names: [uniqueName('nobody')] },
          domains: [{ glob: 'a..b' }],
          recordTargets: ['10.0.0.0/99'],
        },
      },
    });
    const accepted = await eventually(async () => {
      const p = (await custom.getClusterCustomObject({ ...group, name })) as DomainPolicy;
      return p.status?.conditions?.find((x) => x.type === 'Accepted');
    });
    expect(accepted).toMatchObject({ status: 'False', reason: 'InvalidPolicy' });
    expect(accepted.message).toContain('spec.domains[0].glob "a..b" is not a valid glob');
    expect(accepted.message).toContain('spec.recordTargets[0] "10.0.0.0/99" is not a CIDR');
    // Tenant A's names are still served.
    expect((await stateOf(a, 'cross', `www.${zoneA.name}`))?.state).toBe('Published');
  });
});
