import {
  gatewayGroup,
  type Gateway,
  type Listener,
  type ParentReference,
  type Route,
  type RouteKind,
} from './gateway-api.js';

/**
 * Which hosts of a Gateway API route get records, and where they point. Pure: the route, the
 * Gateways it names and their classes' controllers in; hosts with their addresses and the
 * reasons for the hosts left out. The rules are the Gateway API spec's (hostname matching
 * between a route and the listeners it attaches to; acceptance as the route's status says).
 */

export type RouteProblemReason = 'RouteNotAccepted' | 'HostnameNotAllowed' | 'GatewayNoAddress';

export interface RouteProblem {
  reason: RouteProblemReason;
  message: string;
}

export interface Address {
  ip?: string;
  hostname?: string;
}

export interface RouteHost {
  host: string;
  /** The addresses of every Gateway through which the host is served; [] while none has one. */
  addresses: Address[];
  /** namespace/name of those Gateways (sorted). */
  gateways: string[];
}

export interface RouteLookup {
  gateway(namespace: string, name: string): Gateway | undefined;
  /** The controllerName of a GatewayClass; undefined when the class is not known. */
  controllerOf(className: string): string | undefined;
}

function normalize(h: string): string {
  return h.trim().toLowerCase().replace(/\.$/, '');
}

/**
 * A wildcard (`*.example.com`) matches any name with at least one more label in front of its
 * suffix (`a.example.com`, `a.b.example.com`), never the suffix itself.
 */
function wildcardCovers(wildcard: string, host: string): boolean {
  const suffix = wildcard.slice(1); // ".example.com"
  return host.length > suffix.length && host.endsWith(suffix);
}

/**
 * The hostname a route hostname and a listener hostname have in common, as the Gateway API
 * spec defines it: a listener without a hostname accepts every route hostname; equal names
 * match; a wildcard on one side covers a more specific name on the other, and the more
 * specific one is the result; two wildcards give the narrower. undefined: no match.
 */
export function intersectHostname(
  listener: string | undefined,
  route: string | undefined,
): string | undefined {
  const l = listener === undefined || listener === '' ? undefined : normalize(listener);
  const r = route === undefined || route === '' ? undefined : normalize(route);
  if (l === undefined) return r;
  if (r === undefined) return l;
  if (l === r) return l;
  if (l.startsWith('*.') && wildcardCovers(l, r)) return r;
  if (r.startsWith('*.') && wildcardCovers(r, l)) return l;
  return undefined;
}

/** The Gateway a parentRef names (namespace/name), or undefined when it names another kind. */
export function parentGateway(
  ref: ParentReference,
  routeNamespace: string,
): { namespace: string; name: string } | undefined {
  if ((ref.group ?? gatewayGroup) !== gatewayGroup || (ref.kind ?? 'Gateway') !== 'Gateway')
    return undefined;
  return { namespace: ref.namespace ?? routeNamespace, name: ref.name };
}

const protocols: Record<RouteKind, readonly string[]> = {
  HTTPRoute: ['HTTP', 'HTTPS'],
  GRPCRoute: ['HTTP', 'HTTPS'],
  TLSRoute: ['TLS'],
};

/**
 * The listeners of `gw` a route of `kind` in `routeNamespace` may attach to through `ref`:
 * the one named by sectionName and/or on the ref's port, whose protocol carries the kind,
 * whose allowedRoutes admit the kind and (Same, the default, or All) the namespace. A
 * Selector is the implementation's to judge: its acceptance in the route's status decides.
 */
export function listenersFor(
  ref: ParentReference,
  gw: Gateway,
  kind: RouteKind,
  routeNamespace: string,
): Listener[] {
  const gwNamespace = gw.metadata?.namespace ?? '';
  return (gw.spec?.listeners ?? []).filter((l) => {
    if (ref.sectionName !== undefined && l.name !== ref.sectionName) return false;
    if (ref.port !== undefined && l.port !== ref.port) return false;
    const kinds = l.allowedRoutes?.kinds;
    if (kinds && kinds.length > 0) {
      if (!kinds.some((k) => k.kind === kind && (k.group ?? gatewayGroup) === gatewayGroup))
        return false;
    } else if (!protocols[kind].includes(l.protocol)) return false;
    const from = l.allowedRoutes?.namespaces?.from ?? 'Same';
    return from !== 'Same' || gwNamespace === routeNamespace;
  });
}

function sameParent(a: ParentReference, b: ParentReference, routeNamespace: string): boolean {
  return (
    (a.group ?? gatewayGroup) === (b.group ?? gatewayGroup) &&
    (a.kind ?? 'Gateway') === (b.kind ?? 'Gateway') &&
    (a.namespace ?? routeNamespace) === (b.namespace ?? routeNamespace) &&
    a.name === b.name &&
    a.sectionName === b.sectionName &&
    a.port === b.port
  );
}

/**
 * Whether the Gateway accepted the route through this parentRef: the route's status.parents
 * entry for exactly this ref says Accepted=True, written by the controller of the Gateway's
 * class (any controller when the class is unknown).
 */
