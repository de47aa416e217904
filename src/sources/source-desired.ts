import { apiVersion, type Certificate, type DNSEndpoint, type Endpoint } from '../api/v1alpha1.js';
import { problemsAnnotation, type SourceProblem } from '../dns/endpoints.js';
import { recordsForTargets } from '../dns/targets.js';
import { managedLabels } from '../kube/ownership.js';
import { hostnameProblem, parseAnnotations, type ParseDefaults } from './annotations.js';
import {
  gatewayGroup,
  type Gateway,
  type Listener,
  type ObjectMeta,
  type Route,
  type RouteKind,
} from './gateway-api.js';
import { deriveRouteHosts, parentGateway, type Address, type RouteLookup } from './routes.js';

/**
 * The children of the sources beyond Ingress (Gateway API routes, Gateways, LoadBalancer
 * Services): pure functions from the object (and what it refers to) to the DNSEndpoint and
 * Certificates it asks for, with a problem for everything left out.
 */

export type SourceKind = RouteKind | 'Gateway' | 'Service';

export interface SourceDesired {
  certificates: Certificate[];
  /** The issuer annotations are malformed: existing Certificates are left as they are. */
  holdCertificates?: true;
  dnsEndpoint?: DNSEndpoint;
  problems: SourceProblem[];
}

export const apiVersionOf: Record<SourceKind, string> = {
  HTTPRoute: `${gatewayGroup}/v1`,
  GRPCRoute: `${gatewayGroup}/v1`,
  TLSRoute: `${gatewayGroup}/v1alpha2`,
  Gateway: `${gatewayGroup}/v1`,
  Service: 'v1',
};

/**
 * The DNSEndpoint's name: the kind in front, so an HTTPRoute and an Ingress both named `shop`
 * in one namespace never ask for the same object.
 */
export function childName(kind: SourceKind, name: string): string {
  return `${kind.toLowerCase()}-${name}`;
}

function ownerRef(kind: SourceKind, m: ObjectMeta | undefined) {
  return {
    apiVersion: apiVersionOf[kind],
    kind,
    name: m?.name ?? '',
    uid: m?.uid ?? '',
    controller: true,
  };
}

interface HostTargets {
  host: string;
  addresses: Address[];
}

/**
 * One DNSEndpoint for hosts and their addresses; undefined when there is no host and nothing
 * to report. A route whose every host is left out still gets one, with no endpoints: its
 * SourceValid condition is where the reasons are read.
 */
export function endpointFor(
  kind: SourceKind,
  meta: ObjectMeta | undefined,
  hosts: HostTargets[],
  ttl: number | undefined,
  problems: SourceProblem[],
): DNSEndpoint | undefined {
  if (hosts.length === 0 && problems.length === 0) return undefined;
  const endpoints: Endpoint[] = [];
  for (const { host: dnsName, addresses } of hosts) {
    const records = recordsForTargets(addresses);
    // No address yet: the host is listed without a type, so its status says WaitingForAddress.
    if (records.length === 0) endpoints.push({ dnsName, targets: [] });
    for (const r of records) {
      const alias = r.aliasHostedZoneID ? { aliasHostedZoneID: r.aliasHostedZoneID } : {};
      const t = ttl !== undefined && !r.aliasHostedZoneID ? { recordTTL: ttl } : {};
      endpoints.push({ dnsName, recordType: r.recordType, targets: r.targets, ...t, ...alias });
    }
  }
  return {
    apiVersion,
    kind: 'DNSEndpoint',
    metadata: {
      name: childName(kind, meta?.name ?? ''),
      namespace: meta?.namespace,
      labels: managedLabels(),
      ownerReferences: [ownerRef(kind, meta)],
      ...(problems.length > 0
        ? { annotations: { [problemsAnnotation]: JSON.stringify(problems) } }
        : {}),
    },
    spec: { endpoints },
  };
}

function annotationProblems(list: { annotation: string; message: string }[]): SourceProblem[] {
  return list.map((p) => ({
    reason: 'InvalidAnnotation',
    message: `${p.annotation}: ${p.message}`,
  }));
}

