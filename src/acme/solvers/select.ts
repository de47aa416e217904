import type { Solver } from '../../api/v1alpha1.js';
import type { FailureReason } from '../../errors.js';

export type ChallengeType = 'http-01' | 'dns-01';

export type Selection =
  | { ok: true; type: ChallengeType; solver: Solver; index: number }
  | { ok: false; reason: FailureReason; message: string };

function under(host: string, zone: string): boolean {
  return host === zone || host.endsWith(`.${zone}`);
}

/** -1: no match; 0: no selector; 1 + length: a dnsZones match; 1e6: a dnsNames match. */
function matchScore(sel: Solver['selector'], name: string, host: string): number {
  const names = sel?.dnsNames ?? [];
  const zones = sel?.dnsZones ?? [];
  if (names.includes(name) || names.includes(host)) return 1_000_000;
  let score = names.length === 0 && zones.length === 0 ? 0 : -1;
  for (const z of zones) if (under(host, z)) score = Math.max(score, 1 + z.length);
  return score;
}

/**
 * The ClusterIssuer solver for one identifier (cert-manager's rules, which users know):
 * a `dnsNames` match beats the longest `dnsZones` match, which beats a solver with no
 * selector; among equals the first listed wins. Wildcards can only use DNS-01, and a
 * Certificate's `challenge` narrows the choice to one type.
 */
export function selectSolver(
  solvers: readonly Solver[],
  identifier: string,
  wildcard: boolean,
  forced?: 'http01' | 'dns01',
): Selection {
  const host = identifier.replace(/^\*\./, '');
  const name = wildcard ? `*.${host}` : identifier;
  const allowed = (s: Solver) =>
    wildcard || forced === 'dns01' ? !!s.dns01 : forced === 'http01' ? !!s.http01 : true;
  let best: { score: number; index: number } | undefined;
  solvers.forEach((s, index) => {
    if (!allowed(s)) return;
    const score = matchScore(s.selector, name, host);
    if (score >= 0 && (!best || score > best.score)) best = { score, index };
  });
  if (best) {
    const solver = solvers[best.index] as Solver;
    return { ok: true, type: solver.dns01 ? 'dns-01' : 'http-01', solver, index: best.index };
  }
  if (wildcard && solvers.some((s) => s.http01 && !s.dns01))
    return {
      ok: false,
      reason: 'WildcardNeedsDNS01',
      message: `${name} is a wildcard, which only DNS-01 can validate, and the issuer has no dns01 solver for it`,
    };
  return {
    ok: false,
    reason: 'NoSolver',
    message: `no ${forced ?? ''} solver of the issuer matches ${name}`.replace('  ', ' '),
  };
}
