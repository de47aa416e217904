import type { CrdClient, Plural } from '../kube/crd-client.js';
import { isConflict } from '../kube/crd-client.js';
import { controlledBy, describeOwner } from '../kube/ownership.js';
import type { Child } from './children.js';

/**
 * Creates a source's child (a Certificate or a DNSEndpoint), for every source kind. Returns
 * undefined when the child is in place, or the description of the object that holds its name
 * (made by hand or by another tool): that one is never taken over.
 *
 * No read of the source first: a child created for a source deleted a moment ago names its
 * uid as controller, and the garbage collector removes it (ADR 0027).
 */
export async function createChild<T extends Child>(
  crds: CrdClient,
  plural: Plural,
  o: T,
  uid: string,
): Promise<string | undefined> {
  try {
    await crds.create(plural, o);
    return undefined;
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
  // Our caches hold only labelled objects, so the name is held by one we have not seen.
  const other = await crds.get<Child>(plural, o.metadata.namespace ?? '', o.metadata.name ?? '');
  if (!controlledBy(other, uid)) return describeOwner(other);
  // Ours, but outside the cache (its managed-by label was removed): restore it in place. Its
  // finalizers (the ACM cleanup) stay; labels, annotations and owner are ours again.
  await crds.replace(plural, {
    ...o,
    metadata: { ...other.metadata, ...o.metadata, resourceVersion: other.metadata.resourceVersion },
  });
  return undefined;
}

/**
 * Replaces a child's spec (and annotations). Status writes by the other controllers bump its
 * resourceVersion, so a conflict is expected: read it again and retry once before failing the
 * reconcile.
 */
export async function replaceChild<T extends Child>(
  crds: CrdClient,
  plural: Plural,
  o: T,
): Promise<void> {
  try {
    await crds.replace(plural, o);
  } catch (err) {
    if (!isConflict(err)) throw err;
    const fresh = await crds.get<T>(plural, o.metadata.namespace ?? '', o.metadata.name ?? '');
    await crds.replace(plural, {
      ...fresh,
      spec: o.spec,
      metadata: { ...fresh.metadata, annotations: o.metadata.annotations },
    });
  }
}
