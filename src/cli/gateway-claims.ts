import type { DNSEndpoint } from '../api/v1alpha1.js';
import { problemsOf, type SourceProblem } from '../dns/endpoints.js';
import { controllerOf } from '../kube/ownership.js';
import { parseAnnotations } from '../sources/annotations.js';
import type { Gateway, Route, RouteKind } from '../sources/gateway-api.js';
import { gatewayAddresses, type RouteLookup } from '../sources/routes.js';
import {
  childName,
  desiredForGateway,
  desiredForRoute,
  desiredForService,
  parentGatewaysOf,
  type LoadBalancerService,
  type SourceKind as OperatorKind,
} from '../sources/source-desired.js';
import type { Claim } from './sources.js';

/**
 * The claims of the sources beyond Ingress (Gateway API routes, Gateways, LoadBalancer
 * Services), derived with the operator's own pure functions (src/sources/source-desired.ts),
 * read with no default issuer and records off unless annotated, as for an Ingress. What the
 * operator already wrote on a source's DNSEndpoint wins where it says more: its hosts are
 * added to the claim, and its problems (the SourceValid condition) replace the derived ones.
 */

export interface ClaimContext {
  /** The Gateways (and their classes' controllers), read once for every route. */
  lookup: RouteLookup;
  /** The DNSEndpoints read: the operator's children. */
  endpoints: readonly DNSEndpoint[];
}

const opts = { dnsDefault: false, defaultIssuer: '' };

const normal = (h: string) => h.trim().toLowerCase().replace(/\.$/, '');

function uniq(xs: Iterable<string>): string[] {
  return [...new Set(xs)].sort();
}

const value = (a: { ip?: string; hostname?: string }) => a.ip ?? a.hostname ?? '';

/** The source's DNSEndpoint as the operator names it, when the source controls it. */
export function childOf(
  endpoints: readonly DNSEndpoint[],
  kind: OperatorKind,
  meta: { name?: string; namespace?: string; uid?: string } | undefined,
): DNSEndpoint | undefined {
  if (!meta?.name) return undefined;
  const name = childName(kind, meta.name);
  return endpoints.find((e) => {
    if (e.metadata.name !== name || e.metadata.namespace !== meta.namespace) return false;
    const owner = controllerOf(e);
    return (
      owner?.kind === kind && owner.name === meta.name && (!meta.uid || owner.uid === meta.uid)
    );
  });
}

/** The operator's word (its DNSEndpoint's problems) when it wrote one, else the derived one. */
function problemsFor(child: DNSEndpoint | undefined, derived: SourceProblem[]) {
  return child
    ? { problems: problemsOf(child), problemsFrom: 'operator' as const }
    : { problems: derived, problemsFrom: 'cli' as const };
}

function hostsOfEndpoint(e: DNSEndpoint | undefined): string[] {
  return (e?.spec.endpoints ?? []).map((r) => normal(r.dnsName));
}

function targetsOf(e: DNSEndpoint | undefined): string[] {
  return uniq((e?.spec.endpoints ?? []).flatMap((r) => r.targets));
}

/**
 * What an HTTPRoute, GRPCRoute or TLSRoute claims: the hosts it asks records for (its
 * hostnames, those its accepting Gateways' listeners give it, and those in its DNSEndpoint);
 * its addresses are those of its parent Gateways.
 */
export function routeClaim(route: Route, kind: RouteKind, ctx: ClaimContext): Claim {
  const d = desiredForRoute(route, kind, ctx.lookup, opts);
  const child = childOf(ctx.endpoints, kind, route.metadata);
  const asked = uniq((route.spec?.hostnames ?? []).map(normal));
  const managed =
    d.dnsEndpoint || child
      ? uniq([...hostsOfEndpoint(d.dnsEndpoint), ...hostsOfEndpoint(child), ...asked])
      : [];
  const parents = parentGatewaysOf(route).map((key) => {
    const [namespace = '', name = ''] = key.split('/');
    const gw = ctx.lookup.gateway(namespace, name);
    return { namespace, name, ...(gw ? { addresses: gatewayAddresses(gw).map(value) } : {}) };
  });
  // The parents' addresses; none (unread, or a target annotation instead): the record's targets.
  const fromParents = uniq(parents.flatMap((p) => p.addresses ?? []));
  const addresses =
    fromParents.length > 0 ? fromParents : uniq([...targetsOf(d.dnsEndpoint), ...targetsOf(child)]);
  return {
    kind,
    namespace: route.metadata?.namespace ?? '',
    name: route.metadata?.name ?? '',
    managed,
    unmanaged: asked.filter((h) => !managed.includes(h)),
    addresses,
    parents,
    ...problemsFor(child, d.problems),
  };
}

