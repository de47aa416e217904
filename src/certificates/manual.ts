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

/** The idle step once the pending requests are applied. */
export function applyRequests(
  step: IdleStep,
  pending: Requests,
  status: Pick<Status, 'requests'>,
): ManualDecision {
  if (!pending.renew && !pending.retry) return { step, fields: {} };
  const requests = { ...status.requests, ...pending };
  const fields: Record<string, unknown> = { requests };
  if (pending.retry) Object.assign(fields, { failedAttempts: 0, nextRetryTime: null });
  if (pending.renew)
    return {
      step: { kind: 'order', why: `renewal requested (${renewAnnotation}=${pending.renew})` },
      fields,
    };
  if (step.kind === 'backoff')
    return {
      step: { kind: 'order', why: `retry requested (${retryAnnotation}=${pending.retry})` },
      fields,
    };
  return { step, fields };
}

/** The pending requests applied: recorded in status (and in `status`), then the step to take. */
export async function honourRequests(
  reporter: { write(cert: Cert, fields: Record<string, unknown>, conditions: []): Promise<void> },
  cert: Cert,
  status: Status,
  step: IdleStep,
): Promise<IdleStep> {
  const pending = pendingRequests(cert.metadata?.annotations, status.requests);
  const decided = applyRequests(step, pending, status);
  if (Object.keys(decided.fields).length === 0) return step;
  await reporter.write(cert, decided.fields, []);
  status.requests = { ...status.requests, ...pending };
  if (pending.retry) {
    status.failedAttempts = 0;
    delete status.nextRetryTime;
  }
  return decided.step;
}
