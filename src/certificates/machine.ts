import type { Condition } from '../api/v1alpha1.js';
import type { FailureReason } from '../errors.js';
import { retryDelayMs, type RenewalDecision } from './renewal.js';
import type { Order, Status } from './types.js';
import { coversExactly, type CertInfo } from './x509.js';

/**
 * The Certificate's order state machine, pure: state and observation in, next step out. The
 * controller (controller.ts, issuance.ts) does the I/O each step names and writes what these
 * functions return.
 */

type NewCondition = Omit<Condition, 'lastTransitionTime'>;

/** The step for an order in flight, from the CA's status of it. */
export type OrderStep = 'authorize' | 'finalize' | 'poll' | 'store' | 'fail';

export function orderStep(caStatus: string): OrderStep {
  switch (caStatus) {
    case 'pending':
      return 'authorize';
    case 'ready':
      return 'finalize';
    case 'processing':
      return 'poll';
    case 'valid':
      return 'store';
    default:
      return 'fail';
  }
}

/** The current certificate serves: it covers exactly spec.dnsNames and has not expired. */
export function isCurrent(
  info: CertInfo | undefined,
  dnsNames: readonly string[],
  now: Date,
): info is CertInfo {
  return info !== undefined && coversExactly(info, dnsNames) && info.notAfter > now;
}

export interface IdleInput {
  info: CertInfo | undefined;
  dnsNames: readonly string[];
  /** The renewal decision for a current certificate (see isCurrent); undefined otherwise. */
  renewal: RenewalDecision | undefined;
  /** status.nextRetryTime: the backoff after a failed order. */
  nextRetryTime: string | undefined;
  /** When the CA may be asked for ARI again (ms since the epoch), if known. */
  ariNextAt: number | undefined;
  now: Date;
}

/** With no order in flight: the certificate is fine until a time, a backoff runs, or order now. */
export type IdleStep =
  | { kind: 'up-to-date'; requeueAfterMs: number }
  | { kind: 'backoff'; requeueAfterMs: number }
  | { kind: 'order'; why: string };

export function idleStep(i: IdleInput): IdleStep {
  const now = i.now.getTime();
  let why = !i.info
    ? 'no certificate yet'
    : !coversExactly(i.info, i.dnsNames)
      ? 'the certificate does not cover spec.dnsNames'
      : 'the certificate has expired';
  if (i.renewal) {
    const at = i.renewal.at.getTime();
    if (at > now) {
      const ariWait = i.ariNextAt ? i.ariNextAt - now : Infinity;
      return {
        kind: 'up-to-date',
        requeueAfterMs: Math.max(1000, Math.min(at - now + 250, 12 * 3_600_000, ariWait)),
      };
    }
    why = `renewal due: ${i.renewal.reason}`;
  }
  const retryAt = i.nextRetryTime ? Date.parse(i.nextRetryTime) : 0;
  if (retryAt > now) return { kind: 'backoff', requeueAfterMs: retryAt - now + 100 };
  return { kind: 'order', why };
}

/** Ready and Issuing while a current certificate waits for its renewal time. */
export function upToDateConditions(info: CertInfo, renewal: RenewalDecision): NewCondition[] {
  return [
    {
      type: 'Ready',
      status: 'True',
      reason: 'Issued',
      message: `certificate valid until ${info.notAfter.toISOString()}`,
    },
    {
      type: 'Issuing',
      status: 'False',
      reason: 'UpToDate',
      message: `renewal at ${renewal.at.toISOString()}: ${renewal.reason}`,
    },
  ];
}

/** The validity fields of status for a certificate and its renewal decision. */
export function validityFields(info: CertInfo, renewal: RenewalDecision): Partial<Status> {
  return {
    notBefore: info.notBefore.toISOString(),
    notAfter: info.notAfter.toISOString(),
    serialNumber: info.serialNumber,
    renewalTime: renewal.at.toISOString(),
    renewalReason: renewal.reason,
  };
}

/** How long to wait before the next look at an order whose challenges are in progress. */
export function pollDelayMs(waiting: boolean, orderAgeMs: number, pollMs: number): number {
  // Waiting for DNS can take minutes: poll less often as the order ages.
  return waiting ? Math.min(10_000, Math.max(pollMs, orderAgeMs / 10)) : pollMs;
}

/**
 * Has an order in flight run past its bound? Only orders the CA has not finished (pending,
 * ready, processing) time out; a valid order is stored however old, and an invalid one fails
 * on its own. An unreadable creation time never times out (status from an older version).
 */
export function orderTimedOut(
  step: OrderStep,
  createdAt: string,
  nowMs: number,
  timeoutMs: number,
): boolean {
  if (step === 'store' || step === 'fail') return false;
  const at = Date.parse(createdAt);
  return Number.isFinite(at) && nowMs - at >= timeoutMs;
}

export interface FailedStatus {
  fields: Record<string, unknown>;
  conditions: NewCondition[];
  failedAttempts: number;
  nextRetryTime: string;
}

