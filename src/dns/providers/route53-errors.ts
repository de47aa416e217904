import { isThrottle } from '../../aws/instrument.js';

/**
 * What the DNS controller does about a failed Route53 call:
 * - `retry`: the call failed, not our view of the zone (throttling, a timeout, a 5xx, an
 *   access error, anything unknown): keep the zone's cache and send the change again later.
 * - `relist`: Route53 says the cache disagrees with it (a record we think absent already
 *   exists, one we think present is not found or has other values, a change id it does not
 *   know): list the zone's records again before planning.
 * - `reject`: Route53 refused the content of the change (a value it will never take): the
 *   change is reported and not sent again unchanged; the cache is right as it is.
 */
export type ErrorAction = 'retry' | 'relist' | 'reject';

/** Refusals of a change batch that say the cache is wrong about what the zone holds. */
const staleView = [
  /but it already exists/i,
  /but it was not found/i,
  /values provided do not match the current values/i,
  /conflicting RRSet .* already exists/i,
];

/** Errors refusing a request's content: retrying the same content never helps. */
const refusals = new Set(['InvalidChangeBatch', 'InvalidInput', 'InvalidBatchError']);

/** The one place that decides, per error class; the controller and the sender act on it. */
export function classifyRoute53Error(err: unknown): ErrorAction {
  if (typeof err !== 'object' || err === null || isThrottle(err)) return 'retry';
  const { name, message } = err as { name?: unknown; message?: unknown };
  if (name === 'NoSuchChange') return 'relist';
  if (typeof name === 'string' && refusals.has(name))
    return staleView.some((re) => re.test(typeof message === 'string' ? message : ''))
      ? 'relist'
      : 'reject';
  return 'retry';
}
