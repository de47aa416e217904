import * as k8s from '@kubernetes/client-node';
import { describeError } from '../errors.js';
import { isConflict, isNotFound } from '../kube/crd-client.js';
import type { Logger } from '../observability/logger.js';
import type { BlockedDeletions } from './guards.js';

/** The ConfigMap, in the operator's namespace, that lists blocked deletions per zone. */
export const deletionsConfigMap = 'certroute-deletions';
/** Its annotation a human sets to approve blocked sets: one token, or several comma-separated. */
export const approveAnnotation = 'certroute.io/approve-deletions';

/** The approval command for a blocked set, as logged, written and put in the Event. */
export function approveCommand(namespace: string, token: string): string {
  return `kubectl -n ${namespace} annotate --overwrite configmap ${deletionsConfigMap} ${approveAnnotation}=${token}`;
}

/** The entry of one zone in the ConfigMap: a short YAML document a human reads. */
export function describeBlocked(namespace: string, b: BlockedDeletions, max: number): string {
  return k8s.dumpYaml({
    count: b.count,
    maxDeletionsPerZone: max,
    token: b.token,
    approve: approveCommand(namespace, b.token),
    sample: b.sample,
  });
}

/** The tokens an approval annotation holds. */
export function parseApprovals(value: string | undefined): Set<string> {
  return new Set(
    (value ?? '')
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t.length > 0),
  );
}

/**
 * The ConfigMap `certroute-deletions`: read for approvals only when a zone's deletions are
 * blocked; written when a zone's blocked set appears, changes or goes. Data keys are zone
 * names. Never throws on a failed write: the block itself does not depend on it.
 */
export class DeletionApprovals {
  private client: k8s.CoreV1Api | undefined;
  /** Per zone name: the token last written, undefined for no entry (not written again). */
  private readonly written = new Map<string, string | undefined>();
  /** The ConfigMap as this process first read it (null: the read failed). */
  private firstRead: Promise<k8s.V1ConfigMap | undefined | null> | undefined;

  constructor(
    private readonly kubeConfig: k8s.KubeConfig,
    private readonly namespace: string,
    private readonly log: Logger,
  ) {}

  /** Made on first use: most operators never block a deletion. */
  private get api(): k8s.CoreV1Api {
    this.client ??= this.kubeConfig.makeApiClient(k8s.CoreV1Api);
    return this.client;
  }

  /** The tokens approved now; none when the ConfigMap does not exist. */
  async approved(): Promise<Set<string>> {
    const cm = await this.read();
    return parseApprovals(cm?.metadata?.annotations?.[approveAnnotation]);
  }

  /**
   * Whether a zone's entry is known to be as given (`undefined`: no entry). A zone this process
   * has not written yet is unknown: an earlier process may have left an entry behind.
   */
  isWritten(zone: string, token: string | undefined): boolean {
    return this.written.has(zone) && this.written.get(zone) === token;
  }

  /**
   * Writes (or, with no `entry`, removes) a zone's entry. `consumed` tokens, whose sets were
   * deleted, are taken out of the approval annotation, so an approval is used once. The
   * ConfigMap is never created just to say that nothing is blocked.
   */
  async report(
    zone: string,
    entry: { token: string; text: string } | undefined,
    consumed?: string,
  ): Promise<void> {
    if (this.isWritten(zone, entry?.token) && !consumed) return;
    // A zone's first "nothing blocked" in this process: one read of the ConfigMap for all
    // zones says whether an earlier process left an entry to clear (none, mostly).
    if (!entry && !consumed && !this.written.has(zone)) {
      this.firstRead ??= this.read().catch(() => null);
      const first = await this.firstRead;
      if (first !== null && first?.data?.[zone] === undefined) {
        this.written.set(zone, undefined);
        return;
      }
    }
    try {
      await this.update((cm) => {
        const data = { ...(cm?.data ?? {}) };
        const annotations = { ...(cm?.metadata?.annotations ?? {}) };
        const approvals = parseApprovals(annotations[approveAnnotation]);
        const unchanged =
          (entry ? data[zone] === entry.text : data[zone] === undefined) &&
          (!consumed || !approvals.has(consumed));
        if (unchanged) return undefined;
        if (entry) data[zone] = entry.text;
        else delete data[zone];
        if (consumed) {
          approvals.delete(consumed);
          if (approvals.size > 0) annotations[approveAnnotation] = [...approvals].join(',');
          else delete annotations[approveAnnotation];
        }
        return {
          ...cm,
          metadata: {
            ...cm?.metadata,
            name: deletionsConfigMap,
            namespace: this.namespace,
            annotations,
          },
          data,
        };
      });
    } catch (err) {
      this.log.warn(
        { zone, configMap: `${this.namespace}/${deletionsConfigMap}`, err: describeError(err) },
        entry
          ? 'could not write the blocked deletions ConfigMap; the deletions stay blocked (the log line, the metric and the Event still say so)'
          : 'could not clear this zone from the blocked deletions ConfigMap',
      );
    }
    // Also after a failure: tried once per state, not on every sync (a missing permission
    // would otherwise log on every sync of every zone).
    this.written.set(zone, entry?.token);
  }

  /** The ConfigMap as it is now, or undefined when it does not exist. */
  async read(): Promise<k8s.V1ConfigMap | undefined> {
    try {
      return await this.api.readNamespacedConfigMap({
        name: deletionsConfigMap,
        namespace: this.namespace,
      });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Read, change, write (create if missing); `change` returning undefined writes nothing. */
  private async update(
    change: (cm: k8s.V1ConfigMap | undefined) => k8s.V1ConfigMap | undefined,
  ): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const cm = await this.read();
      const body = change(cm);
      if (!body) return;
      try {
        if (!cm) await this.api.createNamespacedConfigMap({ namespace: this.namespace, body });
        else
          await this.api.replaceNamespacedConfigMap({
            name: deletionsConfigMap,
            namespace: this.namespace,
            body,
          });
        return;
      } catch (err) {
        if (attempt < 3 && isConflict(err)) continue;
        throw err;
      }
    }
  }
}
