import type { Certificate, ClusterIssuer, DNSEndpoint } from '../api/v1alpha1.js';
import type { CompiledPolicy, NamespaceInfo } from '../tenancy/policy.js';
import type { SecretReport } from './inspect.js';
import type { Claim } from './sources.js';

/**
 * `explain HOST`, pure: what was read about one host in, the decision trail out. Each step is
 * passed, failed or waiting (or unknown: the user may not read what it needs; skipped: it does
 * not apply), with what to do.
 */
export type StepState = 'passed' | 'failed' | 'waiting' | 'unknown' | 'skipped';

export interface Step {
  step: string;
  state: StepState;
  detail: string;
  todo?: string;
}

export type EndpointRecord = NonNullable<NonNullable<DNSEndpoint['status']>['endpoints']>[number];

export interface HostView {
  host: string;
  claims: Claim[];
  /** DNSEndpoints with a record for the host. */
  endpoints: DNSEndpoint[];
  /** Certificates covering the host. */
  certificates: Certificate[];
  /** DomainPolicies, compiled; undefined when they could not be read. */
  policies?: CompiledPolicy[];
  /** The namespace of the source, with its labels, when it could be read. */
  namespace?: NamespaceInfo;
  /** Issuers by "Kind/namespace/name" (namespace empty for a ClusterIssuer). */
  issuers: Map<string, ClusterIssuer | undefined>;
  /** The Secret of each certificate, by "namespace/name", as inspect read it. */
  secrets: Map<string, SecretReport | { unread: string }>;
  /** What could not be read at all. */
  unread: string[];
  now: Date;
}

export function issuerKey(c: Certificate): string {
  const kind = c.spec.issuerRef.kind ?? 'ClusterIssuer';
  return `${kind}/${kind === 'Issuer' ? (c.metadata.namespace ?? '') : ''}/${c.spec.issuerRef.name}`;
}

export function recordsFor(host: string, endpoints: readonly DNSEndpoint[]) {
  return endpoints.flatMap((e) =>
    (e.spec.endpoints ?? [])
      .filter((r) => r.dnsName === host)
      .map((spec) => ({
        endpoint: e,
        spec,
        status: e.status?.endpoints?.find(
          (s) =>
            s.dnsName === host && (s.recordType === (spec.recordType ?? '') || !spec.recordType),
        ),
      })),
  );
}

export function condition(c: Certificate | undefined, type: string) {
  return c?.status?.conditions?.find((x) => x.type === type);
}

export const ref = (o: { kind: string; namespace?: string; name: string }) =>
  `${o.kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name}`;
