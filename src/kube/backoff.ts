/**
 * Exponential backoff with "full jitter": a random delay in [base*2^(n-1)/2, base*2^(n-1)],
 * capped. Jitter keeps many retrying keys (or replicas) from hammering an API in lock-step.
 */
export function jitteredBackoff(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random = Math.random,
): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return exp / 2 + (random() * exp) / 2;
}
