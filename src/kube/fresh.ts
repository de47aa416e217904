import type { KubernetesObject } from '@kubernetes/client-node';

/**
 * What this process last wrote, until its informer catches up. A reconcile that follows its
 * own write by milliseconds must not act on the informer's older copy (it would, say, resume
 * an order it just finished or renew a certificate it just replaced). Kubernetes calls
 * resourceVersions opaque; the API server's are etcd revisions, and a version that does not
 * parse as a number simply defers to the informer.
 */
export class Fresh<T extends KubernetesObject> {
  private readonly written = new Map<string, T>();

  remember(key: string, obj: T): void {
    this.written.set(key, obj);
  }

  forget(key: string): void {
    this.written.delete(key);
  }

  /** The newer of the cached object and what this process wrote. */
  pick(key: string, cached: T | undefined): T | undefined {
    const mine = this.written.get(key);
    if (!mine) return cached;
    if (cached && !newer(mine, cached)) {
      this.written.delete(key);
      return cached;
    }
    return mine;
  }
}

export function newer(a: KubernetesObject, b: KubernetesObject): boolean {
  try {
    return BigInt(a.metadata?.resourceVersion ?? '') > BigInt(b.metadata?.resourceVersion ?? '');
  } catch {
    return false;
  }
}
