import type { TsigError } from './tsig.js';
import type { ErrorAction } from './route53-errors.js';

/** DNS response codes (RFC 1035, RFC 2136 §2.2), as names. */
export const rcodes: Record<number, string> = {
  0: 'NOERROR',
  1: 'FORMERR',
  2: 'SERVFAIL',
  3: 'NXDOMAIN',
  4: 'NOTIMP',
  5: 'REFUSED',
  6: 'YXDOMAIN',
  7: 'YXRRSET',
  8: 'NXRRSET',
  9: 'NOTAUTH',
  10: 'NOTZONE',
};

/**
 * A DNS server's refusal or failure of an RFC 2136 exchange. `code` is the rcode name, or the
 * TSIG error (BADSIG, BADKEY, BADTIME) when the server or certroute refused a signature.
 * `message` says what to check, for the record's status, the condition and the Event.
 */
export class Rfc2136Error extends Error {
  override name = 'Rfc2136Error';
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The codes that say the key, the server's ACLs or the clock are wrong: fix, not retry. */
export const authCodes = new Set(['REFUSED', 'NOTAUTH', 'BADSIG', 'BADKEY', 'BADTIME']);

/** A clear message for a refused exchange with a zone, by code. */
export function describeRcode(
  code: string,
  ctx: { op: string; zone: string; key: string; server: string },
): string {
  const at = `${ctx.op} of zone ${ctx.zone} at ${ctx.server}`;
  switch (code) {
    case 'REFUSED':
      return `${at} REFUSED: key ${ctx.key} may not do this (check allow-update / update-policy and allow-transfer for the key), or the server does not serve the zone`;
    case 'NOTAUTH':
      return `${at} NOTAUTH: the server is not authoritative for the zone, or it did not accept key ${ctx.key}`;
    case 'BADSIG':
      return `${at} BADSIG: the server rejected the TSIG signature of key ${ctx.key}: the secret does not match the server's`;
    case 'BADKEY':
      return `${at} BADKEY: the server does not know key ${ctx.key} with this algorithm`;
    case 'BADTIME':
      return `${at} BADTIME: the clocks of certroute and the server differ by more than the TSIG fudge (300 s)`;
    case 'NXRRSET':
    case 'YXRRSET':
    case 'YXDOMAIN':
      return `${at} ${code}: a prerequisite failed: the zone does not hold what certroute last read (a record changed behind its back)`;
    case 'NOTZONE':
      return `${at} NOTZONE: a record of the update is outside the zone`;
    default:
      return `${at} failed: ${code}`;
  }
}

/** A TSIG failure as an Rfc2136Error with a clear message. */
export function fromTsigError(
  err: TsigError,
  ctx: { op: string; zone: string; key: string; server: string },
): Rfc2136Error {
  if (err.byServer) return new Rfc2136Error(err.code, describeRcode(err.code, ctx), { cause: err });
  return new Rfc2136Error(
    err.code,
    `${ctx.op} of zone ${ctx.zone} at ${ctx.server}: the response failed TSIG verification with key ${ctx.key} (${err.code}: ${err.message})`,
    { cause: err },
  );
}

/**
 * What the DNS controller does about a failed RFC 2136 call (see ErrorAction):
 * - a failed prerequisite (NXRRSET, YXRRSET, YXDOMAIN): the cache is wrong: `relist`;
 * - a refused key, ACL or clock (REFUSED, NOTAUTH, BADSIG, BADKEY, BADTIME): `retry`, with the
 *   message in the record's status: the change is right, the configuration is not;
 * - FORMERR, NOTIMP, NOTZONE, an InvalidBatchError: the content is refused: `reject`;
 * - anything else (SERVFAIL, a timeout, a closed connection): `retry`.
 */
export function classifyRfc2136Error(err: unknown): ErrorAction {
  if (err instanceof Rfc2136Error) {
    if (['NXRRSET', 'YXRRSET', 'YXDOMAIN'].includes(err.code)) return 'relist';
    if (['FORMERR', 'NOTIMP', 'NOTZONE'].includes(err.code)) return 'reject';
    return 'retry';
  }
  if (err instanceof Error && err.name === 'InvalidBatchError') return 'reject';
  return 'retry';
}

/** True for a refusal the user must fix (key, secret, ACL, clock). */
export function isRfc2136AuthError(err: unknown): err is Rfc2136Error {
  return err instanceof Rfc2136Error && authCodes.has(err.code);
}
