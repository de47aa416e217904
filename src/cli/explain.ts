import {
  checkCertificate,
  checkRecord,
  type CompiledPolicy,
  type NamespaceInfo,
  type RecordRequest,
} from '../tenancy/policy.js';
import { certSteps } from './cert-steps.js';
import { dnsSteps } from './dns-steps.js';
import { condition, recordsFor, ref, type HostView, type Step } from './model.js';
import { covers } from './sources.js';

/**
 * `explain HOST`, pure: what was read about one host in, the decision trail out, one step per
 * line: the source, the policy (model.ts has the types; dns-steps.ts and cert-steps.ts the
 * other steps).
 */
export { pickSolver } from './cert-steps.js';
export { condition, issuerKey, recordsFor } from './model.js';
export type { EndpointRecord, HostView, Step, StepState } from './model.js';

function sourceStep(v: HostView): Step {
  const managing = v.claims.filter((c) => c.managed.some((h) => covers(h, v.host)));
  if (managing.length > 0)
    return {
      step: 'source',
      state: 'passed',
      detail: `${managing.map(ref).join(', ')} claims ${v.host}${managing.length > 1 ? ' (more than one source: the first created wins the record)' : ''}`,
    };
  const naming = v.claims.filter((c) => c.unmanaged.includes(v.host));
  if (naming.length > 0)
    return {
      step: 'source',
      state: 'failed',
      detail: `${naming.map(ref).join(', ')} names ${v.host} but asks certroute for nothing`,
      todo: 'annotate it with certroute.io/dns: "true" (a record) and/or certroute.io/issuer (a certificate); see docs/annotations.md',
    };
  return {
    step: 'source',
    state: v.unread.length > 0 ? 'unknown' : 'failed',
    detail: `no source you may read claims ${v.host}${v.unread.length ? ` (${v.unread.join('; ')})` : ''}`,
    todo: 'check the host name and the namespace (-n, or -A for all)',
  };
}

const deniedTodo =
  'ask for the name to be allowed, or use one the policy allows; see docs/troubleshooting.md#denied-a-domainpolicy-does-not-allow-it';

/** A denial the operator already reported, on the record or on the Certificate. */
function reportedDenial(v: HostView): Step | undefined {
  const rec = recordsFor(v.host, v.endpoints).find((r) => r.status?.state === 'Denied');
  const cert = v.certificates.find((c) => condition(c, 'Ready')?.reason === 'Denied');
  const message = rec?.status?.message ?? condition(cert, 'Ready')?.message;
  if (!rec && !cert) return undefined;
  return {
    step: 'policy',
    state: 'failed',
    detail: message ?? 'denied by a DomainPolicy',
    todo: deniedTodo,
  };
}

/** The verdict as the operator would give it (src/tenancy/policy.ts), from what was read. */
function computedVerdict(v: HostView, policies: CompiledPolicy[], ns: NamespaceInfo) {
  const [rec] = recordsFor(v.host, v.endpoints);
  const [cert] = v.certificates;
  if (!rec && cert)
    return checkCertificate(policies, ns, {
      namespace: ns.name,
      dnsNames: cert.spec.dnsNames,
      issuer: cert.spec.issuerRef,
      targets: cert.spec.acm ? ['acm'] : ['secret'],
    });
  const r: RecordRequest = {
    namespace: ns.name,
    name: v.host,
    type: rec?.spec.recordType ?? 'A',
    targets: rec?.spec.targets ?? [],
    alias: !!rec?.spec.aliasHostedZoneID,
    hostIndex: 0,
  };
  return checkRecord(policies, ns, r);
}

function policyStep(v: HostView): Step {
  const reported = reportedDenial(v);
  if (reported) return reported;
  if (v.policies?.length === 0)
    return { step: 'policy', state: 'passed', detail: 'no DomainPolicy: all allowed' };
  if (!v.policies || !v.namespace)
    return {
      step: 'policy',
      state: 'unknown',
      detail: 'DomainPolicies or the namespace could not be read; the operator reports no denial',
    };
  const verdict = computedVerdict(v, v.policies, v.namespace);
  return verdict.allowed
    ? { step: 'policy', state: 'passed', detail: verdict.message }
    : { step: 'policy', state: 'failed', detail: verdict.message, todo: deniedTodo };
}

export function explainHost(v: HostView): Step[] {
  const claim =
    v.claims.find((c) => c.managed.some((h) => covers(h, v.host))) ??
    v.claims.find((c) => c.unmanaged.includes(v.host));
  return [sourceStep(v), policyStep(v), ...dnsSteps(v, claim), ...certSteps(v)];
}

/** 0 when every step passed or does not apply, 1 otherwise. */
export function exitCodeOf(steps: readonly Step[]): 0 | 1 {
  return steps.every((s) => s.state === 'passed' || s.state === 'skipped') ? 0 : 1;
}
