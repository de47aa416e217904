import type { Condition } from '../api/v1alpha1.js';

/**
 * Returns conditions with `type` set, keeping lastTransitionTime when the status does not
 * change (the Kubernetes API conventions), and every other condition as it was.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  c: Omit<Condition, 'lastTransitionTime'>,
  now = new Date(),
): Condition[] {
  const prior = conditions?.find((x) => x.type === c.type);
  const lastTransitionTime =
    prior && prior.status === c.status ? prior.lastTransitionTime : now.toISOString();
  const next: Condition = { ...c, lastTransitionTime };
  return [...(conditions ?? []).filter((x) => x.type !== c.type), next];
}

export function getCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((x) => x.type === type);
}

/** True when setting `c` would change nothing but timestamps. */
export function sameCondition(
  conditions: readonly Condition[] | undefined,
  c: Omit<Condition, 'lastTransitionTime'>,
): boolean {
  const p = getCondition(conditions, c.type);
  return (
    !!p &&
    p.status === c.status &&
    p.reason === c.reason &&
    p.message === c.message &&
    p.observedGeneration === c.observedGeneration
  );
}