/**
 * Status after a failed attempt: the order is dropped (and recorded as the last one), the
 * backoff doubles, and Ready stays True while the current certificate is still valid.
 */
export function failedStatus(
  status: Status,
  reason: FailureReason,
  message: string,
  order: Order | undefined,
  now: Date,
  retryBaseMs: number,
  /** The CA's Retry-After, when it gave one: the backoff is never shorter. */
  retryAfterMs = 0,
): FailedStatus {
  const failedAttempts = (status.failedAttempts ?? 0) + 1;
  const nextRetryTime = new Date(
    now.getTime() + Math.max(retryDelayMs(failedAttempts, retryBaseMs), retryAfterMs),
  ).toISOString();
  const validNow = status.notAfter ? Date.parse(status.notAfter) > now.getTime() : false;
  const lastOrder = order
    ? {
        lastOrder: {
          url: order.url,
          result: 'invalid',
          finishedAt: now.toISOString(),
          message,
          ...(order.replaces ? { replaces: order.replaces } : {}),
        },
      }
    : {};
  return {
    fields: {
      order: null,
      ...lastOrder,
      failedAttempts,
      lastFailure: `${reason}: ${message}`,
      nextRetryTime,
    },
    conditions: [
      readyWhileNotIssuing(status, validNow, reason, message, 'renewal failing'),
      {
        type: 'Issuing',
        status: 'False',
        reason: 'Failed',
        message: `${reason}: ${message}; attempt ${failedAttempts}, next retry at ${nextRetryTime}`,
      },
    ],
    failedAttempts,
    nextRetryTime,
  };
}

/** Ready while no order goes ahead: True while the current certificate is valid, else why. */
function readyWhileNotIssuing(
  status: Status,
  validNow: boolean,
  reason: FailureReason,
  message: string,
  renewal: string,
): NewCondition {
  return validNow
    ? {
        type: 'Ready',
        status: 'True',
        reason: 'Issued',
        message: `current certificate valid until ${status.notAfter}; ${renewal}`,
      }
    : { type: 'Ready', status: 'False', reason, message };
}

/**
 * Status while certroute holds an order back itself (a CA limit it keeps count of): no order
 * was placed, so nothing failed and the backoff does not grow; the next attempt is when the
 * limit frees (`untilMs`), and Ready stays True while the current certificate is valid.
 */
export function heldStatus(
  status: Status,
  reason: FailureReason,
  message: string,
  now: Date,
  untilMs: number,
): FailedStatus {
  const nextRetryTime = new Date(Math.max(untilMs, now.getTime())).toISOString();
  const validNow = status.notAfter ? Date.parse(status.notAfter) > now.getTime() : false;
  const failedAttempts = status.failedAttempts ?? 0;
  return {
    fields: { lastFailure: `${reason}: ${message}`, nextRetryTime },
    conditions: [
      readyWhileNotIssuing(status, validNow, reason, message, 'renewal waiting'),
      {
        type: 'Issuing',
        status: 'False',
        reason,
        message: `${message}; next attempt at ${nextRetryTime}`,
      },
    ],
    failedAttempts,
    nextRetryTime,
  };
}

/** Status once the order's certificate is stored: the order is done and the backoff reset. */
export function issuedStatus(
  status: Status,
  order: Order,
  info: CertInfo,
  renewal: RenewalDecision,
  arn: string | undefined,
  now: Date,
): { fields: Record<string, unknown>; conditions: NewCondition[] } {
  return {
    fields: {
      order: null,
      lastOrder: {
        url: order.url,
        result: 'valid',
        finishedAt: now.toISOString(),
        ...(order.replaces ? { replaces: order.replaces } : {}),
      },
      ...validityFields(info, renewal),
      ari: null,
      failedAttempts: 0,
      lastFailure: null,
      nextRetryTime: null,
      revision: (status.revision ?? 0) + 1,
      ...(arn ? { acm: { certificateArn: arn } } : {}),
    },
    conditions: [
      {
        type: 'Ready',
        status: 'True',
        reason: 'Issued',
        message: `certificate valid until ${info.notAfter.toISOString()}`,
      },
      { type: 'Issuing', status: 'False', reason: 'Issued', message: 'order complete' },
    ],
  };
}

/** The same names, in any order. */
export function sameNames(a: readonly string[], b: readonly string[]): boolean {
  const x = new Set(a);
  return x.size === new Set(b).size && b.every((n) => x.has(n));
}

/** The HTTP-01 tokens of an order, with their key authorizations, for the token server. */
export function tokensOfOrder(o: Order | undefined): Map<string, string> {
  const m = new Map<string, string>();
  for (const a of o?.authorizations ?? [])
    if (a.challenge?.type === 'http-01' && a.challenge.keyAuthorization)
      m.set(a.challenge.token, a.challenge.keyAuthorization);
  return m;
}
