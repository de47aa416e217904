/**
 * Which issuer a Certificate names, and where that issuer's Secrets live. The one place that
 * decides "a Certificate can only use an Issuer in its own namespace": issuerRef has no
 * namespace field, and the key of a namespaced Issuer is always the Certificate's namespace.
 */
import type { IssuerKind } from '../api/v1alpha1.js';

/** An issuer as the controllers know it: a ClusterIssuer `x` and an Issuer `x` differ. */
export interface IssuerKey {
  kind: IssuerKind;
  /** '' for a ClusterIssuer. */
  namespace: string;
  name: string;
}

/** The issuer a Certificate in `namespace` names (an Issuer only ever in that namespace). */
export function issuerKeyOf(
  namespace: string | undefined,
  ref: { name: string; kind?: IssuerKind | undefined },
): IssuerKey {
  return ref.kind === 'Issuer'
    ? { kind: 'Issuer', namespace: namespace ?? '', name: ref.name }
    : { kind: 'ClusterIssuer', namespace: '', name: ref.name };
}

/** The key of an issuer object as an informer delivers it. */
export function keyOfIssuerObject(
  kind: IssuerKind,
  metadata: { name?: string; namespace?: string } | undefined,
): IssuerKey {
  return kind === 'Issuer'
    ? { kind, namespace: metadata?.namespace ?? '', name: metadata?.name ?? '' }
    : { kind, namespace: '', name: metadata?.name ?? '' };
}

/** A work-queue key: `ClusterIssuer/name` or `Issuer/namespace/name` (names have no '/'). */
export function issuerKeyString(k: IssuerKey): string {
  return k.kind === 'Issuer' ? `Issuer/${k.namespace}/${k.name}` : `ClusterIssuer/${k.name}`;
}

export function parseIssuerKey(s: string): IssuerKey | undefined {
  const parts = s.split('/');
  if (parts[0] === 'ClusterIssuer' && parts.length === 2 && parts[1])
    return { kind: 'ClusterIssuer', namespace: '', name: parts[1] };
  if (parts[0] === 'Issuer' && parts.length === 3 && parts[1] && parts[2])
    return { kind: 'Issuer', namespace: parts[1], name: parts[2] };
  return undefined;
}

export function sameIssuer(a: IssuerKey, b: IssuerKey): boolean {
  return a.kind === b.kind && a.namespace === b.namespace && a.name === b.name;
}

/** For messages: `ClusterIssuer le` or `Issuer team-a/le`. */
export function describeIssuer(k: IssuerKey): string {
  return k.kind === 'Issuer' ? `Issuer ${k.namespace}/${k.name}` : `ClusterIssuer ${k.name}`;
}

/**
 * Where the issuer's Secrets (account key, EAB key) are read and created: the operator's
 * namespace for a ClusterIssuer, the Issuer's own namespace for an Issuer, never another.
 */
export function secretNamespace(k: IssuerKey, operatorNamespace: string): string {
  return k.kind === 'Issuer' ? k.namespace : operatorNamespace;
}

/** The labels of `certroute_issuer_ready_status`. */
export function issuerLabels(k: IssuerKey): { kind: IssuerKind; namespace: string; name: string } {
  return { kind: k.kind, namespace: k.namespace, name: k.name };
}
