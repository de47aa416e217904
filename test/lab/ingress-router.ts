/**
 * The lab's ingress-controller stand-in: watches Ingresses, Services and EndpointSlices and
 * proxies plain HTTP to the selected endpoints, following Ingress routing semantics closely
 * enough that HTTP-01 validation and sandbox traffic behave as behind a real controller.
 */
import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream';
import {
  ApiException,
  CoreV1Api,
  DiscoveryV1Api,
  NetworkingV1Api,
  makeInformer,
} from '@kubernetes/client-node';
import type {
  Informer,
  KubeConfig,
  KubernetesListObject,
  KubernetesObject,
  ObjectCache,
  V1EndpointSlice,
  V1HTTPIngressPath,
  V1Ingress,
  V1IngressBackend,
  V1IngressLoadBalancerIngress,
  V1Service,
  V1ServicePort,
} from '@kubernetes/client-node';

export interface IngressRouterOptions {
  kubeConfig: KubeConfig;
  /** Listen address, default 127.0.0.1. */
  host?: string;
  /** Listen port (0 = free port). */
  port: number;
  /** Only Ingresses of this class (or with no class) are routed; default: all. */
  ingressClassName?: string;
  log?: (msg: string) => void;
  /**
   * Where to connect for an EndpointSlice address. Kubernetes rejects loopback addresses in
   * EndpointSlices, so the lab gives "pods" addresses from a documentation range and maps
   * them onto loopback here (see labPodAddress). Default: connect to the address as is.
   */
  podNetwork?: (address: string) => string;
}

/**
 * The lab's pod network: 10.244.0.N stands for 127.0.0.N. Inside the lab's network
 * namespace those addresses exist and forward to 127.0.0.N outside (netns.ts), which is how
 * Traefik reaches them; this router, outside, maps them itself.
 */
export function labPodAddress(loopback: string): string {
  const m = /^127\.0\.0\.(\d+)$/.exec(loopback);
  if (!m) throw new Error(`lab pod addresses map 127.0.0.N only, got ${loopback}`);
  return `10.244.0.${m[1]}`;
}

export function labPodNetwork(address: string): string {
  const m = /^10\.244\.0\.(\d+)$/.exec(address);
  return m ? `127.0.0.${m[1]}` : address;
}

/**
 * The class the harness router answers to, besides Ingresses of no class. Nothing uses it: it
 * keeps the Ingresses of Traefik's class (and any other) out of the harness in the lab.
 */
export const harnessIngressClass = 'lab-harness';

export interface IngressRouter {
  host: string;
  port: number;
  /** Writes status.loadBalancer.ingress of an Ingress (status subresource), as a controller would. */
  setAddress(
    namespace: string,
    name: string,
    address: { ip?: string; hostname?: string }[],
  ): Promise<void>;
  /** Resolves once the informers have synced. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Pure routing
// ---------------------------------------------------------------------------------------------

export interface RouteSnapshot {
  ingresses: readonly V1Ingress[];
  services: readonly V1Service[];
  endpointSlices: readonly V1EndpointSlice[];
}

export interface RouteOptions {
  /** Only Ingresses of this class (or with no class) take part; default: all. */
  ingressClassName?: string;
}

export interface Endpoint {
  address: string;
  port: number;
}

export type RouteResult =
  | {
      kind: 'backend';
      /** namespace/name of the Ingress that owns the winning rule. */
      ingress: string;
      /** namespace/name:port of the Service; also the round-robin key. */
      service: string;
      /** Ready endpoints, sorted, never empty. */
      endpoints: Endpoint[];
    }
  | { kind: 'unavailable'; ingress: string; reason: string }
  | { kind: 'none' };

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
const LEGACY_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';

/** Host header → bare lower-case host name: port and trailing dot removed, IPv6 kept bracketed. */
export function normalizeHost(header: string | undefined): string {
  const h = (header ?? '').trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end > 0 ? h.slice(0, end + 1) : h;
  }
  const bare = h.split(':')[0] ?? '';
  return bare.endsWith('.') ? bare.slice(0, -1) : bare;
}

/**
 * Picks the backend for host + path the way Ingress controllers do: the most specific host group
 * (exact > wildcard > host-less) is chosen first and there is no fall-through to a less specific
 * group when none of its paths match (nginx behaves so); then the oldest spec.defaultBackend.
 */
