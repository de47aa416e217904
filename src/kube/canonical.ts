import type { Condition } from '../api/v1alpha1.js';

/** JSON with sorted keys, so key order never counts as a change. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val && typeof val === 'object' && !Array.isArray(val)
      ? Object.fromEntries(
          Object.entries(val as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)),
        )
      : val,
  );
}

/**
 * Two statuses that differ only in their conditions' transition times (or condition order)
 * are the same: writing one over the other would change nothing anyone reads.
 */
export function sameStatus(a: object, b: object): boolean {
  return canonical(withoutTimes(a)) === canonical(withoutTimes(b));
}

function withoutTimes(s: object): unknown {
  const conds = (s as { conditions?: Condition[] }).conditions;
  return {
    ...s,
    conditions: conds
      ?.map((c) => ({ ...c, lastTransitionTime: '' }))
      .sort((x, y) => x.type.localeCompare(y.type)),
  };
}
