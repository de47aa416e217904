import type { IdleStep } from './machine.js';
import type { Cert, Status } from './types.js';

/**
 * Renewals and retries asked for by hand (`kubectl certroute renew|retry`), pure. A request is
 * an annotation on the Certificate whose value is a token (the CLI writes the time it asked);
 * status.requests records the last token acted on, so each request is honoured once, however
 * often the Certificate is reconciled, and no clock is compared across machines.
 *
 * - certroute.io/renew: order now, whatever the renewal time or the backoff;
 * - certroute.io/retry: end the backoff after failed orders (failedAttempts back to 0), and
 *   order now; with no backoff running it only resets the count.
 */
export const renewAnnotation = 'certroute.io/renew';
export const retryAnnotation = 'certroute.io/retry';

export interface Requests {
  renew?: string;
  retry?: string;
}

/** The requests not acted on yet: annotation tokens that differ from status.requests. */
export function pendingRequests(
  annotations: Readonly<Record<string, string>> | undefined,
  handled: Requests | undefined,
): Requests {
  const renew = annotations?.[renewAnnotation];
  const retry = annotations?.[retryAnnotation];
  return {
    ...(renew && renew !== handled?.renew ? { renew } : {}),
    ...(retry && retry !== handled?.retry ? { retry } : {}),
  };
}

export interface ManualDecision {
  step: IdleStep;
  /** Status fields to write before going on (empty: nothing to record). */
  fields: Record<string, unknown>;
}

/**
 * The idle step once the pending requests are applied. A retry is recorded at once (it only
 * ends the backoff); a renewal only when its order is placed (`renewalRecorded`), so a
 * preflight wait (the solver route not served yet, say) does not use it up.
 */
export function applyRequests(
  step: IdleStep,
  pending: Requests,
  status: Pick<Status, 'requests'>,
): ManualDecision {
  const fields: Record<string, unknown> = pending.retry
    ? {
        requests: { ...status.requests, retry: pending.retry },
        failedAttempts: 0,
        nextRetryTime: null,
      }
    : {};
  if (pending.renew)
    return {
      step: { kind: 'order', why: `renewal requested (${renewAnnotation}=${pending.renew})` },
      fields,
    };
  if (pending.retry && step.kind === 'backoff')
    return {
      step: { kind: 'order', why: `retry requested (${retryAnnotation}=${pending.retry})` },
      fields,
    };
  return { step, fields };
}

/** The status fields that record a pending renewal as acted on, once its order is placed. */
export function renewalRecorded(cert: Cert, status: Status): Record<string, unknown> | undefined {
  const { renew } = pendingRequests(cert.metadata?.annotations, status.requests);
  return renew ? { requests: { ...status.requests, renew } } : undefined;
}

/** The pending requests applied: a retry recorded in status, then the step to take. */
export async function honourRequests(
  reporter: { write(cert: Cert, fields: Record<string, unknown>, conditions: []): Promise<void> },
  cert: Cert,
  status: Status,
  step: IdleStep,
): Promise<IdleStep> {
  const pending = pendingRequests(cert.metadata?.annotations, status.requests);
  const decided = applyRequests(step, pending, status);
  if (Object.keys(decided.fields).length === 0) return decided.step;
  await reporter.write(cert, decided.fields, []);
  if (pending.retry) {
    status.requests = { ...status.requests, retry: pending.retry };
    status.failedAttempts = 0;
    delete status.nextRetryTime;
  }
  return decided.step;
}
