import type * as k8s from '@kubernetes/client-node';
import { desiredFor, ingressClassOf } from '../sources/ingress.js';
import { kinds, type Api, type Kind, type Read } from './kube.js';

/**
 * The objects that can claim a host, one kind each. Ingress today; a kind is added by writing
 * its `SourceKind` (how to list it, which hosts it claims, its address) and appending it to
 * `sourceKinds`: explain and status go through this list only.
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
}

export interface SourceKind {
  kind: Kind;
  claim(o: unknown): Claim;
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
  /** Kinds that could not be read, and why. */
  unread: string[];
}

/** Every source of every kind in `namespace` (undefined: all namespaces). */
export async function listClaims(api: Api, namespace: string | undefined): Promise<Claims> {
  const out: Claims = { claims: [], unread: [] };
  for (const s of sourceKinds) {
    const r: Read<unknown> = await api.list(s.kind, namespace);
    if (r.ok) out.claims.push(...r.items.map((o) => s.claim(o)));
    else out.unread.push(r.why);
  }
  return out;
}
