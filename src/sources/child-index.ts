import type * as k8s from '@kubernetes/client-node';
import type { InformerEvent } from '../kube/informer.js';
import { controllerOf } from '../kube/ownership.js';
import type { Informer } from '../kube/scoped-informer.js';
import type { Child } from './children.js';

/**
 * The children an informer holds, indexed by their controller's uid, so a source's reconcile
 * looks at its own children (and the names it wants) instead of every child in the namespace:
 * with thousands of Ingresses in one namespace, a scan per reconcile made a burst quadratic.
 */
export class ChildIndex<T extends Child & k8s.KubernetesObject> {
  /** Controller uid → namespace/name of each child it controls. */
  private readonly byOwner = new Map<string, Set<string>>();
  /** namespace/name → the controller uid it was indexed under. */
  private readonly ownerOf = new Map<string, string>();

  constructor(private readonly informer: Informer<T>) {
    informer.on((ev, o) => this.observe(ev, o));
  }

  /**
   * What planChildren needs for one owner: every child it controls, and the objects (anyone's)
   * holding the names it wants, each once.
   */
  relevant(namespace: string, ownerUid: string, wantedNames: readonly string[]): T[] {
    const out = new Map<string, T>();
    for (const key of this.byOwner.get(ownerUid) ?? []) {
      const o = this.informer.get(key.slice(key.indexOf('/') + 1), namespace);
      if (o) out.set(key, o);
    }
    for (const name of wantedNames) {
      const key = `${namespace}/${name}`;
      if (out.has(key)) continue;
      const o = this.informer.get(name, namespace);
      if (o) out.set(key, o);
    }
    return [...out.values()];
  }

  private observe(ev: InformerEvent, o: T): void {
    const key = `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
    const before = this.ownerOf.get(key);
    const owner = ev === 'delete' ? undefined : controllerOf(o)?.uid;
    if (before === owner) return;
    if (before !== undefined) {
      const set = this.byOwner.get(before);
      set?.delete(key);
      if (set?.size === 0) this.byOwner.delete(before);
      this.ownerOf.delete(key);
    }
    if (owner !== undefined) {
      let set = this.byOwner.get(owner);
      if (!set) this.byOwner.set(owner, (set = new Set()));
      set.add(key);
      this.ownerOf.set(key, owner);
    }
  }
}