export function route(
  snapshot: RouteSnapshot,
  host: string,
  path: string,
  opts: RouteOptions = {},
): RouteResult {
  const ingresses = snapshot.ingresses
    .filter((ing) => classMatches(ing, opts.ingressClassName))
    .sort(compareIngressAge);
  const winner = bestPath(ingresses, normalizeHost(host), path) ?? defaultBackend(ingresses);
  if (!winner) return { kind: 'none' };
  return resolveBackend(snapshot, winner.ingress, winner.backend);
}

function classMatches(ing: V1Ingress, wanted: string | undefined): boolean {
  if (wanted === undefined) return true;
  const cls = ing.spec?.ingressClassName ?? ing.metadata?.annotations?.[LEGACY_CLASS_ANNOTATION];
  return cls === undefined || cls === '' || cls === wanted;
}

function timestamp(ing: V1Ingress): number {
  // Listed objects carry a Date, watched ones the raw RFC 3339 string.
  const raw = ing.metadata?.creationTimestamp as Date | string | undefined;
  const ms = raw === undefined ? NaN : new Date(raw).getTime();
  return Number.isNaN(ms) ? Number.MAX_SAFE_INTEGER : ms;
}

function ingressKey(ing: V1Ingress): string {
  return `${ing.metadata?.namespace ?? ''}/${ing.metadata?.name ?? ''}`;
}

function compareIngressAge(a: V1Ingress, b: V1Ingress): number {
  return timestamp(a) - timestamp(b) || ingressKey(a).localeCompare(ingressKey(b));
}

/** 3 = exact host, 2 = wildcard host, 1 = host-less rule, 0 = no match. */
function hostRank(ruleHost: string | undefined, host: string): number {
  if (!ruleHost) return 1;
  const pattern = ruleHost.toLowerCase();
  if (pattern === host) return 3;
  if (!pattern.startsWith('*.')) return 0;
  const suffix = pattern.slice(1);
  const label = host.slice(0, host.length - suffix.length);
  return host.endsWith(suffix) && label !== '' && !label.includes('.') ? 2 : 0;
}

interface Candidate {
  ingress: V1Ingress;
  backend: V1IngressBackend;
  exact: boolean;
  length: number;
}

function bestPath(
  ingresses: readonly V1Ingress[],
  host: string,
  path: string,
): Candidate | undefined {
  const rules = ingresses.flatMap((ingress) =>
    (ingress.spec?.rules ?? []).map((rule) => ({ ingress, rule, rank: hostRank(rule.host, host) })),
  );
  const top = Math.max(0, ...rules.map((r) => r.rank));
  if (top === 0) return undefined;
  const candidates = rules
    .filter((r) => r.rank === top)
    .flatMap((r) => (r.rule.http?.paths ?? []).map((p) => matchPath(r.ingress, p, path)))
    .filter((c): c is Candidate => c !== undefined);
  // Array.prototype.sort is stable and the ingresses are age-ordered, so equally specific
  // paths resolve to the oldest Ingress and then to declaration order.
  candidates.sort((a, b) => Number(b.exact) - Number(a.exact) || b.length - a.length);
  return candidates[0];
}

function segments(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}

function matchPath(ingress: V1Ingress, p: V1HTTPIngressPath, path: string): Candidate | undefined {
  const rulePath = p.path || '/';
  if (p.pathType === 'Exact') {
    return rulePath === path
      ? { ingress, backend: p.backend, exact: true, length: segments(rulePath).length }
      : undefined;
  }
  // Prefix and ImplementationSpecific: element-wise, so /foo matches /foo/bar but not /foobar.
  const prefix = segments(rulePath);
  const actual = segments(path);
  const matches = prefix.length <= actual.length && prefix.every((s, i) => s === actual[i]);
  return matches ? { ingress, backend: p.backend, exact: false, length: prefix.length } : undefined;
}

function defaultBackend(ingresses: readonly V1Ingress[]): Candidate | undefined {
  const ingress = ingresses.find((ing) => ing.spec?.defaultBackend);
  const backend = ingress?.spec?.defaultBackend;
  return ingress && backend ? { ingress, backend, exact: false, length: -1 } : undefined;
}

