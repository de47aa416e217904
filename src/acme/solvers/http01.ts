import { createHash } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isIP } from 'node:net';
import * as k8s from '@kubernetes/client-node';
import { listen } from '../../observability/http.js';
import { managedBy, managedByLabel } from '../../kube/ownership.js';
import type { GatewayHTTPRoute } from '../../api/gateway-http01.js';
import { challengeRoute, Http01Routes } from './http01-route.js';

export const challengePath = '/.well-known/acme-challenge/';
const tokenPattern = /^[A-Za-z0-9_-]{1,256}$/;
export const solverLabel = 'certroute.io/solver';
export const certificateLabel = 'certroute.io/certificate';

/**
 * Probe tokens: before an order, the preflight fetches one through the host's solver Ingress
 * the way the CA will fetch the real token. Every replica answers a probe from the token alone
 * (no shared state), so the probe proves the route, not which replica got it.
 */
const probePrefix = 'certroute-probe-';
const probePattern = /^certroute-probe-[0-9a-f]{32}$/;

/** The probe token of one Certificate's host: stable, so retries reuse it. */
export function probeToken(certificateUid: string, host: string): string {
  const h = createHash('sha256').update(`probe|${certificateUid}|${host}`).digest('hex');
  return `${probePrefix}${h.slice(0, 32)}`;
}

export function isProbeToken(token: string): boolean {
  return probePattern.test(token);
}

/** What every replica answers for a probe token. */
export function probeAnswer(token: string): string {
  return `certroute probe ${token}`;
}

/**
 * The HTTP-01 token server every replica runs. It answers GET (and HEAD) for known tokens
 * only, refuses request bodies, and bounds header size and request time; everything else is
 * a 404. Tokens come from Certificate.status, so any replica can answer for the leader.
 */
export class TokenServer {
  private readonly byCert = new Map<string, Map<string, string>>();
  private readonly tokens = new Map<string, string>();
  private server: Server | undefined;

  /** Replaces the tokens served for one Certificate (token → key authorization). */
  set(certKey: string, tokens: Map<string, string>): void {
    for (const t of this.byCert.get(certKey)?.keys() ?? []) this.tokens.delete(t);
    if (tokens.size === 0) this.byCert.delete(certKey);
    else this.byCert.set(certKey, tokens);
    for (const [t, ka] of tokens) this.tokens.set(t, ka);
  }

  get size(): number {
    return this.tokens.size;
  }

  /** The key authorization of a token, or a probe's answer; undefined when unknown. */
  lookup(token: string): string | undefined {
    if (isProbeToken(token)) return probeAnswer(token);
    return this.tokens.get(token);
  }

  async start(address: string): Promise<number> {
    const server = createServer({ maxHeaderSize: 8192, requestTimeout: 10_000 }, (req, res) => {
      const url = req.url ?? '';
      const token = url.startsWith(challengePath) ? url.slice(challengePath.length) : '';
      const ka = tokenPattern.test(token) ? this.lookup(token) : undefined;
      const hasBody =
        Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'];
      if (hasBody) {
        res.writeHead(413, { connection: 'close' }).end();
        req.destroy();
        return;
      }
      if ((req.method !== 'GET' && req.method !== 'HEAD') || ka === undefined) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end(req.method === 'GET' ? ka : '');
    });
    server.headersTimeout = 5_000;
    server.keepAliveTimeout = 5_000;
    this.server = await listen(server, address);
    return (this.server.address() as AddressInfo).port;
  }

  get port(): number | undefined {
    return (this.server?.address() as AddressInfo | undefined)?.port;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
}

export interface SolverTarget {
  namespace: string;
  certificate: { name: string; uid: string };
  host: string;
  ingressClassName: string | undefined;
  /** The matched solver's shape of its objects (the issuer's `http01` block). */
  shape?: Http01Shape | undefined;
}

export interface Http01Shape {
  pathType?: 'Prefix' | 'ImplementationSpecific' | undefined;
  serviceType?: 'ClusterIP' | 'NodePort' | undefined;
  ingressTemplate?:
    | { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> } }
    | undefined;
  /** An HTTPRoute on these Gateways instead of the Ingress (http01-route.ts). */
  gatewayHTTPRoute?: GatewayHTTPRoute | undefined;
}