/**
 * An HTTPRoute, GRPCRoute or TLSRoute → its DNSEndpoint. Managed by the same annotation rule
 * as an Ingress (`certroute.io/dns`, else the configured default); external-dns's hostname
 * and ttl annotations on the route are read too. A target annotation on the route, else on
 * a Gateway it is served through, replaces the Gateway's addresses.
 */
export function desiredForRoute(
  route: Route,
  kind: RouteKind,
  lookup: RouteLookup,
  opts: ParseDefaults,
): SourceDesired {
  const { settings: s, problems: bad } = parseAnnotations(route.metadata?.annotations ?? {}, {
    ...opts,
    defaultIssuer: '',
  });
  const problems = annotationProblems(bad);
  if (!s.dns) return { certificates: [], problems };
  const derived = deriveRouteHosts(route, kind, lookup, s.extraHostnames);
  problems.push(...derived.problems);
  const hosts = derived.hosts.map((h) => {
    const override = s.dnsTargets ?? gatewayTargets(h.gateways, lookup, opts);
    return {
      host: h.host,
      addresses: override ? override.map((hostname) => ({ hostname })) : h.addresses,
    };
  });
  const dnsEndpoint = endpointFor(kind, route.metadata, hosts, s.ttl, problems);
  return { certificates: [], ...(dnsEndpoint ? { dnsEndpoint } : {}), problems };
}

/** The target annotation of the first (sorted) Gateway that has a valid one. */
function gatewayTargets(
  gateways: readonly string[],
  lookup: RouteLookup,
  opts: ParseDefaults,
): string[] | undefined {
  for (const key of gateways) {
    const [ns = '', name = ''] = key.split('/');
    const gw = lookup.gateway(ns, name);
    const { settings } = parseAnnotations(gw?.metadata?.annotations ?? {}, {
      ...opts,
      defaultIssuer: '',
    });
    if (settings.dnsTargets) return settings.dnsTargets;
  }
  return undefined;
}

/** The part of a Service the Service source reads. */
export interface LoadBalancerService {
  metadata?: ObjectMeta;
  spec?: { type?: string };
  status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } };
}

/**
 * A `type: LoadBalancer` Service → its DNSEndpoint: hosts from the hostname annotations
 * (certroute's and external-dns's, both prefixes), targets from status.loadBalancer.ingress
 * (or a target annotation). `certroute.io/dns: "false"` turns it off; a Service has no host
 * without an annotation, so no default is needed.
 */
export function desiredForService(svc: LoadBalancerService, opts: ParseDefaults): SourceDesired {
  if (svc.spec?.type !== 'LoadBalancer') return { certificates: [], problems: [] };
  const { settings: s, problems: bad } = parseAnnotations(svc.metadata?.annotations ?? {}, {
    ...opts,
    dnsDefault: true,
    defaultIssuer: '',
  });
  const problems = annotationProblems(bad);
  if (!s.dns || s.extraHostnames.length === 0) return { certificates: [], problems };
  const addresses: Address[] = s.dnsTargets
    ? s.dnsTargets.map((hostname) => ({ hostname }))
    : (svc.status?.loadBalancer?.ingress ?? []).map((a) => ({
        ...(a.ip ? { ip: a.ip } : {}),
        ...(a.hostname ? { hostname: a.hostname } : {}),
      }));
  const hosts = [...new Set(s.extraHostnames)].sort().map((host) => ({ host, addresses }));
  const dnsEndpoint = endpointFor('Service', svc.metadata, hosts, s.ttl, problems);
  return { certificates: [], ...(dnsEndpoint ? { dnsEndpoint } : {}), problems };
}

/**
 * A Gateway → one Certificate per Secret named in the certificateRefs of its HTTPS and TLS
 * listeners in Terminate mode, when an issuer annotation (certroute's or cert-manager's) is
 * set. dnsNames are the hostnames of the listeners sharing the Secret. A reference to another
 * kind, or to a Secret in another namespace, is a problem and gets no Certificate.
 */
