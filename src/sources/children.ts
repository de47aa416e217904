import { canonical } from '../kube/canonical.js';
import { controlledBy, describeOwner } from '../kube/ownership.js';

/**
 * What a source writes for one object (an Ingress): its children, diffed against the children
 * it already controls. Pure, so the source's reconcile only carries the plan out.
 */

export interface Child {
  metadata: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    annotations?: Record<string, string>;
    ownerReferences?: { uid?: string; controller?: boolean; kind?: string; name?: string }[];
  };
  spec: unknown;
}

export interface ChildPlan<T extends Child> {
  create: T[];
  /** Existing objects with the desired spec applied (resourceVersion kept for optimistic locking). */
  update: T[];
  delete: T[];
  /** Desired names held by an object this Ingress does not control. */
  conflicts: { name: string; owner: string }[];
}

/** What to create, update and delete so the children of `ownerUid` match `desired`. Pure. */
export function planChildren<T extends Child>(
  desired: T[],
  existing: T[],
  ownerUid: string,
): ChildPlan<T> {
  const plan: ChildPlan<T> = { create: [], update: [], delete: [], conflicts: [] };
  const byName = new Map(existing.map((e) => [e.metadata.name, e]));
  const wanted = new Set<string | undefined>();
  for (const d of desired) {
    wanted.add(d.metadata.name);
    const e = byName.get(d.metadata.name);
    if (!e) {
      plan.create.push(d);
      continue;
    }
    if (!controlledBy(e, ownerUid)) {
      plan.conflicts.push({ name: d.metadata.name ?? '', owner: describeOwner(e) });
      continue;
    }
    if (canonical(e.spec) !== canonical(d.spec)) plan.update.push({ ...e, spec: d.spec });
  }
  for (const e of existing) {
    if (controlledBy(e, ownerUid) && !wanted.has(e.metadata.name)) plan.delete.push(e);
  }
  return plan;
}
