import { parseDuration } from '../config/index.js';
import { keyUsages, type Certificate, type KeyAlgorithm, type KeyUsage } from '../api/v1alpha1.js';
import type { IngressSettings } from './annotations.js';

/**
 * cert-manager's remaining Ingress annotations (issue 25), read for migration and mapped onto
 * the Certificate spec. certroute's own annotation wins where both exist (key-algorithm,
 * renew-before). A malformed value is a problem and only its setting falls back.
 */
export const cmAnnotations = {
  duration: 'cert-manager.io/duration',
  renewBefore: 'cert-manager.io/renew-before',
  keyAlgorithm: 'cert-manager.io/private-key-algorithm',
  keySize: 'cert-manager.io/private-key-size',
  commonName: 'cert-manager.io/common-name',
  usages: 'cert-manager.io/usages',
} as const;

type Report = (annotation: string, message: string) => void;

const durationRe = /^(\d+(\.\d+)?(ms|s|m|h|d))+$/;

function duration(v: string): number | undefined {
  return durationRe.test(v) ? parseDuration(v) : undefined;
}

/** RSA 2048/3072/4096, ECDSA 256/384; cert-manager's default algorithm is RSA. */
export function keyAlgorithmOf(
  algorithm: string | undefined,
  size: string | undefined,
): { ok: true; algorithm: KeyAlgorithm } | { ok: false; annotation: string; message: string } {
  const alg = algorithm ?? 'RSA';
  if (alg !== 'RSA' && alg !== 'ECDSA')
    return {
      ok: false,
      annotation: cmAnnotations.keyAlgorithm,
      message: `must be "RSA" or "ECDSA" (Ed25519 is not supported), got "${alg}"`,
    };
  const bits = size === undefined ? (alg === 'RSA' ? 2048 : 256) : Number(size);
  const sizes: Record<string, Partial<Record<number, KeyAlgorithm>>> = {
    RSA: { 2048: 'RSA-2048', 3072: 'RSA-3072', 4096: 'RSA-4096' },
    ECDSA: { 256: 'ECDSA-P256', 384: 'ECDSA-P384' },
  };
  const k = sizes[alg]?.[bits];
  if (k) return { ok: true, algorithm: k };
  return {
    ok: false,
    annotation: cmAnnotations.keySize,
    message: `${alg} keys can be ${alg === 'RSA' ? '2048, 3072 or 4096' : '256 or 384'} bits, got "${size}"`,
  };
}

/** Reads the cert-manager annotations into settings (after certroute's own). */
export function parseCertManagerAnnotations(
  a: Record<string, string>,
  s: IngressSettings,
  bad: Report,
): void {
  parseLifetime(a, s, bad);
  parseKey(a, s, bad);
  parseCommonName(a, s, bad);
  parseUsages(a, s, bad);
}

/** The Certificate fields these annotations set, for the Ingress source. */
export function cmSpec(
  s: IngressSettings,
): Partial<Pick<Certificate['spec'], 'duration' | 'commonName' | 'usages'>> {
  return {
    ...(s.duration ? { duration: s.duration } : {}),
    ...(s.commonName ? { commonName: s.commonName } : {}),
    ...(s.usages ? { usages: s.usages } : {}),
  };
}

function parseLifetime(a: Record<string, string>, s: IngressSettings, bad: Report): void {
  const dur = a[cmAnnotations.duration];
  let durationMs: number | undefined;
  if (dur !== undefined) {
    durationMs = duration(dur);
    if (durationMs !== undefined && durationMs >= 3_600_000) s.duration = dur;
    else {
      durationMs = undefined;
      bad(cmAnnotations.duration, `must be a duration of at least 1h like 2160h, got "${dur}"`);
    }
  }
  const rb = a[cmAnnotations.renewBefore];
  if (rb !== undefined && s.renewBefore === undefined) {
    const ms = duration(rb);
    if (ms === undefined || ms < 60_000)
      bad(cmAnnotations.renewBefore, `must be a duration of at least 1m like 720h, got "${rb}"`);
    else s.renewBefore = rb;
  }
  const rbMs = s.renewBefore ? parseDuration(s.renewBefore) : undefined;
  if (durationMs !== undefined && rbMs !== undefined && rbMs >= durationMs) {
    bad(
      cmAnnotations.renewBefore,
      `renew-before ${s.renewBefore} is not shorter than duration ${dur}; ignored`,
    );
    delete s.renewBefore;
  }
}

function parseKey(a: Record<string, string>, s: IngressSettings, bad: Report): void {
  const alg = a[cmAnnotations.keyAlgorithm];
  const size = a[cmAnnotations.keySize];
  if ((alg === undefined && size === undefined) || s.keyAlgorithm !== undefined) return;
  const k = keyAlgorithmOf(alg, size);
  if (k.ok) s.keyAlgorithm = k.algorithm;
  else bad(k.annotation, k.message);
}

function parseCommonName(a: Record<string, string>, s: IngressSettings, bad: Report): void {
  const cn = a[cmAnnotations.commonName];
  if (cn === undefined) return;
  if (cn.length >= 1 && cn.length <= 64) s.commonName = cn;
  else bad(cmAnnotations.commonName, `must be 1 to 64 characters, got ${cn.length}`);
}

function parseUsages(a: Record<string, string>, s: IngressSettings, bad: Report): void {
  const us = a[cmAnnotations.usages];
  if (us === undefined) return;
  const list = us
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
  const unknown = list.filter((u) => !(keyUsages as readonly string[]).includes(u));
  if (unknown.length > 0 || list.length === 0)
    bad(
      cmAnnotations.usages,
      `unknown usage(s) ${unknown.map((u) => `"${u}"`).join(', ') || '(none listed)'}; known: ${keyUsages.join(', ')}`,
    );
  else s.usages = [...new Set(list)] as KeyUsage[];
}
