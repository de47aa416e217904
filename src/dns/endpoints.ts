import type * as k8s from '@kubernetes/client-node';
import type { DNSEndpoint } from '../api/v1alpha1.js';
import type { CrdClient } from '../kube/crd-client.js';
import { ResilientInformer } from '../kube/informer.js';
import { scopedInformer, type Informer } from '../kube/scoped-informer.js';
import { controllerOf } from '../kube/ownership.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { DesiredRecord } from './types.js';

export type Endpoint = DNSEndpoint & k8s.KubernetesObject;

const defaultTtl = 300;

/** Stamped by a source on DNSEndpoint writes: when the change was seen (the latency metric). */
export const addressSeenAnnotation = 'certroute.io/address-seen-at';

/**
 * Stamped by a source on its DNSEndpoint: what it asks that certroute cannot do (a JSON list of
 * `{reason, message}`), shown as the DNSEndpoint's `SourceValid` condition. Absent: nothing.
 */
export const problemsAnnotation = 'certroute.io/source-problems';

export interface SourceProblem {
  reason: string;
  message: string;
}

/** The problems a DNSEndpoint carries; [] when none or unreadable. */
export function problemsOf(e: {
  metadata?: { annotations?: Record<string, string> };
}): SourceProblem[] {
  const raw = e.metadata?.annotations?.[problemsAnnotation];
  if (!raw) return [];
  try {
    const list: unknown = JSON.parse(raw);
    if (!Array.isArray(list)) return [];
    return list.flatMap((p: unknown) => {
      const { reason, message } = (p ?? {}) as Record<string, unknown>;
      return typeof reason === 'string' && typeof message === 'string' ? [{ reason, message }] : [];
    });
  } catch {
    return [];
  }
}

/** What the Ingress shim derives, by namespace/name of the DNSEndpoint it writes. */
export interface DerivedEndpoints {
  list(): Endpoint[];
  get(namespace: string, name: string): Endpoint | undefined;
  /** `update` carries the new spec; `delete` the last one (the source no longer asks). */
  on(handler: (ev: 'update' | 'delete', e: Endpoint) => void): void;
}

/**
 * Every DNSEndpoint, those the shim derives from Ingresses and those written by hand: in the
 * watched namespaces only (one informer each) when `namespaces` is given (--watch-namespaces),
 * so none outside them is read, published, or written status or Events.
 */
export function dnsEndpointInformer(
  kubeConfig: k8s.KubeConfig,
  crds: CrdClient,
  log: Logger,
  metrics: Metrics,
  compression: boolean,
  namespaces: readonly string[] = [],
): Informer<Endpoint> {
  return scopedInformer(
    namespaces,
    (ns) =>
      new ResilientInformer<Endpoint>({
        kubeConfig,
        compression,
        resource: ns ? `dnsendpoints/${ns}` : 'dnsendpoints',
        path: crds.watchPath('dnsendpoints', ns),
        list: (options) => crds.list<Endpoint>('dnsendpoints', ns, options),
        log,
        metrics,
      }),
  );
}

/**
 * The source kinds whose DNSEndpoints name them in ownership TXT records, with the API
 * version of each (for Events on the source): external-dns's `resource=` names the same way
 * (`ingress/<ns>/<name>`, `httproute/<ns>/<name>`, `service/<ns>/<name>`, ...), so the records
 * it wrote for one of them can be adopted.
 */
export const sourceKinds: Readonly<Record<string, string>> = {
  Ingress: 'networking.k8s.io/v1',
  HTTPRoute: 'gateway.networking.k8s.io/v1',
  GRPCRoute: 'gateway.networking.k8s.io/v1',
  TLSRoute: 'gateway.networking.k8s.io/v1alpha2',
  Gateway: 'gateway.networking.k8s.io/v1',
  Service: 'v1',
};

/** The owner written into ownership TXT records: the source, or the DNSEndpoint itself if made by hand. */
export function resourceOf(e: Endpoint): string {
  const owner = controllerOf(e);
  const ns = e.metadata?.namespace ?? '';
  return owner?.kind !== undefined && owner.kind in sourceKinds
    ? `${owner.kind.toLowerCase()}/${ns}/${owner.name}`
    : `dnsendpoint/${ns}/${e.metadata?.name ?? ''}`;
}

export function endpointKey(e: Endpoint): string {
  return `${e.metadata?.namespace}/${e.metadata?.name}`;
}

/** The record an endpoint asks for, or undefined while it has no address yet. */
export function toDesired(
  ep: DNSEndpoint['spec']['endpoints'][number],
  resource: string,
): DesiredRecord | undefined {
  if (!ep.recordType || ep.targets.length === 0) return undefined;
  const alias = ep.aliasHostedZoneID
    ? { alias: { hostedZoneId: ep.aliasHostedZoneID, dnsName: ep.targets[0] ?? '' } }
    : {};
  return {
    name: ep.dnsName,
    type: ep.recordType,
    ttl: ep.recordTTL ?? defaultTtl,
    values: ep.targets,
    resource,
    ...alias,
  };
}

/** Each distinct host's position in a DNSEndpoint's spec (hostsPerSource counts hosts, not records). */
export function hostIndexes(e: Endpoint): Map<string, number> {
  const out = new Map<string, number>();
  for (const ep of e.spec?.endpoints ?? []) if (!out.has(ep.dnsName)) out.set(ep.dnsName, out.size);
  return out;
}
