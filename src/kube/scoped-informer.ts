import type * as k8s from '@kubernetes/client-node';
import type { Handler, ResilientInformer } from './informer.js';

/** What controllers read from a cache: one ResilientInformer, or one per watched namespace. */
export interface Informer<T extends k8s.KubernetesObject> {
  on(handler: Handler<T>): void;
  readonly synced: boolean;
  /** Lists, then watches; resolves once every first list is in the cache. */
  start(): Promise<void>;
  stop(): Promise<void>;
  get(name: string, namespace?: string): T | undefined;
  list(namespace?: string): T[];
}

/**
 * One cache over several namespaces, made of one informer per namespace: every list and watch
 * is namespaced, so the operator needs (and uses) no cluster-wide read on the resource. Used
 * with --watch-namespaces, where the chart grants Roles in those namespaces only.
 */
export class NamespacedInformers<T extends k8s.KubernetesObject> implements Informer<T> {
  private readonly parts = new Map<string, ResilientInformer<T>>();

  constructor(namespaces: readonly string[], make: (namespace: string) => ResilientInformer<T>) {
    for (const ns of namespaces) if (!this.parts.has(ns)) this.parts.set(ns, make(ns));
  }

  /** The namespaces it watches, one informer each. */
  get namespaces(): string[] {
    return [...this.parts.keys()];
  }

  on(handler: Handler<T>): void {
    for (const p of this.parts.values()) p.on(handler);
  }

  get synced(): boolean {
    return [...this.parts.values()].every((p) => p.synced);
  }

  async start(): Promise<void> {
    await Promise.all([...this.parts.values()].map((p) => p.start()));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.parts.values()].map((p) => p.stop()));
  }

  get(name: string, namespace?: string): T | undefined {
    if (namespace !== undefined) return this.parts.get(namespace)?.get(name, namespace);
    for (const p of this.parts.values()) {
      const o = p.get(name);
      if (o) return o;
    }
    return undefined;
  }

  list(namespace?: string): T[] {
    if (namespace !== undefined) return this.parts.get(namespace)?.list(namespace) ?? [];
    return [...this.parts.values()].flatMap((p) => p.list());
  }
}

/**
 * The cache for a namespaced resource under --watch-namespaces: cluster-wide when `namespaces`
 * is empty (make(undefined)), else one informer per namespace (make(ns)) and nothing outside.
 */
export function scopedInformer<T extends k8s.KubernetesObject>(
  namespaces: readonly string[],
  make: (namespace: string | undefined) => ResilientInformer<T>,
): Informer<T> {
  return namespaces.length === 0 ? make(undefined) : new NamespacedInformers(namespaces, make);
}
