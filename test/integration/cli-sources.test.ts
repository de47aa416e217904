// kubectl certroute on the sources beyond Ingress, against the lab: the CLI bundle run as a
// child process with the admin kubeconfig, next to an operator watching Gateway API routes and
// LoadBalancer Services (the CRDs as gateway-sources.test.ts installs them). No Gateway
// implementation runs: the test writes the Gateway's status.addresses, the routes'
// status.parents and the Service's load balancer address, as their controllers would.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Operator } from '../../src/operator.js';
import {
  adminConfig,
  createNamespace,
  deleteNamespace,
  eventually,
  labEnv,
  labRoute53,
} from '../lab/context.js';
import { ensureNamespace, installGatewayApiCrds, startOperator } from '../lab/operator.js';
import { buildCli, stepOf, type Explained, type LabCli } from '../lab/cli-run.js';
import { createZone, record } from '../lab/route53-helpers.js';

const env = labEnv();
const kc = adminConfig(env);
const core = kc.makeApiClient(k8s.CoreV1Api);
const custom = kc.makeApiClient(k8s.CustomObjectsApi);
const r53 = labRoute53(env);
const group = 'gateway.networking.k8s.io';
const className = `lab-cli-${Date.now().toString(36)}`;
const controllerName = 'lab.certroute.io/gateway-stand-in';

let ns: string;
let zone: { id: string; name: string };
let op: Operator | undefined;
const h = {} as Record<'route' | 'refused' | 'service', string>;

let labCli: LabCli | undefined;
function cliOf(): LabCli {
  if (!labCli) throw new Error('the CLI is built in beforeAll');
  return labCli;
}
const run = (...args: string[]) => cliOf().run(...args);
const json = <T>(...args: string[]) => cliOf().json<T>(...args);

interface Status {
  hosts: { host: string; source: string; ready: boolean; dns: { record: string; state: string } }[];
}

const gw = { group, version: 'v1', plural: 'gateways' };
const routes = { group, version: 'v1', plural: 'httproutes' };

/** Replaces an object's status through the status subresource, as its controller would. */
async function writeStatus(
  res: { group: string; version: string; plural: string },
  name: string,
  status: unknown,
) {
  const o = (await custom.getNamespacedCustomObject({ ...res, namespace: ns, name })) as object;
  await custom.replaceNamespacedCustomObjectStatus({
    ...res,
    namespace: ns,
    name,
    body: { ...o, status },
  });
}

async function createRoute(name: string, host: string, accepted: boolean) {
  const parentRef = { group, kind: 'Gateway', name: 'public', sectionName: 'http' };
  await custom.createNamespacedCustomObject({
    ...routes,
    namespace: ns,
    body: {
      apiVersion: `${group}/v1`,
      kind: 'HTTPRoute',
      metadata: { name, namespace: ns, annotations: { 'certroute.io/dns': 'true' } },
      spec: { parentRefs: [parentRef], hostnames: [host] },
    },
  });
  const condition = {
    type: 'Accepted',
    status: accepted ? 'True' : 'False',
    reason: accepted ? 'Accepted' : 'NotAllowedByListeners',
    message: accepted ? 'accepted' : 'not allowed by the listeners',
    lastTransitionTime: new Date().toISOString(),
  };
  await writeStatus(routes, name, {
    parents: [{ parentRef, controllerName, conditions: [condition] }],
  });
}

beforeAll(async () => {
  labCli = buildCli(env.kubeconfig, 'certroute-cli-sources-');
  await installGatewayApiCrds(kc);
  ns = await createNamespace(kc, 'clisrc');
  await ensureNamespace(kc, 'certroute');
  zone = await createZone(r53, 'clisrc');
  Object.assign(h, {
    route: `web.apps.${zone.name}`,
    refused: `refused.apps.${zone.name}`,
    service: `db.${zone.name}`,
  });
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
    '--owner-id=lab-cli-sources',
  ]);
  await custom.createNamespacedCustomObject({
    ...gw,
    namespace: ns,
    body: {
      apiVersion: `${group}/v1`,
      kind: 'Gateway',
      metadata: { name: 'public', namespace: ns },
      spec: {
        gatewayClassName: className,
        listeners: [{ name: 'http', port: 80, protocol: 'HTTP', hostname: `*.apps.${zone.name}` }],
      },
    },
  });
  await writeStatus(gw, 'public', { addresses: [{ type: 'IPAddress', value: '192.0.2.70' }] });
  await createRoute('web', h.route, true);
  await createRoute('refused', h.refused, false);
  await core.createNamespacedService({
    namespace: ns,
    body: {
      metadata: { name: 'db', annotations: { 'certroute.io/hostname': h.service } },
      spec: { type: 'LoadBalancer', ports: [{ port: 5432 }] },
    },
  });
  const svc = await core.readNamespacedService({ namespace: ns, name: 'db' });
  svc.status = { loadBalancer: { ingress: [{ ip: '192.0.2.71' }] } };
  await core.replaceNamespacedServiceStatus({ namespace: ns, name: 'db', body: svc });
}, 120_000);