function resolveBackend(
  snapshot: RouteSnapshot,
  ingress: V1Ingress,
  backend: V1IngressBackend,
): RouteResult {
  const ing = ingressKey(ingress);
  const namespace = ingress.metadata?.namespace ?? '';
  const ref = backend.service;
  if (!ref) {
    return { kind: 'unavailable', ingress: ing, reason: 'resource backends are unsupported' };
  }
  const svc = snapshot.services.find(
    (s) => s.metadata?.namespace === namespace && s.metadata?.name === ref.name,
  );
  if (!svc) return { kind: 'unavailable', ingress: ing, reason: `service ${ref.name} not found` };
  const svcPort = (svc.spec?.ports ?? []).find((p) =>
    ref.port?.name ? p.name === ref.port.name : p.port === ref.port?.number,
  );
  const portRef = ref.port?.name || (ref.port?.number ?? '?');
  const service = `${namespace}/${ref.name}:${portRef}`;
  if (!svcPort) return { kind: 'unavailable', ingress: ing, reason: `${service} has no such port` };
  const endpoints = readyEndpoints(snapshot.endpointSlices, namespace, ref.name, svcPort);
  if (endpoints.length === 0) {
    return { kind: 'unavailable', ingress: ing, reason: `${service} has no ready endpoints` };
  }
  return { kind: 'backend', ingress: ing, service, endpoints };
}

/** Endpoints of the Service port, as kube-proxy sees them: slice ports are matched by name. */
function readyEndpoints(
  slices: readonly V1EndpointSlice[],
  namespace: string,
  service: string,
  svcPort: V1ServicePort,
): Endpoint[] {
  const seen = new Map<string, Endpoint>();
  for (const slice of slices) {
    const ownSlice =
      slice.metadata?.namespace === namespace &&
      slice.metadata?.labels?.[SERVICE_NAME_LABEL] === service;
    if (!ownSlice) continue;
    for (const ep of sliceEndpoints(slice, svcPort.name ?? '')) seen.set(formatTarget(ep), ep);
  }
  return [...seen.values()].sort((a, b) => a.address.localeCompare(b.address) || a.port - b.port);
}

function sliceEndpoints(slice: V1EndpointSlice, portName: string): Endpoint[] {
  const port = slice.ports?.find((p) => (p.name ?? '') === portName)?.port;
  if (port === undefined) return [];
  return (
    (slice.endpoints ?? [])
      .filter((ep) => ep.conditions?.ready !== false)
      // Endpoints are fungible across their addresses; kube-proxy uses the first one too.
      .flatMap((ep) => (ep.addresses?.[0] ? [{ address: ep.addresses[0], port }] : []))
  );
}

/** address:port with IPv6 addresses bracketed. */
export function formatTarget(ep: Endpoint): string {
  return ep.address.includes(':') ? `[${ep.address}]:${ep.port}` : `${ep.address}:${ep.port}`;
}

// ---------------------------------------------------------------------------------------------
// Informers
// ---------------------------------------------------------------------------------------------

const RESTART_DELAY_MS = 1_000;
const UPSTREAM_TIMEOUT_MS = 10_000;
const STATUS_CONFLICT_RETRIES = 5;

interface Watched<T extends KubernetesObject> {
  cache: ObjectCache<T>;
  synced: Promise<void>;
  stop(): Promise<void>;
}

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(err: Error): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Nobody may ever call ready(); a rejection on close must not become an unhandled one.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // undici's "fetch failed" (what the watch reports) hides the reason in its cause.
  return err.cause === undefined ? err.message : `${err.message} (${errorText(err.cause)})`;
}

/**
 * Runs a client-node informer forever. Its ListWatch gives up on any error other than 410 or a
 * client-side timeout (it only fires 'error'), so it is started again after a short delay.
 */
