import type * as k8s from '@kubernetes/client-node';
import type { DNSEndpoint } from '../api/v1alpha1.js';
import type { SourceProblem } from '../dns/endpoints.js';
import type { Gateway, Route } from '../sources/gateway-api.js';
import { desiredFor, ingressClassOf } from '../sources/ingress.js';
import {
  gatewayClaim,
  lookupOf,
  routeClaim,
  serviceClaim,
  type ClaimContext,
  type ServiceObject,
} from './gateway-claims.js';
import { kinds, type Api, type Kind, type Read } from './kube.js';

/**
 * The objects that can claim a host, one kind each: Ingress, LoadBalancer Service, HTTPRoute,
 * GRPCRoute, TLSRoute, Gateway. A kind is added by writing its `SourceKind` (how to list it,
 * which hosts it claims, its address) and appending it to `sourceKinds`: explain and status go
 * through this list only.
 */
export interface Claim {
  kind: string;
  namespace: string;
  name: string;
  /** Hosts certroute manages for it (records or certificates). */
  managed: string[];
  /** Hosts it names without asking certroute for anything (no annotation). */
  unmanaged: string[];
  /** Its load balancer addresses (IPs or hostnames); empty while it has none. */
  addresses: string[];
  /** The ingress class or the like, for messages. */
  className?: string;
  /** A route's parent Gateways; `addresses` absent when the Gateway could not be read. */
  parents?: { namespace: string; name: string; addresses?: string[] }[];
  /** What the source asks that certroute cannot do (route not accepted, no address, ...). */
  problems?: SourceProblem[];
  /** Whose word `problems` is: the operator's (its DNSEndpoint) or derived by the CLI. */
  problemsFrom?: 'operator' | 'cli';
}

export interface SourceKind {
  kind: Kind;
  /** undefined: the object is no source (a Service of another type). */
  claim(o: unknown, ctx: ClaimContext): Claim | undefined;
  /** Its claims need the Gateways (a route). */
  needsGateways?: true;
}

function uniq(xs: Iterable<string>): string[] {
  return [...new Set(xs)].sort();
}

const normal = (h: string) => h.trim().toLowerCase().replace(/\.$/, '');

function namedHosts(ing: k8s.V1Ingress): string[] {
  const rules = (ing.spec?.rules ?? []).map((r) => r.host ?? '');
  const tls = (ing.spec?.tls ?? []).flatMap((t) => t.hosts ?? []);
  return uniq([...rules, ...tls].map(normal).filter((h) => h !== ''));
}

function addressesOf(ing: k8s.V1Ingress): string[] {
  return (ing.status?.loadBalancer?.ingress ?? []).flatMap((a) => {
    const v = a.ip ?? a.hostname;
    return v ? [v] : [];
  });
}

/** What an Ingress claims, read as the operator reads it (its annotations, no default issuer). */
export function ingressClaim(ing: k8s.V1Ingress): Claim {
  const d = desiredFor(ing, { dnsDefault: false, defaultIssuer: '', ingressClasses: [] });
  const records = d.dnsEndpoint?.spec.endpoints.map((e) => e.dnsName) ?? [];
  const managed = uniq([...records, ...d.certificates.flatMap((c) => c.spec.dnsNames)]);
  const className = ingressClassOf(ing);
  return {
    kind: 'Ingress',
    namespace: ing.metadata?.namespace ?? '',
    name: ing.metadata?.name ?? '',
    managed,
    unmanaged: namedHosts(ing).filter((h) => !managed.includes(h)),
    addresses: addressesOf(ing),
    ...(className ? { className } : {}),
  };
}

export const sourceKinds: SourceKind[] = [
  { kind: kinds.ingress, claim: (o) => ingressClaim(o as k8s.V1Ingress) },
  { kind: kinds.service, claim: (o, ctx) => serviceClaim(o as ServiceObject, ctx) },
  ...([kinds.httpRoute, kinds.grpcRoute, kinds.tlsRoute] as const).map((kind): SourceKind => ({
    kind,
    claim: (o, ctx) => routeClaim(o as Route, kind.kind, ctx),
    needsGateways: true,
  })),
  { kind: kinds.gateway, claim: (o) => gatewayClaim(o as Gateway) },
];

/** Does `name` (maybe a wildcard "*.a.b") cover `host`? */
export function covers(name: string, host: string): boolean {
  if (name === host) return true;
  if (!name.startsWith('*.')) return false;
  const rest = name.slice(2);
  return host.endsWith(`.${rest}`) && !host.slice(0, -rest.length - 1).includes('.');
}

export interface Claims {
  claims: Claim[];
  /** Kinds that could not be read, and why (a kind whose CRD is not installed is skipped). */
  unread: string[];
}

/**
 * The Gateways a route may name, in any namespace (a route's parent often lives elsewhere):
 * everywhere when the user may list them so, else in `namespace`, with a note. The classes'
 * controllers when readable; else any controller's acceptance counts.
 */
async function gatewayLookup(
  api: Api,
  namespace: string | undefined,
  /** The Gateways already read as sources (in `namespace`), when they could be. */
  scoped: Gateway[] | undefined,
  unread: string[],
) {
  // In all namespaces, the Gateways read as sources are all there are to read.
  let gateways = namespace === undefined ? (scoped ?? []) : undefined;
  if (!gateways) {
    const all = await api.list<Gateway>(kinds.gateway);
    if (all.ok) gateways = all.items;
    else if (!all.notInstalled)
      unread.push(`${all.why}: parent Gateways read in ${namespace} only`);
  }
  const classes = await api.list<{ metadata?: { name?: string } }>(kinds.gatewayClass);
  return lookupOf(gateways ?? scoped ?? [], classes.ok ? classes.items : []);
}

/**
 * Every source of every kind in `namespace` (undefined: all namespaces). `endpoints` are the
 * DNSEndpoints already read: what the operator made of each source.
 */
export async function listClaims(
  api: Api,
  namespace: string | undefined,
  endpoints: readonly DNSEndpoint[] = [],
): Promise<Claims> {
  const out: Claims = { claims: [], unread: [] };
  const read: [SourceKind, unknown[]][] = [];
  for (const s of sourceKinds) {
    const r: Read<unknown> = await api.list(s.kind, namespace);
    if (r.ok) read.push([s, r.items]);
    else if (!r.notInstalled) out.unread.push(r.why);
  }
  const routes = read.some(([s, items]) => s.needsGateways && items.length > 0);
  const ctx: ClaimContext = {
    lookup: routes
      ? await gatewayLookup(
          api,
          namespace,
          read.find(([s]) => s.kind === kinds.gateway)?.[1] as Gateway[] | undefined,
          out.unread,
        )
      : lookupOf([], []),
    endpoints,
  };
  for (const [s, items] of read)
    for (const o of items) {
      const c = s.claim(o, ctx);
      if (c) out.claims.push(c);
    }
  return out;
}
