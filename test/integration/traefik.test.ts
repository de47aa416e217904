// Traefik, the lab's ingress controller: it publishes status for its own class only, routes
// to pod addresses in the lab's network namespace, and HTTP-01 goes through it even with an
// application Ingress on / for the same host.
import { readFileSync } from 'node:fs';
import { createServer, get, type Server } from 'node:http';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Operator } from '../../src/operator.js';
import { createClusterIssuer, deleteClusterIssuer, labIssuer } from '../lab/acme-helpers.js';
import {
  adminConfig,
  createNamespace,
  deleteNamespace,
  eventually,
  labEnv,
  labRoute53,
  uniqueName,
} from '../lab/context.js';
import { labPodAddress } from '../lab/ingress-router.js';
import { conditionOf, getCertificate } from '../lab/k8s-helpers.js';
import { ensureNamespace, startOperator } from '../lab/operator.js';
import { createZone } from '../lab/route53-helpers.js';

const env = labEnv();
const kc = adminConfig(env);
const core = kc.makeApiClient(k8s.CoreV1Api);
const net = kc.makeApiClient(k8s.NetworkingV1Api);
const discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
const r53 = labRoute53(env);
let ns: string;

/** An application: answers every path with its name, and records what it was asked. */
interface App {
  server: Server;
  port: number;
  /** "<user-agent> <path>" of every request. */
  requests: string[];
}

async function startApp(name: string): Promise<App> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.headers['user-agent'] ?? '-'} ${req.url ?? ''}`);
    res.end(`${name} saw ${req.headers.host}${req.url}`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port, requests };
}

/** A Service without a selector and its EndpointSlice at the app's pod address, as for a pod. */
async function appService(name: string, app: App): Promise<void> {
  await core.createNamespacedService({
    namespace: ns,
    body: { metadata: { name }, spec: { ports: [{ name: 'http', port: 80 }] } },
  });
  await discovery.createNamespacedEndpointSlice({
    namespace: ns,
    body: {
      metadata: { name, labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4',
      endpoints: [{ addresses: [labPodAddress('127.0.0.1')], conditions: { ready: true } }],
      ports: [{ name: 'http', port: app.port, protocol: 'TCP' }],
    },
  });
}

function appIngress(
  name: string,
  host: string,
  opts: { className?: string; path?: string; tls?: boolean; annotations?: Record<string, string> },
): k8s.V1Ingress {
  return {
    metadata: { name, namespace: ns, annotations: opts.annotations ?? {} },
    spec: {
      ...(opts.className ? { ingressClassName: opts.className } : {}),
      ...(opts.tls ? { tls: [{ hosts: [host], secretName: `${name}-tls` }] } : {}),
      rules: [
        {
          host,
          http: {
            paths: [
              {
                path: opts.path ?? '/',
                pathType: 'Prefix',
                backend: { service: { name, port: { number: 80 } } },
              },
            ],
          },
        },
      ],
    },
  };
}

/** A GET through Traefik's web entrypoint, with an explicit Host header. */
function viaTraefik(host: string, path: string) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    get({ host: env.ingressAddress, port: env.http01Port, path, headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

async function statusOf(name: string): Promise<k8s.V1IngressLoadBalancerIngress[]> {
  const ing = await net.readNamespacedIngressStatus({ namespace: ns, name });
  return ing.status?.loadBalancer?.ingress ?? [];
}

beforeAll(async () => {
  ns = await createNamespace(kc, 'traefik');
});
afterAll(async () => {
  await deleteNamespace(kc, ns);
});

describe('Traefik as the ingress controller', () => {
  let app: App;
  beforeAll(async () => {
    app = await startApp('shop');
  });
  afterAll(async () => {
    await new Promise((r) => app.server.close(r));
  });

  it('writes the status address of Ingresses of its class itself, and of no others', async () => {
    const host = `${uniqueName('status')}.example.test`;
    await appService('mine', app);
    await net.createNamespacedIngress({
      namespace: ns,
      body: appIngress('mine', host, { className: env.ingressClass }),
    });
    await net.createNamespacedIngress({ namespace: ns, body: appIngress('classless', host, {}) });
    await net.createNamespacedIngress({
      namespace: ns,
      body: appIngress('other', host, { className: 'nginx' }),
    });
    const published = await eventually(async () => {
      const s = await statusOf('mine');
      return s.length > 0 && s;
    });
    expect(published).toEqual([{ ip: env.ingressAddress }]);
    // The status subresource was written by Traefik's client, not by the lab or the test.
    const ing = await net.readNamespacedIngress({ namespace: ns, name: 'mine' });
    const writers = (ing.metadata?.managedFields ?? [])
      .filter((f) => f.subresource === 'status')
      .map((f) => f.manager);
    expect(writers).toEqual(['traefik']);
    // Traefik has seen all three by now (it wrote the first); the others are not its class.
    expect(await statusOf('classless')).toEqual([]);
    expect(await statusOf('other')).toEqual([]);
  });

  it('routes by host and path to an EndpointSlice address in the pod network', async () => {
    const host = `${uniqueName('route')}.example.test`;
    await appService('routed', app);
    await net.createNamespacedIngress({
      namespace: ns,
      body: appIngress('routed', host, { className: env.ingressClass, path: '/app' }),
    });
    const res = await eventually(async () => {
      const r = await viaTraefik(host, '/app/x?q=1');
      return r.status === 200 && r;
    });
    expect(res.body).toBe(`shop saw ${host}/app/x?q=1`);
    // Prefix matching is path-element-wise, as the Ingress specification says.
    expect((await viaTraefik(host, '/application')).status).toBe(404);
    expect((await viaTraefik(host, '/other')).status).toBe(404);
    const access = readFileSync(join(env.dir, 'traefik-access.log'), 'utf8');
    expect(access).toMatch(new RegExp(`"GET /app/x\\?q=1 HTTP/1.1" 200 .* "${ns}-routed-`));
  });
});