function watchResource<T extends KubernetesObject>(
  kc: KubeConfig,
  name: string,
  path: string,
  list: () => Promise<KubernetesListObject<T>>,
  log: (msg: string) => void,
  labelSelector?: string,
  onChange?: () => void,
): Watched<T> {
  let stopped = false;
  let listed = false;
  let timer: NodeJS.Timeout | undefined;
  const synced = deferred();
  const informer: Informer<T> & ObjectCache<T> = makeInformer(
    kc,
    path,
    async () => {
      const result = await list();
      listed = true;
      return result;
    },
    labelSelector,
  );

  const restartLater = (err: unknown): void => {
    // stop() aborts the watch, which the informer reports as an error too.
    if (stopped || timer) return;
    log(`${name} informer: ${errorText(err)}; restarting in ${RESTART_DELAY_MS} ms`);
    timer = setTimeout(() => {
      timer = undefined;
      launch();
    }, RESTART_DELAY_MS);
  };
  // start() resolves once the list is cached and the watch is open, or after the list failed.
  let inflight: Promise<void> = Promise.resolve();
  const launch = (): void => {
    inflight = informer.start().then(() => {
      if (listed) synced.resolve();
    }, restartLater);
  };

  informer.on('error', restartLater);
  if (onChange) for (const ev of ['add', 'update', 'delete'] as const) informer.on(ev, onChange);
  launch();
  return {
    cache: informer,
    synced: synced.promise,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      synced.reject(new Error(`${name} informer stopped before it synced`));
      await informer.stop();
      // A start() still listing opens its watch after that stop() (ListWatch only checks the
      // flag before listing), so stop once more when it is done.
      await inflight;
      await informer.stop();
    },
  };
}

interface Watches {
  ingresses: Watched<V1Ingress>;
  services: Watched<V1Service>;
  endpointSlices: Watched<V1EndpointSlice>;
}

function startWatches(kc: KubeConfig, log: (msg: string) => void): Watches {
  const networking = kc.makeApiClient(NetworkingV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  return {
    ingresses: watchResource(
      kc,
      'ingress',
      '/apis/networking.k8s.io/v1/ingresses',
      () => networking.listIngressForAllNamespaces(),
      log,
    ),
    services: watchResource(
      kc,
      'service',
      '/api/v1/services',
      () => core.listServiceForAllNamespaces(),
      log,
    ),
    endpointSlices: watchEndpointSlices(kc, log),
  };
}

/**
 * Every EndpointSlice that belongs to a Service (slices without the label belong to none and
 * can never be routed to), with `onChange` called with the current list after each change
 * (the lab's pod network follows them, see netns.ts).
 */
export function watchEndpointSlices(
  kc: KubeConfig,
  log: (msg: string) => void,
  onChange?: (list: () => readonly V1EndpointSlice[]) => void,
): Watched<V1EndpointSlice> {
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  const w: Watched<V1EndpointSlice> = watchResource(
    kc,
    'endpointslice',
    '/apis/discovery.k8s.io/v1/endpointslices',
    () => discovery.listEndpointSliceForAllNamespaces({ labelSelector: SERVICE_NAME_LABEL }),
    log,
    SERVICE_NAME_LABEL,
    onChange && (() => onChange(() => w.cache.list())),
  );
  return w;
}

function snapshotOf(w: Watches): RouteSnapshot {
  return {
    ingresses: w.ingresses.cache.list(),
    services: w.services.cache.list(),
    endpointSlices: w.endpointSlices.cache.list(),
  };
}

// ---------------------------------------------------------------------------------------------
// Proxy
// ---------------------------------------------------------------------------------------------

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  // node:http has already answered "100 Continue" to the client itself.
  'expect',
]);

class UpstreamTimeout extends Error {}

interface RequestTarget {
  /** Host as the client named it (Host header or absolute-form), port included. */
  host: string;
  pathQuery: string;
  path: string;
}

/** Request target → origin-form path+query and the host it names (absolute-form overrides Host). */
function parseTarget(req: IncomingMessage): RequestTarget {
  const url = req.url ?? '/';
  if (url.startsWith('/')) {
    const q = url.indexOf('?');
    return { host: req.headers.host ?? '', pathQuery: url, path: q >= 0 ? url.slice(0, q) : url };
  }
  try {
    const u = new URL(url);
    return { host: u.host, pathQuery: u.pathname + u.search, path: u.pathname };
  } catch {
    return { host: req.headers.host ?? '', pathQuery: url, path: url };
  }
}

function hopByHop(connectionHeader: string | string[] | undefined): Set<string> {
  const named = [connectionHeader ?? []].flat().flatMap((v) => v.split(','));
  return new Set([...HOP_BY_HOP, ...named.map((n) => n.trim().toLowerCase())]);
}