export function desiredForGateway(gw: Gateway, opts: ParseDefaults): SourceDesired {
  const {
    settings: s,
    problems: bad,
    issuerInvalid,
  } = parseAnnotations(gw.metadata?.annotations ?? {}, { ...opts, dnsDefault: false });
  const problems = annotationProblems(bad);
  if (issuerInvalid) return { certificates: [], holdCertificates: true, problems };
  if (s.issuer === undefined || s.target === 'acm') {
    if (s.target === 'acm')
      problems.push({
        reason: 'InvalidAnnotation',
        message:
          'certroute.io/target: "acm" is not supported on a Gateway (its listeners need a Secret)',
      });
    return { certificates: [], problems };
  }
  const ns = gw.metadata?.namespace ?? '';
  const bySecret = new Map<string, Set<string>>();
  for (const l of gw.spec?.listeners ?? [])
    for (const { secret, host } of listenerSecrets(l, ns, problems)) {
      const hosts = bySecret.get(secret) ?? new Set<string>();
      hosts.add(host);
      bySecret.set(secret, hosts);
    }
  const certificates: Certificate[] = [...bySecret]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([secretName, hosts]) => ({
      apiVersion,
      kind: 'Certificate',
      metadata: {
        // Named after its Secret, as an Ingress's are: one Secret, one Certificate.
        name: secretName,
        namespace: ns,
        labels: managedLabels(),
        ownerReferences: [ownerRef('Gateway', gw.metadata)],
      },
      spec: {
        dnsNames: [...hosts].sort(),
        issuerRef: { name: s.issuer ?? '', ...(s.issuerKind ? { kind: s.issuerKind } : {}) },
        secretName,
        ...(s.keyAlgorithm ? { privateKey: { algorithm: s.keyAlgorithm } } : {}),
        ...(s.renewBefore ? { renewBefore: s.renewBefore } : {}),
        ...(s.challenge ? { challenge: s.challenge } : {}),
      },
    }));
  return { certificates, problems };
}

/** The Secrets a listener that terminates TLS wants a certificate in, with its hostname. */
function listenerSecrets(
  l: Listener,
  ns: string,
  problems: SourceProblem[],
): { secret: string; host: string }[] {
  const terminates = (l.tls?.mode ?? 'Terminate') === 'Terminate';
  if ((l.protocol !== 'HTTPS' && l.protocol !== 'TLS') || !terminates) return [];
  const where = `listener ${l.name}`;
  if (!l.hostname) {
    problems.push({
      reason: 'InvalidTLS',
      message: `${where} has no hostname; no certificate for it`,
    });
    return [];
  }
  const host = l.hostname.toLowerCase().replace(/\.$/, '');
  const why = hostnameProblem(host);
  if (why) {
    problems.push({
      reason: 'InvalidHost',
      message: `${where}: "${l.hostname}" is not a valid hostname: ${why}`,
    });
    return [];
  }
  const refs = l.tls?.certificateRefs ?? [];
  if (refs.length === 0)
    problems.push({
      reason: 'InvalidTLS',
      message: `${where} has no tls.certificateRefs; no certificate for it`,
    });
  return refs.flatMap((ref) => {
    const group = ref.group ?? '';
    const kind = ref.kind ?? 'Secret';
    if (group === '' && kind === 'Secret' && (ref.namespace ?? ns) === ns)
      return [{ secret: ref.name, host }];
    problems.push({
      reason: 'UnsupportedCertificateRef',
      message: `${where}: certificateRef ${group ? `${group}/` : ''}${kind} ${ref.namespace ?? ns}/${ref.name} is not a Secret in the Gateway's namespace; no certificate for it`,
    });
    return [];
  });
}

/** The Gateways (namespace/name) a route names in its parentRefs. */
export function parentGatewaysOf(route: Route): string[] {
  const ns = route.metadata?.namespace ?? '';
  return (route.spec?.parentRefs ?? []).flatMap((r) => {
    const p = parentGateway(r, ns);
    return p ? [`${p.namespace}/${p.name}`] : [];
  });
}
