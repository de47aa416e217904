import { classOf, failureReasons, type FailureReason } from '../errors.js';

/**
 * What to do about a reason, from the taxonomy in src/errors.ts (its class says who acts) and
 * a pointer to its row in docs/troubleshooting.md: the reason texts are not copied here.
 */
const byClass = {
  transient: 'certroute retries with backoff; act only if it persists',
  input: 'fix the object the message names',
  configuration: "fix the issuer, the operator's flags or AWS",
} as const;

export function isReason(r: string | undefined): r is FailureReason {
  return r !== undefined && Object.hasOwn(failureReasons, r);
}

export function adviceFor(reason: string | undefined): string | undefined {
  if (!isReason(reason)) return undefined;
  return `${reason} (${classOf(reason)}): ${byClass[classOf(reason)]}; see docs/troubleshooting.md#failure-reasons`;
}
