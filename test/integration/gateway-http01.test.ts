// HTTP-01 through Gateway API: the issuer's http01 solver has `gatewayHTTPRoute`, so the
// challenge reaches the operator through an HTTPRoute attached to a Gateway that Traefik (the
// lab's Gateway API implementation, test/lab/traefik-gateway.ts) programs and routes. Traefik
// writes the Gateway's and the route's status; no test does.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, get, type Server } from 'node:http';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Operator } from '../../src/operator.js';
import type { HTTPRouteObject } from '../../src/acme/solvers/http01-route.js';
import { createClusterIssuer, deleteClusterIssuer, labIssuer } from '../lab/acme-helpers.js';
import {
  adminConfig,
  createNamespace,
  deleteNamespace,
  eventually,
  labEnv,
  labRoute53,
} from '../lab/context.js';
import { labPodAddress } from '../lab/ingress-router.js';
import { conditionOf, createDnsEndpoint, eventsFor, getCertificate } from '../lab/k8s-helpers.js';
import { ensureNamespace, startOperator } from '../lab/operator.js';
import { createZone, record } from '../lab/route53-helpers.js';
import {
  gatewayGroup,
  gatewayProgrammed,
  traefikGatewayClass,
  traefikWebPort,
} from '../lab/traefik-gateway.js';

const env = labEnv();
const kc = adminConfig(env);
const core = kc.makeApiClient(k8s.CoreV1Api);
const net = kc.makeApiClient(k8s.NetworkingV1Api);
const custom = kc.makeApiClient(k8s.CustomObjectsApi);
const r53 = labRoute53(env);
const suffix = Date.now().toString(36);
const issuer = `lab-gw-http01-${suffix}`;
const anyListener = `lab-gw-http01-any-${suffix}`;
const gateway = 'public';
let ns: string;
let zone: { id: string; name: string };
let op: Operator;

const gw = () => ({ group: gatewayGroup, version: 'v1', namespace: ns, plural: 'gateways' });
const routes = () => ({ group: gatewayGroup, version: 'v1', namespace: ns, plural: 'httproutes' });

async function solverRoutes(): Promise<HTTPRouteObject[]> {
  const l = (await custom.listNamespacedCustomObject({
    ...routes(),
    labelSelector: 'certroute.io/solver=http01',
  })) as { items: HTTPRouteObject[] };
  return l.items;
}

async function createCertificate(name: string, host: string, by = issuer): Promise<void> {
  await custom.createNamespacedCustomObject({
    group: 'certroute.io',
    version: 'v1alpha1',
    plural: 'certificates',
    namespace: ns,
    body: {
      apiVersion: 'certroute.io/v1alpha1',
      kind: 'Certificate',
      metadata: { name, namespace: ns },
      spec: { dnsNames: [host], issuerRef: { name: by }, secretName: `${name}-tls` },
    },
  });
}

beforeAll(async () => {
  ns = await createNamespace(kc, 'gw-http01');
  await ensureNamespace(kc, 'certroute');
  zone = await createZone(r53, 'gw-http01');
  // A Gateway of Traefik's class with one HTTP listener for one host, on the web entrypoint.
  await custom.createNamespacedCustomObject({
    ...gw(),
    body: {
      apiVersion: `${gatewayGroup}/v1`,
      kind: 'Gateway',
      metadata: { name: gateway, namespace: ns },
      spec: {
        gatewayClassName: traefikGatewayClass,
        listeners: [
          { name: 'web', protocol: 'HTTP', port: traefikWebPort, hostname: `shop.${zone.name}` },
          { name: 'www', protocol: 'HTTP', port: traefikWebPort, hostname: `www.${zone.name}` },
        ],
      },
    },
  });
  // The same Gateway, every listener (no sectionName), as cert-manager's parentRefs write it.
  await createClusterIssuer(
    kc,
    labIssuer(env, anyListener, {
      solvers: [
        {
          http01: {
            gatewayHTTPRoute: {
              parentRefs: [{ group: gatewayGroup, kind: 'Gateway', name: gateway }],
            },
          },
        },
      ],
    }),
  );
  await createClusterIssuer(
    kc,
    labIssuer(env, issuer, {
      solvers: [
        {
          http01: {
            gatewayHTTPRoute: {
              parentRefs: [{ name: gateway, namespace: ns, sectionName: 'web' }],
              labels: { 'lab.certroute.io/test': 'gateway-http01' },
            },
          },
        },
      ],
    }),
  );
  op = await startOperator(env, [
    `--watch-namespaces=${ns}`,
    '--leader-election=false',
    `--domain-filter=${zone.name}`,
    '--owner-id=lab-gw-http01',
    '--namespace=certroute',
  ]);
});
afterAll(async () => {
  await op?.stop();
  await deleteClusterIssuer(kc, issuer);
  await deleteClusterIssuer(kc, anyListener);
  await deleteNamespace(kc, ns);
});