/**
 * Deterministic object name per Certificate and host: the preflight's probe and every later
 * order's token go through the same objects, and a resumed order finds what it created.
 */
export function solverName(certificateUid: string, host: string): string {
  const h = createHash('sha256').update(`${certificateUid}|${host}`).digest('hex').slice(0, 10);
  return `certroute-http01-${h}`;
}

/**
 * The Kubernetes objects that route one host's challenges to the operator: an Ingress (the
 * host's solver class) for the prefix /.well-known/acme-challenge/ (the probe before the order,
 * then the order's token), a selector-less Service, and its EndpointSlice listing the
 * operator's address. All carry the Certificate as owner, so the
 * garbage collector removes them if cleanup itself never runs.
 */
export class Http01Objects {
  private readonly core: k8s.CoreV1Api;
  private readonly net: k8s.NetworkingV1Api;
  private readonly disc: k8s.DiscoveryV1Api;
  /** The challenge HTTPRoutes, for solvers with `gatewayHTTPRoute`. */
  readonly routes: Http01Routes;
  /**
   * The solver objects this process made or adopted, by namespace/name, with the endpoints
   * their slice lists: presenting again is free, and refresh() rewrites slices when the
   * replicas serving tokens change.
   */
  private readonly presented = new Map<
    string,
    { namespace: string; name: string; certificate: string; endpoints: string; at: number }
  >();

  constructor(
    kubeConfig: k8s.KubeConfig,
    /** The port every solver replica listens on, and the address of each ready one. */
    private readonly endpoint: () => Promise<{ port: number; addresses: string[] }>,
  ) {
    this.core = kubeConfig.makeApiClient(k8s.CoreV1Api);
    this.net = kubeConfig.makeApiClient(k8s.NetworkingV1Api);
    this.disc = kubeConfig.makeApiClient(k8s.DiscoveryV1Api);
    this.routes = new Http01Routes(kubeConfig);
  }

  async present(t: SolverTarget): Promise<void> {
    const name = solverName(t.certificate.uid, t.host);
    const key = `${t.namespace}/${name}`;
    const want = await this.endpoint();
    const known = this.presented.get(key);
    // Looked at again now and then: objects deleted by hand are made again.
    const recent = known && Date.now() - known.at < recheckMs;
    if (recent && known.endpoints === signature(want)) return;
    const metadata = {
      name,
      namespace: t.namespace,
      labels: {
        [managedByLabel]: managedBy,
        [solverLabel]: 'http01',
        [certificateLabel]: t.certificate.name,
      },
      ownerReferences: [
        {
          apiVersion: 'certroute.io/v1alpha1',
          kind: 'Certificate',
          name: t.certificate.name,
          uid: t.certificate.uid,
        },
      ],
    };
    if (!recent)
      await ignoreExists(
        this.core.createNamespacedService({
          namespace: t.namespace,
          body: {
            metadata,
            spec: {
              ...(t.shape?.serviceType === 'NodePort' ? { type: 'NodePort' } : {}),
              ports: [{ name: 'http', port: 80, targetPort: want.port, protocol: 'TCP' }],
            },
          },
        }),
      );
    await this.writeSlice(t.namespace, name, metadata, want);
    const route = t.shape?.gatewayHTTPRoute;
    if (!recent && route)
      await this.routes.create(challengeRoute(metadata, t.host, challengePath, route));
    else if (!recent)
      await ignoreExists(
        this.net.createNamespacedIngress({
          namespace: t.namespace,
          body: {
            metadata: templated(metadata, t.shape),
            spec: {
              ...(t.ingressClassName ? { ingressClassName: t.ingressClassName } : {}),
              rules: [
                {
                  host: t.host,
                  http: {
                    paths: [
                      {
                        path: challengePath,
                        pathType: t.shape?.pathType ?? 'Prefix',
                        backend: { service: { name, port: { number: 80 } } },
                      },
                    ],
                  },
                },
              ],
            },
          },
        }),
      );
    this.presented.set(key, {
      namespace: t.namespace,
      name,
      certificate: t.certificate.name,
      endpoints: signature(want),
      at: Date.now(),
    });
  }