function upstreamHeaders(req: IncomingMessage, host: string): OutgoingHttpHeaders {
  const drop = hopByHop(req.headers.connection);
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (!drop.has(name) && value !== undefined) headers[name] = value;
  }
  const client = req.socket.remoteAddress ?? '';
  const prior = req.headers['x-forwarded-for'];
  headers['x-forwarded-for'] = prior ? `${String(prior)}, ${client}` : client;
  if (host) headers['x-forwarded-host'] = host;
  headers['x-forwarded-proto'] = 'http';
  return headers;
}

/** Raw response headers (flat name/value list, duplicates kept) without hop-by-hop ones. */
function downstreamHeaders(up: IncomingMessage): string[] {
  const drop = hopByHop(up.headers.connection);
  const out: string[] = [];
  for (let i = 0; i + 1 < up.rawHeaders.length; i += 2) {
    const name = up.rawHeaders[i] ?? '';
    if (!drop.has(name.toLowerCase())) out.push(name, up.rawHeaders[i + 1] ?? '');
  }
  return out;
}

function reply(res: ServerResponse, status: number, text: string): void {
  if (res.destroyed || res.writableEnded) return;
  if (res.headersSent) {
    // Mid-body failure: the only honest signal left is an aborted response.
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
  res.end(`${text}\n`);
}

function forward(
  req: IncomingMessage,
  res: ServerResponse,
  target: RequestTarget,
  endpoint: Endpoint,
  agent: Agent,
  log: (msg: string) => void,
): void {
  const where = formatTarget(endpoint);
  const what = `${req.method} ${target.host}${target.pathQuery}`;
  let clientGone = false;
  // An options object rather than a URL: WHATWG URL parsing would normalise the path (dot
  // segments, encoding), and net.connect wants IPv6 addresses unbracketed.
  const upstream = httpRequest({
    agent,
    hostname: endpoint.address,
    port: endpoint.port,
    method: req.method,
    path: target.pathQuery,
    headers: upstreamHeaders(req, target.host),
  });
  upstream.setTimeout(UPSTREAM_TIMEOUT_MS, () => upstream.destroy(new UpstreamTimeout()));
  upstream.on('response', (up) => {
    log(`${what} -> ${where} ${up.statusCode}`);
    try {
      res.writeHead(up.statusCode ?? 502, up.statusMessage, downstreamHeaders(up));
    } catch (err) {
      // A status line or header node:http refuses to send must not take the lab down.
      up.destroy();
      log(`${what}: unusable response from ${where}: ${errorText(err)}`);
      reply(res, 502, 'bad gateway');
      return;
    }
    pipeline(up, res, (err) => {
      if (err && !clientGone) log(`${what}: response from ${where} aborted: ${errorText(err)}`);
    });
  });
  upstream.on('error', (err) => {
    if (clientGone) return;
    const timedOut = err instanceof UpstreamTimeout;
    log(`${what} -> ${where} ${timedOut ? 'timed out' : `failed: ${errorText(err)}`}`);
    reply(res, timedOut ? 504 : 502, timedOut ? `upstream ${where} timed out` : 'bad gateway');
  });
  // pipe(), not pipeline(): an upstream failure must not destroy the client socket before the
  // 502 is written.
  req.pipe(upstream);
  req.on('error', () => upstream.destroy());
  res.on('close', () => {
    if (res.writableFinished) return;
    clientGone = true;
    upstream.destroy();
  });
}

// ---------------------------------------------------------------------------------------------
// Router
// ---------------------------------------------------------------------------------------------

function pickEndpoint(
  result: Extract<RouteResult, { kind: 'backend' }>,
  counters: Map<string, number>,
): Endpoint {
  const n = counters.get(result.service) ?? 0;
  counters.set(result.service, n + 1);
  // endpoints is never empty for a 'backend' result.
  return result.endpoints[n % result.endpoints.length] as Endpoint;
}

async function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server.address() as AddressInfo;
}

