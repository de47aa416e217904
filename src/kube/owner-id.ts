import * as k8s from '@kubernetes/client-node';
import type { Config } from '../config/index.js';
import { describeError } from '../errors.js';
import type { Logger } from '../observability/logger.js';

/** The owner id derived from a cluster's kube-system namespace UID: `cluster-<uid>`. */
export function derivedOwnerId(kubeSystemUid: string): string {
  const id = `cluster-${kubeSystemUid.toLowerCase()}`;
  if (!/^[A-Za-z0-9._-]{1,63}$/.test(id))
    throw new Error(`the kube-system namespace UID "${kubeSystemUid}" makes no valid owner id`);
  return id;
}

/**
 * The configuration with its owner id settled. Given (`--owner-id`), it is used as it is; the
 * old shared default `default` gets a warning. Empty, it is derived from the `kube-system`
 * namespace's UID, which is stable for the life of a cluster and differs between clusters, so
 * two clusters on one zone never share an id by accident. Which one is used is logged.
 */
export async function resolveOwnerId(
  config: Config,
  kubeConfig: k8s.KubeConfig,
  log: Logger,
): Promise<Config> {
  if (config.ownerId) {
    if (config.ownerId === 'default')
      log.warn(
        { ownerId: config.ownerId },
        'owner id "default" was the old shared default: two clusters that both use it on one zone take each other\'s records. Keep it only to upgrade an install whose records say owner=default (docs/helm.md, upgrade notes)',
      );
    else log.info({ ownerId: config.ownerId, source: '--owner-id' }, 'owner id');
    return config;
  }
  let uid: string | undefined;
  try {
    const ns = await kubeConfig.makeApiClient(k8s.CoreV1Api).readNamespace({ name: 'kube-system' });
    uid = ns.metadata?.uid;
  } catch (err) {
    throw new Error(
      `cannot derive --owner-id from the kube-system namespace's UID (${describeError(err)}): set --owner-id, or grant get on namespaces/kube-system (the chart does)`,
      { cause: err },
    );
  }
  if (!uid) throw new Error('cannot derive --owner-id: the kube-system namespace has no UID');
  const ownerId = derivedOwnerId(uid);
  log.info({ ownerId, source: 'kube-system namespace UID' }, 'owner id');
  return Object.freeze({ ...config, ownerId });
}