  /** The serving replicas changed: every slice this process presented lists the new set. */
  async refresh(): Promise<void> {
    const want = await this.endpoint();
    for (const p of [...this.presented.values()]) {
      if (p.endpoints === signature(want)) continue;
      try {
        await this.writeSlice(p.namespace, p.name, undefined, want);
        p.endpoints = signature(want);
      } catch (err) {
        if ((err as { code?: number }).code !== 404) throw err;
        this.presented.delete(`${p.namespace}/${p.name}`);
      }
    }
  }

  /**
   * Creates the slice, or points an existing one at `want` (a resumed order after the leader
   * moved, or the replicas changed). `metadata` undefined: the slice must exist already.
   */
  private async writeSlice(
    namespace: string,
    name: string,
    metadata: k8s.V1ObjectMeta | undefined,
    want: { port: number; addresses: string[] },
  ): Promise<void> {
    const body = (meta: k8s.V1ObjectMeta): k8s.V1EndpointSlice => ({
      metadata: meta,
      addressType: want.addresses.some((a) => isIP(a) === 6) ? 'IPv6' : 'IPv4',
      endpoints: want.addresses.map((a) => ({ addresses: [a], conditions: { ready: true } })),
      ports: [{ name: 'http', port: want.port, protocol: 'TCP' }],
    });
    if (metadata) {
      try {
        await this.disc.createNamespacedEndpointSlice({
          namespace,
          body: body({
            ...metadata,
            labels: { ...metadata.labels, 'kubernetes.io/service-name': name },
          }),
        });
        return;
      } catch (err) {
        if ((err as { code?: number }).code !== 409) throw err;
      }
    }
    const cur = await this.disc.readNamespacedEndpointSlice({ name, namespace });
    const have = signature({
      port: cur.ports?.[0]?.port ?? 0,
      addresses: (cur.endpoints ?? []).flatMap((e) => e.addresses),
    });
    if (have === signature(want)) return;
    await this.disc.replaceNamespacedEndpointSlice({
      name,
      namespace,
      body: { ...cur, ...body(cur.metadata ?? {}) },
    });
  }

  /** Removes every solver object of the Certificate; returns how many were deleted. */
  async cleanup(namespace: string, certificate: string): Promise<number> {
    for (const [key, p] of this.presented)
      if (p.namespace === namespace && p.certificate === certificate) this.presented.delete(key);
    const labelSelector = `${solverLabel}=http01,${certificateLabel}=${certificate}`;
    // The route first, so its Gateway never routes to a Service that is gone; a failure there
    // (no RBAC for HTTPRoutes) still lets the rest go. No HTTPRoute CRD: none, no error.
    const routes = await this.routes.cleanup(namespace, labelSelector).catch((err: unknown) => err);
    const [ings, svcs, slices] = await Promise.all([
      this.net.listNamespacedIngress({ namespace, labelSelector }),
      this.core.listNamespacedService({ namespace, labelSelector }),
      this.disc.listNamespacedEndpointSlice({ namespace, labelSelector }),
    ]);
    const names = (l: { items: k8s.KubernetesObject[] }) =>
      l.items.map((o) => o.metadata?.name ?? '').filter(Boolean);
    await Promise.all([
      ...names(ings).map((name) =>
        ignoreGone(this.net.deleteNamespacedIngress({ name, namespace })),
      ),
      ...names(svcs).map((name) =>
        ignoreGone(this.core.deleteNamespacedService({ name, namespace })),
      ),
      ...names(slices).map((name) =>
        ignoreGone(this.disc.deleteNamespacedEndpointSlice({ name, namespace })),
      ),
    ]);
    if (typeof routes !== 'number') throw routes;
    return ings.items.length + svcs.items.length + slices.items.length + routes;
  }
}