/** The hostnames of a Gateway's listeners that terminate TLS (those it can ask certificates for). */
function tlsListenerHosts(gw: Gateway): string[] {
  return uniq(
    (gw.spec?.listeners ?? [])
      .filter((l) => l.protocol === 'HTTPS' || l.protocol === 'TLS')
      .flatMap((l) => (l.hostname ? [normal(l.hostname)] : [])),
  );
}

/** What a Gateway claims: the names of the Certificates its listener Secrets get (no record). */
export function gatewayClaim(gw: Gateway): Claim {
  const d = desiredForGateway(gw, opts);
  const managed = uniq(d.certificates.flatMap((c) => c.spec.dnsNames));
  const className = gw.spec?.gatewayClassName;
  return {
    kind: 'Gateway',
    namespace: gw.metadata?.namespace ?? '',
    name: gw.metadata?.name ?? '',
    managed,
    unmanaged: tlsListenerHosts(gw).filter((h) => !managed.includes(h)),
    addresses: uniq(gatewayAddresses(gw).map(value)),
    ...(className ? { className } : {}),
    // A Gateway has no DNSEndpoint: its problems are Events, and what the CLI derives.
    problems: d.problems,
    problemsFrom: 'cli',
  };
}

/** A Service as the CLI reads it (the Service source's part, and its load balancer class). */
export type ServiceObject = LoadBalancerService & { spec?: { loadBalancerClass?: string } };

/** What a LoadBalancer Service claims (undefined for any other type: it is no source). */
export function serviceClaim(svc: ServiceObject, ctx: ClaimContext): Claim | undefined {
  if (svc.spec?.type !== 'LoadBalancer') return undefined;
  const d = desiredForService(svc, opts);
  const child = childOf(ctx.endpoints, 'Service', svc.metadata);
  const managed = uniq([...hostsOfEndpoint(d.dnsEndpoint), ...hostsOfEndpoint(child)]);
  // The hostname annotations, also when certroute.io/dns: "false" turns the record off.
  const named = parseAnnotations(svc.metadata?.annotations ?? {}, { ...opts, dnsDefault: true })
    .settings.extraHostnames;
  const className = svc.spec.loadBalancerClass;
  return {
    kind: 'Service',
    namespace: svc.metadata?.namespace ?? '',
    name: svc.metadata?.name ?? '',
    managed,
    unmanaged: uniq(named.map(normal)).filter((h) => !managed.includes(h)),
    addresses: uniq((svc.status?.loadBalancer?.ingress ?? []).map(value).filter((a) => a !== '')),
    ...(className ? { className } : {}),
    ...problemsFor(child, d.problems),
  };
}

/** A lookup over the Gateways read and the GatewayClasses' controllers (when they were read). */
export function lookupOf(
  gateways: readonly Gateway[],
  classes: readonly { metadata?: { name?: string }; spec?: { controllerName?: string } }[],
): RouteLookup {
  const byKey = new Map(gateways.map((g) => [`${g.metadata?.namespace}/${g.metadata?.name}`, g]));
  const controllers = new Map(
    classes.map((c) => [c.metadata?.name ?? '', c.spec?.controllerName ?? '']),
  );
  return {
    gateway: (ns, name) => byKey.get(`${ns}/${name}`),
    controllerOf: (cls) => controllers.get(cls) || undefined,
  };
}
