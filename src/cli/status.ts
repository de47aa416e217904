import type { Certificate } from '../api/v1alpha1.js';
import {
  explainHost,
  exitCodeOf,
  issuerKey,
  primaryClaim,
  recordsFor,
  type HostView,
  type Step,
} from './explain.js';
import { covers } from './sources.js';

/** `status`, pure: one row per host, from the same view explain uses. */
export interface HostStatus {
  host: string;
  source: string;
  dns: { record: string; state: string; owner?: string };
  certificate: {
    name?: string;
    ready: string;
    notAfter?: string;
    renewal?: string;
    step?: string;
  };
  issuer: string;
  policy: string;
  /** The first step that did not pass, if any. */
  blocked?: Step;
  ready: boolean;
}

function certificateOf(v: HostView): Certificate | undefined {
  return v.certificates.find((c) => c.spec.dnsNames.some((n) => covers(n, v.host)));
}

export function renewalOf(c: Certificate): string | undefined {
  const st = c.status;
  if (!st) return undefined;
  if (st.ari) return `ARI window ${st.ari.windowStart} .. ${st.ari.windowEnd}`;
  return st.renewalTime;
}

export function orderStepOf(c: Certificate): string | undefined {
  const o = c.status?.order;
  if (!o) {
    const issuing = c.status?.conditions?.find((x) => x.type === 'Issuing');
    return issuing && issuing.status === 'False' && !['Issued', 'UpToDate'].includes(issuing.reason)
      ? issuing.reason
      : undefined;
  }
  const pending = o.authorizations.filter((a) => a.challenge);
  return pending.length > 0
    ? `order: ${pending.map((a) => `${a.challenge?.type} ${a.identifier}`).join(', ')}`
    : 'order: finalizing';
}

function dnsOf(v: HostView): HostStatus['dns'] {
  const [rec] = recordsFor(v.host, v.endpoints);
  if (!rec) return { record: '-', state: '-' };
  const type = rec.spec.recordType;
  return {
    record: type ? `${type} ${rec.spec.targets.join(',')}` : '-',
    state: rec.status?.state ?? 'Pending',
    ...(rec.status?.owner ? { owner: rec.status.owner } : {}),
  };
}

function readyOf(c: Certificate): string {
  const ready = c.status?.conditions?.find((x) => x.type === 'Ready');
  if (!ready) return 'Unknown';
  return ready.status === 'True' ? 'Ready' : `NotReady (${ready.reason})`;
}

function certificateCell(c: Certificate | undefined): HostStatus['certificate'] {
  if (!c) return { ready: '-' };
  const renewal = renewalOf(c);
  const step = orderStepOf(c);
  return {
    name: c.metadata.name ?? '',
    ready: readyOf(c),
    ...(c.status?.notAfter ? { notAfter: c.status.notAfter } : {}),
    ...(renewal ? { renewal } : {}),
    ...(step ? { step } : {}),
  };
}

export function hostStatus(v: HostView): HostStatus {
  const steps = explainHost(v);
  const c = certificateOf(v);
  const claim = primaryClaim(v);
  const blocked = steps.find((s) => s.state !== 'passed' && s.state !== 'skipped');
  return {
    host: v.host,
    source: claim?.managed.some((h) => covers(h, v.host)) ? `${claim.kind}/${claim.name}` : '-',
    dns: dnsOf(v),
    certificate: certificateCell(c),
    issuer: c ? issuerKey(c).replace(/\/\//, '/') : '-',
    policy: steps.find((s) => s.step === 'policy')?.state ?? 'unknown',
    ...(blocked ? { blocked } : {}),
    ready: exitCodeOf(steps) === 0,
  };
}

export function statusRow(s: HostStatus): string[] {
  return [
    s.host,
    s.source,
    s.dns.record,
    s.dns.state,
    s.certificate.ready,
    s.certificate.notAfter ?? '-',
    s.certificate.renewal ?? '-',
    s.certificate.step ?? '-',
    s.issuer,
    s.policy,
  ];
}

export const statusHeader = [
  'HOST',
  'SOURCE',
  'RECORD',
  'DNS',
  'CERTIFICATE',
  'NOT AFTER',
  'RENEWAL',
  'IN FLIGHT',
  'ISSUER',
  'POLICY',
];