export function isAccepted(
  route: Route,
  ref: ParentReference,
  routeNamespace: string,
  controllerName: string | undefined,
): boolean {
  return (route.status?.parents ?? []).some(
    (p) =>
      sameParent(p.parentRef, ref, routeNamespace) &&
      (controllerName === undefined || p.controllerName === controllerName) &&
      (p.conditions ?? []).some((c) => c.type === 'Accepted' && c.status === 'True'),
  );
}

/** A Gateway's status.addresses as record targets (IPAddress and Hostname types only). */
export function gatewayAddresses(gw: Gateway): Address[] {
  return (gw.status?.addresses ?? []).flatMap((a): Address[] => {
    const type = a.type ?? 'IPAddress';
    if (type === 'IPAddress') return [{ ip: a.value }];
    if (type === 'Hostname') return [{ hostname: a.value }];
    return [];
  });
}

/**
 * The hosts a route gets records for: for each parentRef naming a Gateway that accepted the
 * route, its hostnames (plus `extraHostnames`, from annotations) intersected with those of
 * the listeners it attaches to; a route without hostnames takes the listeners'. Every host
 * or parent left out has a problem saying why.
 */
export function deriveRouteHosts(
  route: Route,
  kind: RouteKind,
  lookup: RouteLookup,
  extraHostnames: readonly string[] = [],
): { hosts: RouteHost[]; problems: RouteProblem[] } {
  const ns = route.metadata?.namespace ?? '';
  const asked = [...new Set([...(route.spec?.hostnames ?? []), ...extraHostnames].map(normalize))];
  const ctx: ParentCtx = { route, kind, lookup, asked, matched: new Set(), problems: [] };
  const hosts = new Map<string, { addresses: Address[]; gateways: Set<string> }>();
  let anyAccepted = false;
  for (const ref of route.spec?.parentRefs ?? []) {
    const through = hostsThrough(ctx, ref, ns);
    if (!through) continue;
    anyAccepted = true;
    for (const h of through.names) {
      const cur = hosts.get(h) ?? { addresses: [], gateways: new Set<string>() };
      cur.addresses.push(...through.addresses);
      cur.gateways.add(through.key);
      hosts.set(h, cur);
    }
  }
  if (anyAccepted)
    for (const r of asked)
      if (!ctx.matched.has(r))
        ctx.problems.push({
          reason: 'HostnameNotAllowed',
          message: `hostname "${r}" matches no listener of the Gateways that accepted the route; no record for it`,
        });
  return {
    hosts: [...hosts]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([host, v]) => ({ host, addresses: v.addresses, gateways: [...v.gateways].sort() })),
    problems: ctx.problems,
  };
}

interface ParentCtx {
  route: Route;
  kind: RouteKind;
  lookup: RouteLookup;
  /** The route's hostnames, normalised. */
  asked: string[];
  /** Route hostnames that matched a listener of some accepting Gateway. */
  matched: Set<string>;
  problems: RouteProblem[];
}

/**
 * The hostnames served through one parentRef and its Gateway's addresses; undefined when the
 * ref names no Gateway, or its Gateway is missing or has not accepted the route.
 */
function hostsThrough(
  ctx: ParentCtx,
  ref: ParentReference,
  ns: string,
): { key: string; names: Set<string>; addresses: Address[] } | undefined {
  const parent = parentGateway(ref, ns);
  if (!parent) return undefined;
  const key = `${parent.namespace}/${parent.name}`;
  const where = `parentRef Gateway ${key}${ref.sectionName ? ` (listener ${ref.sectionName})` : ''}`;
  const gw = ctx.lookup.gateway(parent.namespace, parent.name);
  if (!gw) {
    ctx.problems.push({ reason: 'RouteNotAccepted', message: `${where}: no such Gateway` });
    return undefined;
  }
  const controller = ctx.lookup.controllerOf(gw.spec?.gatewayClassName ?? '');
  if (!isAccepted(ctx.route, ref, ns, controller)) {
    ctx.problems.push({
      reason: 'RouteNotAccepted',
      message: `${where} has not accepted the route (no Accepted=True in status.parents${controller ? ` from ${controller}` : ''}); no records through it`,
    });
    return undefined;
  }
  const names = new Set<string>();
  for (const l of listenersFor(ref, gw, ctx.kind, ns)) {
    if (ctx.asked.length === 0) {
      const h = intersectHostname(l.hostname, undefined);
      if (h !== undefined) names.add(h);
    }
    for (const r of ctx.asked) {
      const h = intersectHostname(l.hostname, r);
      if (h === undefined) continue;
      names.add(h);
      ctx.matched.add(r);
    }
  }
  const addresses = gatewayAddresses(gw);
  if (names.size > 0 && addresses.length === 0)
    ctx.problems.push({
      reason: 'GatewayNoAddress',
      message: `Gateway ${key} has no address in status.addresses yet; its hosts wait for one`,
    });
  return { key, names, addresses };
}