afterAll(async () => {
  await op?.stop();
  await custom
    .deleteClusterCustomObject({ group, version: 'v1', plural: 'gatewayclasses', name: className })
    .catch(() => undefined);
  if (ns) await deleteNamespace(kc, ns);
  labCli?.remove();
});

describe('kubectl certroute on Gateway API routes and LoadBalancer Services', () => {
  it('an HTTPRoute host: status and explain show HTTPRoute/web, its record published', async () => {
    const s = await eventually(
      async () => {
        const r = await json<Status>('status', '-n', ns);
        const row = r.body.hosts.find((x) => x.host === h.route);
        return row?.dns.state === 'Published' && row;
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    expect(s).toMatchObject({ source: 'HTTPRoute/web', dns: { record: 'A 192.0.2.70' } });
    const rec = await record(r53, zone.id, h.route, 'A');
    expect(rec?.ResourceRecords?.map((r) => r.Value)).toEqual(['192.0.2.70']);
    const e = await json<Explained>('explain', h.route, '-n', ns);
    expect(stepOf(e.body, 'source')).toMatchObject({
      state: 'passed',
      detail: `HTTPRoute ${ns}/web claims ${h.route}`,
    });
    expect(stepOf(e.body, 'address')).toMatchObject({
      state: 'passed',
      detail: `HTTPRoute ${ns}/web has address 192.0.2.70 (parent Gateway ${ns}/public)`,
    });
    expect(stepOf(e.body, 'record')).toMatchObject({ state: 'passed' });
    // No certificate asked: the host is ready on its record alone.
    expect(e.code).toBe(0);
    const one = await run('status', '-n', ns, 'httproute/web');
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(
      new RegExp(`${h.route.replace(/\./g, '\\.')}\\s+HTTPRoute/web\\s+A `),
    );
  }, 90_000);

  it("an HTTPRoute its Gateway did not accept: explain fails the source step with the operator's reason", async () => {
    const e = await eventually(
      async () => {
        const r = await json<Explained>('explain', h.refused, '-n', ns);
        return stepOf(r.body, 'source')?.detail.includes('RouteNotAccepted') && r;
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    expect(e.code).toBe(1);
    const source = stepOf(e.body, 'source');
    expect(source?.state).toBe('failed');
    expect(source?.detail).toContain(
      `HTTPRoute ${ns}/refused claims ${h.refused}, but (the operator says)`,
    );
    expect(source?.todo).toContain(`kubectl describe httproute -n ${ns} refused`);
  }, 90_000);

  it('a LoadBalancer Service host: status and explain show Service/db, its record published', async () => {
    const s = await eventually(
      async () => {
        const r = await json<Status>('status', '-n', ns);
        const row = r.body.hosts.find((x) => x.host === h.service);
        return row?.dns.state === 'Published' && row;
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    expect(s).toMatchObject({ source: 'Service/db', dns: { record: 'A 192.0.2.71' }, ready: true });
    const e = await json<Explained>('explain', h.service, '-n', ns);
    expect(e.code).toBe(0);
    expect(stepOf(e.body, 'source')).toMatchObject({
      state: 'passed',
      detail: `Service ${ns}/db claims ${h.service}`,
    });
    expect(stepOf(e.body, 'address')).toMatchObject({
      state: 'passed',
      detail: `Service ${ns}/db has address 192.0.2.71`,
    });
  }, 90_000);
});
