import {
  checkCertificate,
  checkRecord,
  type CompiledPolicy,
  type NamespaceInfo,
  type RecordRequest,
} from '../tenancy/policy.js';
import { certSteps } from './cert-steps.js';
import { dnsSteps } from './dns-steps.js';
import { condition, recordsFor, type HostView, type Step } from './model.js';
import { primaryClaim, sourceStep } from './source-steps.js';

/**
 * `explain HOST`, pure: what was read about one host in, the decision trail out, one step per
 * line: the source, the policy (model.ts has the types; source-steps.ts, dns-steps.ts and
 * cert-steps.ts the other steps).
 */
export { pickSolver } from './cert-steps.js';
export { primaryClaim } from './source-steps.js';
export { condition, issuerKey, recordsFor } from './model.js';
export type { EndpointRecord, HostView, Step, StepState } from './model.js';

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
  return [sourceStep(v), policyStep(v), ...dnsSteps(v, primaryClaim(v)), ...certSteps(v)];
}

/** 0 when every step passed or does not apply, 1 otherwise. */
export function exitCodeOf(steps: readonly Step[]): 0 | 1 {
  return steps.every((s) => s.state === 'passed' || s.state === 'skipped') ? 0 : 1;
}