describe('HTTP-01 over an HTTPRoute (http01.gatewayHTTPRoute)', () => {
  it('Traefik programs the Gateway and publishes its address', async () => {
    const g = await eventually(async () => {
      const o = (await custom.getNamespacedCustomObject({ ...gw(), name: gateway })) as {
        status?: Parameters<typeof gatewayProgrammed>[0];
        metadata?: k8s.V1ObjectMeta;
      };
      return gatewayProgrammed(o.status, env.ingressAddress) && o;
    });
    expect(g.status?.addresses?.map((a) => a.value)).toEqual([env.ingressAddress]);
    const writers = (g.metadata?.managedFields ?? [])
      .filter((f) => f.subresource === 'status')
      .map((f) => f.manager);
    expect(writers).toEqual(['traefik']);
  });

  it('issues for the listener host through a challenge HTTPRoute, then removes it', async () => {
    const host = `shop.${zone.name}`;
    // The host's record, hand-written, pointing at the Gateway's (Traefik's) address.
    await createDnsEndpoint(kc, ns, 'shop', [
      { dnsName: host, recordType: 'A', targets: [env.ingressAddress] },
    ]);
    await eventually(async () => (await record(r53, zone.id, host, 'A')) !== undefined);
    const accessLog = join(env.dir, 'traefik-access.log');
    const offset = readFileSync(accessLog).length;
    await createCertificate('shop', host);

    // While the order runs: the solver's HTTPRoute, accepted by the Gateway (Traefik's status).
    const seen = await eventually(
      async () => {
        const [r] = await solverRoutes();
        const parent = r?.status?.parents?.[0];
        const ok = parent?.conditions?.some((c) => c.type === 'Accepted' && c.status === 'True');
        return ok && r;
      },
      { timeoutMs: 60_000 },
    );
    expect(seen.spec.hostnames).toEqual([host]);
    expect(seen.spec.parentRefs).toEqual([
      { group: gatewayGroup, kind: 'Gateway', name: gateway, namespace: ns, sectionName: 'web' },
    ]);
    expect(seen.metadata.labels?.['lab.certroute.io/test']).toBe('gateway-http01');
    expect(seen.status?.parents?.[0]?.controllerName).toBe('traefik.io/gateway-controller');

    const cert = await eventually(
      async () => {
        const c = await getCertificate(kc, ns, 'shop');
        return conditionOf(c, 'Ready')?.status === 'True' && c;
      },
      { timeoutMs: 90_000 },
    );
    expect(cert.status?.lastOrder?.result).toBe('valid');
    const secret = await core.readNamespacedSecret({ namespace: ns, name: 'shop-tls' });
    const leaf = new X509Certificate(Buffer.from(secret.data?.['tls.crt'] ?? '', 'base64'));
    expect(leaf.subjectAltName).toBe(`DNS:${host}`);

    // Every validation request of Pebble's VA went through the HTTPRoute's router (Traefik's
    // Gateway provider) and was answered 200.
    const line =
      /"GET \/\.well-known\/acme-challenge\/[\w-]+ HTTP\/1\.1" (\d+) .*"([^"]*)" \d+ "([^"]*)"/;
    const validations = readFileSync(accessLog)
      .subarray(offset)
      .toString('utf8')
      .split('\n')
      .map((l) => line.exec(l))
      .filter((m): m is RegExpExecArray => m?.[2]?.includes('Pebble-VA') ?? false);
    expect(validations.length).toBeGreaterThan(0);
    for (const [, status, , router] of validations) {
      expect(status).toBe('200');
      expect(router).toMatch(new RegExp(`^httproute-${ns}-certroute-http01-.*@kubernetesgateway$`));
    }

    // Cleaned up: no HTTPRoute, Service or EndpointSlice of the solver, and no Ingress at all.
    await eventually(async () => (await solverRoutes()).length === 0);
    const svcs = await core.listNamespacedService({
      namespace: ns,
      labelSelector: 'certroute.io/solver=http01',
    });
    expect(svcs.items).toEqual([]);
    expect((await net.listNamespacedIngress({ namespace: ns })).items).toEqual([]);
  });

  it('waits, saying why, while the Gateway does not accept the route', async () => {
    // No listener of the Gateway is for this host: Traefik refuses the route.
    const host = `blog.${zone.name}`;
    await createDnsEndpoint(kc, ns, 'blog', [
      { dnsName: host, recordType: 'A', targets: [env.ingressAddress] },
    ]);
    await eventually(async () => (await record(r53, zone.id, host, 'A')) !== undefined);
    await createCertificate('blog', host);
    const c = await eventually(
      async () => {
        const x = await getCertificate(kc, ns, 'blog');
        // First "no status yet", until Traefik has written the route's status.
        const i = conditionOf(x, 'Issuing');
        return i?.reason === 'SolverRouteNotAccepted' && i.message.includes('not accepted') && x;
      },
      { timeoutMs: 60_000 },
    );
    expect(conditionOf(c, 'Issuing')?.message).toMatch(
      new RegExp(
        `${host}: HTTPRoute ${ns}/certroute-http01-\\w+ is not accepted by Gateway ${ns}/${gateway} \\(listener web\\): NoMatchingListenerHostname`,
      ),
    );
    expect(c.status?.lastOrder).toBeUndefined();
    const events = await eventsFor(kc, ns, 'blog');
    expect(events.some((e) => e.reason === 'SolverRouteNotAccepted')).toBe(true);
    // Deleting the Certificate removes its route (owner reference or cleanup).
    await custom.deleteNamespacedCustomObject({
      group: 'certroute.io',
      version: 'v1alpha1',
      plural: 'certificates',
      namespace: ns,
      name: 'blog',
    });
    await eventually(async () => (await solverRoutes()).length === 0, { timeoutMs: 60_000 });
  });

  it("wins over an application's HTTPRoute on / for the same host", async () => {
    const host = `www.${zone.name}`;
    const app = await startApp();
    try {
      await appBackend('storefront', app.port);
      await custom.createNamespacedCustomObject({
        ...routes(),
        body: {
          apiVersion: `${gatewayGroup}/v1`,
          kind: 'HTTPRoute',
          metadata: { name: 'storefront', namespace: ns },
          spec: {
            parentRefs: [{ name: gateway, sectionName: 'www' }],
            hostnames: [host],
            rules: [{ backendRefs: [{ name: 'storefront', port: 80 }] }],
          },
        },
      });
      await createDnsEndpoint(kc, ns, 'www', [
        { dnsName: host, recordType: 'A', targets: [env.ingressAddress] },
      ]);
      // The application answers every path through Traefik before certroute is asked in.
      await eventually(async () => {
        const r = await viaTraefik(host, '/.well-known/acme-challenge/not-yet');
        return r.status === 200 && r.body === `app saw ${host}/.well-known/acme-challenge/not-yet`;
      });
      await eventually(async () => (await record(r53, zone.id, host, 'A')) !== undefined);
      await createCertificate('www', host, anyListener);
      const cert = await eventually(
        async () => {
          const c = await getCertificate(kc, ns, 'www');
          return conditionOf(c, 'Ready')?.status === 'True' && c;
        },
        { timeoutMs: 90_000 },
      );
      expect(cert.status?.lastOrder?.result).toBe('valid');
      expect(app.requests.filter((r) => r.includes('Pebble-VA'))).toEqual([]);
      expect((await viaTraefik(host, '/after')).body).toBe(`app saw ${host}/after`);
      await eventually(async () => (await solverRoutes()).length === 0);
    } finally {
      await new Promise((r) => app.server.close(r));
    }
  });
});