describe('HTTP-01 through Traefik', () => {
  let op: Operator;
  let app: App;
  let zone: { id: string; name: string };
  const issuer = `lab-traefik-${Date.now().toString(36)}`;
  beforeAll(async () => {
    await ensureNamespace(kc, 'certroute');
    zone = await createZone(r53, 'traefik');
    await createClusterIssuer(kc, labIssuer(env, issuer));
    app = await startApp('storefront');
    op = await startOperator(env, [
      `--watch-namespaces=${ns}`,
      '--leader-election=false',
      `--domain-filter=${zone.name}`,
      '--owner-id=lab-traefik',
      '--namespace=certroute',
    ]);
  });
  afterAll(async () => {
    await op?.stop();
    await deleteClusterIssuer(kc, issuer);
    await new Promise((r) => app.server.close(r));
  });

  it('issues for a host whose application Ingress takes every path (/)', async () => {
    const host = `shop.${zone.name}`;
    await appService('storefront', app);
    await net.createNamespacedIngress({
      namespace: ns,
      body: appIngress('storefront', host, { className: env.ingressClass, tls: true }),
    });
    // The application answers every path through Traefik before certroute is asked in.
    const before = await eventually(async () => {
      const r = await viaTraefik(host, '/.well-known/acme-challenge/not-yet');
      return r.status === 200 && r;
    });
    expect(before.body).toBe(`storefront saw ${host}/.well-known/acme-challenge/not-yet`);
    // The access log is the lab's: read only what is written from here on.
    const accessLog = join(env.dir, 'traefik-access.log');
    const offset = readFileSync(accessLog).length;
    const ing = await net.readNamespacedIngress({ namespace: ns, name: 'storefront' });
    ing.metadata = {
      ...ing.metadata,
      annotations: { 'certroute.io/issuer': issuer, 'certroute.io/dns': 'true' },
    };
    await net.replaceNamespacedIngress({ namespace: ns, name: 'storefront', body: ing });

    const cert = await eventually(
      async () => {
        const c = await getCertificate(kc, ns, 'storefront-tls');
        return conditionOf(c, 'Ready')?.status === 'True' && c;
      },
      { timeoutMs: 60_000 },
    );
    expect(cert.status?.lastOrder?.result).toBe('valid');
    expect(cert.status?.failedAttempts ?? 0).toBe(0);
    // Traefik's access log: every validation request of Pebble's VA was routed to the solver
    // Ingress and answered 200. (certroute's self-checks may reach the application until
    // Traefik has loaded the solver's route: that is what they are for.)
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
      expect(router).toMatch(new RegExp(`^${ns}-certroute-http01-[0-9a-f]+-.*@kubernetes$`));
    }
    // The application never saw the CA, and still has every other path.
    expect(app.requests.filter((r) => r.includes('Pebble-VA'))).toEqual([]);
    expect((await viaTraefik(host, '/after')).body).toBe(`storefront saw ${host}/after`);
  });
});
