import { createHash } from 'node:crypto';
import type { Condition, Endpoint } from '../api/v1alpha1.js';
import type { FailureReason } from '../errors.js';
import type { IssuedView } from './stores/acm-client.js';

/**
 * ACM-issued certificates (spec.acm.issued), the pure half: what ACM's view of the certificate
 * means for the Certificate. The I/O (RequestCertificate, DescribeCertificate, the validation
 * DNSEndpoint, the ALB annotation) is in acm-issued.ts.
 */

type NewCondition = Omit<Condition, 'lastTransitionTime'>;

/** ACM starts its managed renewal 60 days before expiry; certroute says so as renewalTime. */
export const acmRenewalLeadMs = 60 * 86_400_000;
/** Polls while ACM validates double up to this. */
export const maxPollMs = 5 * 60_000;

/**
 * RequestCertificate's IdempotencyToken (at most 32 word characters): the same Certificate
 * (uid) asking for the same names gets the same ARN back, so a crash between the request and
 * the status write never requests twice; other names are another certificate.
 */
export function idempotencyToken(uid: string, dnsNames: readonly string[]): string {
  const names = [...dnsNames].sort().join(',');
  return createHash('sha256').update(`${uid}\n${names}`).digest('hex').slice(0, 32);
}

/** The same names, in any order. */
export function sameNameSet(a: readonly string[] | undefined, b: readonly string[]): boolean {
  if (!a || a.length !== b.length) return false;
  const s = new Set(a);
  return b.every((n) => s.has(n));
}

/**
 * The validation records as DNSEndpoint endpoints: lower-case, without the trailing dot,
 * one per name (a wildcard and its base name share one CNAME), sorted for a stable spec.
 */
export function validationEndpoints(records: IssuedView['validation']): Endpoint[] {
  const byName = new Map<string, Endpoint>();
  for (const r of records) {
    if (r.type.toUpperCase() !== 'CNAME') continue;
    const dnsName = r.name.toLowerCase().replace(/\.$/, '');
    const target = r.value.toLowerCase().replace(/\.$/, '');
    if (!byName.has(dnsName))
      byName.set(dnsName, { dnsName, recordType: 'CNAME', targets: [target] });
  }
  return [...byName.values()].sort((a, b) => a.dnsName.localeCompare(b.dnsName));
}

/** Doubling from `baseMs`, capped: the n-th wait (n from 0). */
export function backoffMs(baseMs: number, attempt: number, capMs = maxPollMs): number {
  return Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
}

export type IssuedStep =
  /** No ARN yet, or the names changed (ACM cannot change a certificate's names): request one. */
  | { kind: 'request'; why: string }
  /** The ARN in status is gone from ACM (deleted by hand): forget it, then request anew. */
  | { kind: 'gone' }
  /** ACM is validating: publish the records, poll again. */
  | { kind: 'pending'; conditions: NewCondition[] }
  /** Issued (or renewed in place): annotate the Ingress; watch again at the resync. */
  | { kind: 'issued'; conditions: NewCondition[]; renewalFailed?: string }
  /** ACM gave up on it: say why; nothing is requested again by itself. */
  | { kind: 'failed'; reason: FailureReason; message: string; conditions: NewCondition[] };

export interface IssuedInput {
  arn: string | undefined;
  requestedNames: readonly string[] | undefined;
  dnsNames: readonly string[];
  /** DescribeCertificate of `arn`; undefined when ACM says it does not exist. */
  view: IssuedView | undefined;
}

/** The next step of an ACM-issued Certificate from ACM's view of it. */
export function issuedStep(i: IssuedInput): IssuedStep {
  if (!i.arn) return { kind: 'request', why: 'no ACM certificate requested yet' };
  if (!i.view) return { kind: 'gone' };
  const names = !sameNameSet(i.requestedNames, i.dnsNames);
  // The names changed: a new certificate is requested while the old one keeps serving.
  if (names && i.view.status === 'ISSUED') return { kind: 'request', why: 'dnsNames changed' };
  if (names) return { kind: 'request', why: 'dnsNames changed before the old one was issued' };
  const v = i.view;
  switch (v.status) {
    case 'PENDING_VALIDATION':
      return {
        kind: 'pending',
        conditions: [
          {
            type: 'Ready',
            status: 'False',
            reason: 'ACMPendingValidation',
            message: `ACM is validating ${i.arn} (${v.validation.length} DNS validation records published)`,
          },
          {
            type: 'Issuing',
            status: 'True',
            reason: 'ACMPendingValidation',
            message: 'waiting for ACM to see the validation CNAMEs and issue',
          },
        ],
      };
    case 'ISSUED':
      return issued(i.arn, v);
    case 'VALIDATION_TIMED_OUT':
      return failed(
        'ACMValidationTimedOut',
        `ACM stopped waiting for the validation CNAMEs of ${i.arn} (72 hours in AWS); delete status.acm or the Certificate to request again`,
      );
    default: {
      const why = v.failureReason ? ` (${v.failureReason})` : '';
      return failed('ACMRequestFailed', `ACM certificate ${i.arn} is ${v.status}${why}`);
    }
  }
}

function issued(arn: string, v: IssuedView): IssuedStep {
  const until = v.notAfter ? ` until ${v.notAfter.toISOString()}` : '';
  const renewalFailed =
    v.renewalStatus === 'FAILED'
      ? `ACM's managed renewal of ${arn} failed${v.renewalReason ? ` (${v.renewalReason})` : ''}`
      : undefined;
  return {
    kind: 'issued',
    conditions: [
      { type: 'Ready', status: 'True', reason: 'Issued', message: `ACM certificate valid${until}` },
      renewalFailed
        ? { type: 'Issuing', status: 'False', reason: 'ACMRenewalFailed', message: renewalFailed }
        : {
            type: 'Issuing',
            status: 'False',
            reason: 'UpToDate',
            message: `ACM renews ${arn} itself${v.renewalStatus ? ` (renewal: ${v.renewalStatus})` : ''}`,
          },
    ],
    ...(renewalFailed ? { renewalFailed } : {}),
  };
}

function failed(reason: FailureReason, message: string): IssuedStep {
  return {
    kind: 'failed',
    reason,
    message,
    conditions: [
      { type: 'Ready', status: 'False', reason, message },
      { type: 'Issuing', status: 'False', reason, message },
    ],
  };
}

/** The status fields an issued certificate's view fills (validity, and when ACM renews). */
export function validityOf(v: IssuedView): Record<string, string> {
  return {
    ...(v.notBefore ? { notBefore: v.notBefore.toISOString() } : {}),
    ...(v.notAfter
      ? {
          notAfter: v.notAfter.toISOString(),
          renewalTime: new Date(v.notAfter.getTime() - acmRenewalLeadMs).toISOString(),
          renewalReason: 'ACM managed renewal (60 days before expiry)',
        }
      : {}),
    ...(v.serial ? { serialNumber: v.serial } : {}),
  };
}
