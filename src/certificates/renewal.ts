import { createHash } from 'node:crypto';

export interface IssuedCert {
  notBefore: Date;
  notAfter: Date;
  /** renewBefore in ms, from the Certificate spec or annotation. */
  renewBeforeMs?: number | undefined;
  /**
   * What tells this certificate from others sharing its ARI window (its serial number): mixed
   * into the pick, so N certificates with one window spread across it instead of renewing at
   * one instant.
   */
  identity?: string | undefined;
}

export interface AriWindow {
  start: Date;
  end: Date;
}

export interface RenewalDecision {
  at: Date;
  reason: string;
}

/**
 * When to renew, as a pure function (certmagic's model):
 * - inside the CA's ARI window when there is one, at a point chosen by `pick` (0..1);
 * - otherwise `renewBefore` before expiry, or at 2/3 of the lifetime;
 * - never later than the emergency floor, 1/10 of the lifetime before expiry.
 * `pick` defaults to a value derived from the window and the certificate's identity, so every
 * replica and every reconcile picks the same instant for one certificate until the CA moves
 * the window, and certificates that share a window spread across it.
 */
export function renewalTime(
  cert: IssuedCert,
  ari: AriWindow | undefined,
  now: Date,
  pick: number = ari ? stablePick(ari, cert.identity) : 0,
): RenewalDecision {
  const nb = cert.notBefore.getTime();
  const na = cert.notAfter.getTime();
  const lifetime = Math.max(0, na - nb);
  const floor = na - lifetime / 10;
  let at: number;
  let reason: string;
  if (ari && ari.end.getTime() >= ari.start.getTime()) {
    const s = ari.start.getTime();
    const e = ari.end.getTime();
    if (e <= now.getTime()) {
      at = now.getTime();
      reason = 'ARI window already ended: renew now';
    } else {
      at = s + Math.min(1, Math.max(0, pick)) * (e - s);
      reason = `inside the CA's ARI window ${iso(s)} – ${iso(e)}`;
    }
  } else if (cert.renewBeforeMs !== undefined && cert.renewBeforeMs < lifetime) {
    at = na - cert.renewBeforeMs;
    reason = `renewBefore ${Math.round(cert.renewBeforeMs / 1000)}s before expiry`;
  } else {
    at = nb + (lifetime * 2) / 3;
    reason =
      cert.renewBeforeMs !== undefined
        ? 'at 2/3 of the lifetime (renewBefore is not shorter than the lifetime, so it is ignored)'
        : 'at 2/3 of the lifetime';
  }
  if (at > floor) {
    at = floor;
    reason = `emergency floor: 1/10 of the lifetime left (was: ${reason})`;
  }
  return { at: new Date(at), reason };
}

/**
 * A stable fraction in [0, 1) from the window and the certificate's identity: same window and
 * certificate, same pick, on every replica; another certificate, another pick.
 */
export function stablePick(w: AriWindow, identity = ''): number {
  const h = createHash('sha256').update(
    `${w.start.toISOString()}|${w.end.toISOString()}|${identity}`,
  );
  return h.digest().readUInt32BE(0) / 2 ** 32;
}

/**
 * Delay before retry `failures` (1-based): 1 minute doubling, capped at 8 hours. One minute
 * absorbs a transient CA or DNS blip without burning the CA's failed-validation limit (5 per
 * hour per account and host at Let's Encrypt); 8 hours keeps a broken certificate retrying
 * several times a day, well inside the renewal margin of a 90-day certificate.
 */
export function retryDelayMs(failures: number, baseMs = 60_000, capMs = 8 * 3_600_000): number {
  if (failures <= 0) return 0;
  return Math.min(capMs, baseMs * 2 ** Math.min(30, failures - 1));
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
