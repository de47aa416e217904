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

/**
 * What to create, update and delete so the children of `ownerUid` match `desired`. Pure.
 * `ownedAnnotations` are the source's too: a child whose value of one differs is updated.
 */
export function planChildren<T extends Child>(
  desired: T[],
  existing: T[],
  ownerUid: string,
  ownedAnnotations: readonly string[] = [],
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
    const annotations = ownedAnnotationsOf(e, d, ownedAnnotations);
    if (canonical(e.spec) !== canonical(d.spec) || annotations)
      plan.update.push({
        ...e,
        spec: d.spec,
        ...(annotations ? { metadata: { ...e.metadata, annotations } } : {}),
      });
  }
  for (const e of existing) {
    if (controlledBy(e, ownerUid) && !wanted.has(e.metadata.name)) plan.delete.push(e);
  }
  return plan;
}

/** e's annotations with d's values of the owned keys, or undefined when they already agree. */
function ownedAnnotationsOf(
  e: Child,
  d: Child,
  owned: readonly string[],
): Record<string, string> | undefined {
  const have = e.metadata.annotations ?? {};
  const want = d.metadata.annotations ?? {};
  if (owned.every((k) => have[k] === want[k])) return undefined;
  const out = { ...have };
  for (const k of owned) {
    const v = want[k];
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
}

/** How long a new Ingress may go without an address before its children are written anyway. */
export const addressGraceMs = 2000;

/**
 * Milliseconds to hold the first write of a new Ingress's children, waiting for the ingress
 * controller to give it an address (0: write now). Its records never wait: the DNS controller
 * publishes from the derived spec. Waiting saves a DNSEndpoint update and a status write per
 * host in a burst (docs/adr/0027). Only a fresh Ingress (by creationTimestamp, within the
 * grace) with no address waits; a clock skewed either way only shortens the wait.
 */
export function holdForAddressMs(
  ing: {
    metadata?: { creationTimestamp?: Date | string };
    status?: { loadBalancer?: { ingress?: unknown[] } };
  },
  now: number,
): number {
  if ((ing.status?.loadBalancer?.ingress?.length ?? 0) > 0) return 0;
  const created = Date.parse(String(ing.metadata?.creationTimestamp ?? ''));
  if (Number.isNaN(created)) return 0;
  const age = now - created;
  return age >= 0 && age < addressGraceMs ? addressGraceMs - age : 0;
}