async function closeServer(server: Server): Promise<void> {
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function isConflict(err: unknown): boolean {
  return err instanceof ApiException && err.code === 409;
}

function sameAddresses(
  current: V1IngressLoadBalancerIngress[] | undefined,
  wanted: V1IngressLoadBalancerIngress[],
): boolean {
  const key = (list: V1IngressLoadBalancerIngress[]): string =>
    list.map((a) => `${a.ip ?? ''}|${a.hostname ?? ''}`).join(',');
  return key(current ?? []) === key(wanted);
}

/** Writes status.loadBalancer.ingress as an ingress controller would (retrying on 409). */
export async function writeAddress(
  networking: NetworkingV1Api,
  namespace: string,
  name: string,
  address: { ip?: string; hostname?: string }[],
): Promise<void> {
  const wanted: V1IngressLoadBalancerIngress[] = address.map((a) => ({
    ...(a.ip ? { ip: a.ip } : {}),
    ...(a.hostname ? { hostname: a.hostname } : {}),
  }));
  // Read-modify-replace keeps clear of patch content types; 409 means someone else wrote first.
  for (let attempt = 1; ; attempt++) {
    const ing = await networking.readNamespacedIngressStatus({ name, namespace });
    if (sameAddresses(ing.status?.loadBalancer?.ingress, wanted)) return;
    ing.status = { ...ing.status, loadBalancer: { ingress: wanted } };
    try {
      await networking.replaceNamespacedIngressStatus({ name, namespace, body: ing });
      return;
    } catch (err) {
      if (!isConflict(err) || attempt >= STATUS_CONFLICT_RETRIES) throw err;
    }
  }
}

function requestHandler(
  watches: Watches,
  routeOpts: RouteOptions,
  agent: Agent,
  log: (msg: string) => void,
  podNetwork: (address: string) => string,
): (req: IncomingMessage, res: ServerResponse) => void {
  const counters = new Map<string, number>();
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const target = parseTarget(req);
    const host = normalizeHost(target.host);
    const result = route(snapshotOf(watches), host, target.path, routeOpts);
    if (result.kind === 'none') {
      reply(res, 404, `no route for ${host}${target.path}`);
    } else if (result.kind === 'unavailable') {
      log(`${req.method} ${host}${target.path}: ${result.reason} (${result.ingress})`);
      reply(res, 503, `service unavailable: ${result.reason}`);
    } else {
      const ep = pickEndpoint(result, counters);
      forward(req, res, target, { ...ep, address: podNetwork(ep.address) }, agent, log);
    }
  };
  return (req, res) => {
    try {
      handle(req, res);
    } catch (err) {
      log(`${req.method} ${req.url}: ${errorText(err)}`);
      reply(res, 500, 'internal error');
    }
  };
}

async function stopWatches(w: Watches): Promise<void> {
  await Promise.all([w.ingresses.stop(), w.services.stop(), w.endpointSlices.stop()]);
}

export async function startIngressRouter(opts: IngressRouterOptions): Promise<IngressRouter> {
  const log = opts.log ?? (() => undefined);
  // No keep-alive upstream: a pooled socket the backend has just closed would turn into a
  // spurious 502, and the lab's traffic is far too small for connection reuse to matter.
  const agent = new Agent({ keepAlive: false });
  const watches = startWatches(opts.kubeConfig, log);
  const routeOpts: RouteOptions = { ingressClassName: opts.ingressClassName };
  const server = createServer(
    requestHandler(watches, routeOpts, agent, log, opts.podNetwork ?? ((a) => a)),
  );
  let address: AddressInfo;
  try {
    address = await listen(server, opts.port, opts.host ?? '127.0.0.1');
  } catch (err) {
    await stopWatches(watches);
    agent.destroy();
    throw err;
  }
  server.on('error', (err) => log(`server error: ${errorText(err)}`));
  const networking = opts.kubeConfig.makeApiClient(NetworkingV1Api);
  log(`ingress router listening on ${formatTarget(address)}`);

  let closing: Promise<void> | undefined;
  return {
    host: address.address,
    port: address.port,
    setAddress: (namespace, name, addr) => writeAddress(networking, namespace, name, addr),
    ready: async () => {
      const { ingresses, services, endpointSlices } = watches;
      await Promise.all([ingresses.synced, services.synced, endpointSlices.synced]);
    },
    close() {
      closing ??= (async () => {
        await stopWatches(watches);
        await closeServer(server);
        agent.destroy();
      })();
      return closing;
    },
  };
}
