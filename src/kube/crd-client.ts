import * as k8s from '@kubernetes/client-node';
import { group, version } from '../api/v1alpha1.js';
import type { ListOptions } from './informer.js';

export type Plural =
  'certificates' | 'dnsendpoints' | 'clusterissuers' | 'issuers' | 'domainpolicies';

/** The cluster-scoped kinds: listed with the cluster call, status patched without a namespace. */
const clusterScoped = new Set<Plural>(['clusterissuers', 'domainpolicies']);

interface Obj {
  metadata?: { name?: string; namespace?: string };
}

const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

/**
 * Typed access to certroute's own resources through CustomObjectsApi. One place decides
 * paths and patch content types; callers deal in the zod-derived types.
 */
export class CrdClient {
  private readonly api: k8s.CustomObjectsApi;

  constructor(kubeConfig: k8s.KubeConfig) {
    this.api = kubeConfig.makeApiClient(k8s.CustomObjectsApi);
  }

  watchPath(plural: Plural, namespace?: string): string {
    return namespace
      ? `/apis/${group}/${version}/namespaces/${namespace}/${plural}`
      : `/apis/${group}/${version}/${plural}`;
  }

  /** A list; `options` as informers pass them (resource version, label selector). */
  async list<T extends k8s.KubernetesObject>(
    plural: Plural,
    namespace?: string,
    options: ListOptions = {},
  ): Promise<k8s.KubernetesListObject<T>> {
    const res: unknown = namespace
      ? await this.api.listNamespacedCustomObject({ group, version, plural, namespace, ...options })
      : clusterScoped.has(plural)
        ? await this.api.listClusterCustomObject({ group, version, plural, ...options })
        : await this.api.listCustomObjectForAllNamespaces({
            group,
            version,
            resourcePlural: plural,
            ...options,
          });
    return res as k8s.KubernetesListObject<T>;
  }

  async get<T>(plural: Plural, namespace: string, name: string): Promise<T> {
    return (await this.api.getNamespacedCustomObject({
      group,
      version,
      plural,
      namespace,
      name,
    })) as T;
  }

  async create<T extends Obj>(plural: Plural, obj: T): Promise<T> {
    const namespace = obj.metadata?.namespace ?? '';
    return (await this.api.createNamespacedCustomObject({
      group,
      version,
      plural,
      namespace,
      body: obj,
    })) as T;
  }

  /** Replaces the object; its metadata.resourceVersion makes this fail on a concurrent change. */
  async replace<T extends Obj>(plural: Plural, obj: T): Promise<T> {
    const { name = '', namespace = '' } = obj.metadata ?? {};
    return (await this.api.replaceNamespacedCustomObject({
      group,
      version,
      plural,
      namespace,
      name,
      body: obj,
    })) as T;
  }

  async delete(plural: Plural, namespace: string, name: string): Promise<void> {
    await this.api.deleteNamespacedCustomObject({ group, version, plural, namespace, name });
  }

  /** Merge-patches status; returns the object as stored (with its new resourceVersion). */
  async patchStatus<S, T = unknown>(
    plural: Plural,
    namespace: string | undefined,
    name: string,
    status: S,
  ): Promise<T> {
    const body = { status };
    if (namespace)
      return (await this.api.patchNamespacedCustomObjectStatus(
        { group, version, plural, namespace, name, body },
        mergePatch,
      )) as T;
    return (await this.api.patchClusterCustomObjectStatus(
      { group, version, plural, name, body },
      mergePatch,
    )) as T;
  }
}

export function isNotFound(err: unknown): boolean {
  return (err as { code?: number }).code === 404;
}

export function isConflict(err: unknown): boolean {
  return (err as { code?: number }).code === 409;
}