describe("a Gateway's own listener, end to end (issue 24)", () => {
  it('a listener for one host gets its certificate from the Gateway source, through HTTP-01 over an HTTPRoute', async () => {
    const host = `api.${zone.name}`;
    const edge = 'edge';
    const edgeIssuer = `${issuer}-edge`;
    await createClusterIssuer(
      kc,
      labIssuer(env, edgeIssuer, {
        solvers: [
          {
            http01: {
              gatewayHTTPRoute: {
                parentRefs: [{ name: edge, namespace: ns, sectionName: 'http' }],
              },
            },
          },
        ],
      }),
    );
    const accessLog = join(env.dir, 'traefik-access.log');
    const offset = readFileSync(accessLog).length;
    try {
      // The Gateway asks for a certificate for its HTTPS listener's one host, by annotation,
      // as cert-manager's gateway-shim reads it; its HTTP listener takes the challenge route.
      await custom.createNamespacedCustomObject({
        ...gw(),
        body: {
          apiVersion: `${gatewayGroup}/v1`,
          kind: 'Gateway',
          metadata: {
            name: edge,
            namespace: ns,
            annotations: { 'certroute.io/issuer': edgeIssuer },
          },
          spec: {
            gatewayClassName: traefikGatewayClass,
            listeners: [
              { name: 'http', protocol: 'HTTP', port: traefikWebPort, hostname: host },
              {
                name: 'https',
                protocol: 'HTTPS',
                port: 8443,
                hostname: host,
                tls: { mode: 'Terminate', certificateRefs: [{ name: 'api-tls' }] },
              },
            ],
          },
        },
      });
      // The application's route gives the host its record at the Gateway's address (the
      // route source, once Traefik accepts the route).
      await custom.createNamespacedCustomObject({
        ...routes(),
        body: {
          apiVersion: `${gatewayGroup}/v1`,
          kind: 'HTTPRoute',
          metadata: { name: 'api', namespace: ns },
          spec: {
            parentRefs: [{ name: edge, sectionName: 'http' }],
            hostnames: [host],
            rules: [{ backendRefs: [{ name: 'api', port: 80 }] }],
          },
        },
      });
      await eventually(async () => (await record(r53, zone.id, host, 'A')) !== undefined, {
        timeoutMs: 60_000,
      });

      // The Certificate is the Gateway's child, named after the listener's Secret.
      const cert = await eventually(
        async () => {
          const c = await getCertificate(kc, ns, 'api-tls');
          return conditionOf(c, 'Ready')?.status === 'True' && c;
        },
        { timeoutMs: 120_000 },
      );
      expect(cert.spec.dnsNames).toEqual([host]);
      expect(cert.spec.issuerRef.name).toBe(edgeIssuer);
      expect(cert.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'Gateway', name: edge });
      // The Gateway hears of its certificate as an Ingress does: an Event on the Gateway.
      const issued = await eventually(async () =>
        (await eventsFor(kc, ns, edge)).find(
          (e) => e.involvedObject.kind === 'Gateway' && e.reason === 'Issued',
        ),
      );
      expect(issued.message).toMatch(/^Certificate api-tls: /);
      expect(cert.status?.lastOrder?.result).toBe('valid');
      const secret = await core.readNamespacedSecret({ namespace: ns, name: 'api-tls' });
      const leaf = new X509Certificate(Buffer.from(secret.data?.['tls.crt'] ?? '', 'base64'));
      expect(leaf.subjectAltName).toBe(`DNS:${host}`);
      // Pebble's VA was answered through the challenge HTTPRoute's router.
      const routers = readFileSync(accessLog)
        .subarray(offset)
        .toString('utf8')
        .split('\n')
        .filter((l) => l.includes('Pebble-VA') && l.includes('/.well-known/acme-challenge/'));
      expect(routers.length).toBeGreaterThan(0);
      for (const l of routers) expect(l).toContain(`httproute-${ns}-certroute-http01-`);
      // Solved over the HTTPRoute: no solver Ingress was ever made, and the route is gone.
      expect((await net.listNamespacedIngress({ namespace: ns })).items).toEqual([]);
      await eventually(async () => (await solverRoutes()).length === 0);
    } finally {
      await deleteClusterIssuer(kc, edgeIssuer);
    }
  });
});

/** An application: answers every path, and records "<user-agent> <path>" of each request. */
async function startApp(): Promise<{ server: Server; port: number; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.headers['user-agent'] ?? '-'} ${req.url ?? ''}`);
    res.end(`app saw ${req.headers.host}${req.url}`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port, requests };
}

/** A Service without a selector and its EndpointSlice at the app's pod address. */
async function appBackend(name: string, port: number): Promise<void> {
  await core.createNamespacedService({
    namespace: ns,
    body: { metadata: { name }, spec: { ports: [{ name: 'http', port: 80 }] } },
  });
  await kc.makeApiClient(k8s.DiscoveryV1Api).createNamespacedEndpointSlice({
    namespace: ns,
    body: {
      metadata: { name, labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4',
      endpoints: [{ addresses: [labPodAddress('127.0.0.1')], conditions: { ready: true } }],
      ports: [{ name: 'http', port, protocol: 'TCP' }],
    },
  });
}

/** A GET through Traefik's web entrypoint, with an explicit Host header. */
function viaTraefik(host: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get({ host: env.ingressAddress, port: env.http01Port, path, headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}
