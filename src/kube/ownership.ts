/**
 * Ownership: the one place that decides whether an object is certroute's ("managed by
 * certroute", by label), which object controls it (its controller owner reference), and how
 * the owner of an object certroute must not take over is named in conditions and Events.
 */

export const managedByLabel = 'app.kubernetes.io/managed-by';
export const managedBy = 'certroute';
/** The label selector that limits certroute's informers to the objects it manages. */
export const managedSelector = `${managedByLabel}=${managedBy}`;

/** The labels certroute puts on every object it writes. */
export function managedLabels(): Record<string, string> {
  return { [managedByLabel]: managedBy };
}

export interface OwnerRef {
  uid?: string;
  controller?: boolean;
  kind?: string;
  name?: string;
}

/** The part of an object that ownership reads: labels and owner references. */
export interface Owned {
  metadata?: { labels?: Record<string, string>; ownerReferences?: OwnerRef[] } | undefined;
}

/** Labelled as certroute's. Objects without the label are someone else's and left alone. */
export function isManaged(o: Owned): boolean {
  return o.metadata?.labels?.[managedByLabel] === managedBy;
}

/** The owner reference marked controller, if any. */
export function controllerOf<R extends OwnerRef>(o: {
  metadata?: { ownerReferences?: R[] } | undefined;
}): R | undefined {
  return o.metadata?.ownerReferences?.find((r) => r.controller);
}

/** Controlled by the object with this uid. */
export function controlledBy(o: Owned, uid: string | undefined): boolean {
  return uid !== undefined && controllerOf(o)?.uid === uid;
}

/** Both objects have the same controller (or neither has one). */
export function sameController(a: Owned, b: Owned): boolean {
  return controllerOf(a)?.uid === controllerOf(b)?.uid;
}

/** Derived by the Ingress shim: controlled by an Ingress. */
export function ownedByIngress(o: Owned): boolean {
  return controllerOf(o)?.kind === 'Ingress';
}

/** Who holds an object certroute will not take over, for conditions and Events. */
export function describeOwner(o: Owned): string {
  const owner = controllerOf(o);
  return owner ? `${owner.kind}/${owner.name}` : 'nobody (created by hand)';
}
