import type { IssuanceResult } from './issuance.js';
// Pure helpers of the issuance peer benchmark: call counts, medians, ratios.

/**
 * The API name of a call the lab AWS proxy logged. The proxy names the calls certroute makes;
 * cert-manager also calls ListHostedZonesByName, which it logs as method and path.
 */
export function operationName(logged: string): string {
  const m = /^GET \/\d{4}-\d{2}-\d{2}\/hostedzonesbyname\/?$/.exec(logged);
  return m ? 'ListHostedZonesByName' : logged;
}

/** Calls grouped by operation, keys sorted. */
export function countByOperation(calls: readonly { operation: string }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const op of calls.map((c) => operationName(c.operation)).sort())
    out[op] = (out[op] ?? 0) + 1;
  return out;
}

/** The median (the mean of the middle two for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  const v = [...values].sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1
    ? (v[mid] as number)
    : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
}

/** a ÷ b to two decimals; null when b is 0 (or either is not a number). */
export function ratio(a: number, b: number): number | null {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return null;
  return Math.round((a / b) * 100) / 100;
}

/** The numeric measures of a run that get a median. */
export type Measures = Pick<
  IssuanceResult,
  | 'seconds'
  | 'route53Calls'
  | 'cpuS'
  | 'peakRssMb'
  | 'orders'
  | 'certificatesIssued'
  | 'failedValidations'
>;

export interface MedianRow {
  seconds: number;
  route53Total: number;
  route53Calls: Record<string, number>;
  cpuS: number;
  peakRssMb: number;
  orders: number;
  certificatesIssued: number;
  failedValidations: number;
}

/** Per-measure medians over runs; each operation's count is its own median (0 where absent). */
export function medians(runs: readonly Measures[]): MedianRow {
  const ops = [...new Set(runs.flatMap((r) => Object.keys(r.route53Calls)))].sort();
  const of = (f: (r: Measures) => number) => median(runs.map(f));
  return {
    seconds: of((r) => r.seconds),
    route53Total: of((r) => total(r.route53Calls)),
    route53Calls: Object.fromEntries(ops.map((op) => [op, of((r) => r.route53Calls[op] ?? 0)])),
    cpuS: of((r) => r.cpuS),
    peakRssMb: of((r) => r.peakRssMb),
    orders: of((r) => r.orders),
    certificatesIssued: of((r) => r.certificatesIssued),
    failedValidations: of((r) => r.failedValidations),
  };
}

export function total(calls: Record<string, number>): number {
  return Object.values(calls).reduce((n, v) => n + v, 0);
}

/** certroute ÷ peer for each median (Route53 operations too); null where the peer's is 0. */
export function ratios(certroute: MedianRow, peer: MedianRow): Record<string, number | null> {
  const out: Record<string, number | null> = {
    seconds: ratio(certroute.seconds, peer.seconds),
    route53Total: ratio(certroute.route53Total, peer.route53Total),
    cpuS: ratio(certroute.cpuS, peer.cpuS),
    peakRssMb: ratio(certroute.peakRssMb, peer.peakRssMb),
    orders: ratio(certroute.orders, peer.orders),
    failedValidations: ratio(certroute.failedValidations, peer.failedValidations),
  };
  const ops = new Set([...Object.keys(certroute.route53Calls), ...Object.keys(peer.route53Calls)]);
  for (const op of [...ops].sort())
    out[`route53.${op}`] = ratio(certroute.route53Calls[op] ?? 0, peer.route53Calls[op] ?? 0);
  return out;
}