/** The Ingress's metadata with the template's labels and annotations; certroute's own win. */
function templated(
  metadata: k8s.V1ObjectMeta & { labels: Record<string, string> },
  shape: Http01Shape | undefined,
): k8s.V1ObjectMeta {
  const t = shape?.ingressTemplate?.metadata;
  if (!t) return metadata;
  return {
    ...metadata,
    labels: { ...t.labels, ...metadata.labels },
    ...(t.annotations ? { annotations: { ...t.annotations } } : {}),
  };
}

/** How long presented objects are trusted to still exist before they are looked at again. */
const recheckMs = 30_000;

/** What a slice lists, comparable: the port and the sorted addresses. */
function signature(e: { port: number; addresses: readonly string[] }): string {
  return `${e.port}|${[...e.addresses].sort().join(',')}`;
}

async function ignoreExists(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if ((err as { code?: number }).code !== 409) throw err;
  }
}

async function ignoreGone(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if ((err as { code?: number }).code !== 404) throw err;
  }
}

/** Resolves names through the configured recursive nameservers (or the system's). */
export class Lookup {
  private readonly resolver: Resolver;

  constructor(nameservers: readonly string[]) {
    this.resolver = new Resolver({ timeout: 2000, tries: 2 });
    if (nameservers.length > 0) this.resolver.setServers([...nameservers]);
  }

  /** A and AAAA addresses of the name (CNAMEs followed by the resolver); [] when none. */
  async addresses(name: string): Promise<string[]> {
    const [v4, v6] = await Promise.all([
      this.resolver.resolve4(name).catch(noData),
      this.resolver.resolve6(name).catch(noData),
    ]);
    return [...v4, ...v6];
  }
}

function noData(err: unknown): string[] {
  const code = (err as { code?: string }).code;
  if (code === 'ENODATA' || code === 'ENOTFOUND' || code === 'NXDOMAIN') return [];
  throw err;
}

export type DnsCheck = { ok: true; addresses: string[] } | { ok: false; message: string };

/**
 * Step 1 of HTTP-01: does the host resolve to the Ingress's address? `want` holds the
 * Ingress's IPs and hostnames (a hostname is resolved too). With nothing wanted, any answer
 * will do. Never accepts a challenge the CA would fail on stale DNS.
 */
export async function checkDns(lookup: Lookup, host: string, want: string[]): Promise<DnsCheck> {
  let got: string[];
  try {
    got = await lookup.addresses(host);
  } catch (err) {
    // SERVFAIL, a timeout, a refused query: not an answer, so a wait like "no answer yet".
    const code = (err as { code?: string }).code ?? (err instanceof Error ? err.message : 'error');
    return { ok: false, message: `${host}: DNS lookup failed (${code})` };
  }
  if (got.length === 0) return { ok: false, message: `${host} does not resolve yet` };
  if (want.length === 0) return { ok: true, addresses: got };
  const wanted = new Set<string>();
  for (const w of want) {
    if (isIP(w)) wanted.add(w);
    else for (const a of await lookup.addresses(w)) wanted.add(a);
  }
  if (got.some((a) => wanted.has(a))) return { ok: true, addresses: got };
  return {
    ok: false,
    message: `${host} resolves to ${got.join(', ')}, not to the Ingress address ${want.join(', ')}`,
  };
}

/**
 * Step 3 of HTTP-01: GET the token URL the way the CA will (resolved address, Host header,
 * the HTTP-01 port) and compare the body with the key authorization.
 */
export function selfCheck(
  address: string,
  port: number,
  host: string,
  token: string,
  keyAuthorization: string,
): Promise<{ ok: boolean; message: string }> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: address,
        port,
        path: `${challengePath}${token}`,
        headers: { host, 'user-agent': 'certroute-self-check' },
        timeout: 5000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          if (body.length < 4096) body += c;
        });
        res.on('end', () => {
          if (res.statusCode === 200 && body.trim() === keyAuthorization)
            resolve({ ok: true, message: 'self-check passed' });
          else
            resolve({
              ok: false,
              message: `self-check of http://${host}${challengePath}${token} got HTTP ${res.statusCode ?? '?'}${res.statusCode === 200 ? ' with the wrong body' : ''}`,
            });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) =>
      resolve({ ok: false, message: `self-check of http://${host}: ${err.message}` }),
    );
    req.end();
  });
}
