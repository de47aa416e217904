import type * as k8s from '@kubernetes/client-node';
import type { Condition } from '../api/v1alpha1.js';
import { sameStatus } from '../kube/canonical.js';
import { setCondition } from '../kube/conditions.js';
import type { CrdClient } from '../kube/crd-client.js';
import type { EventRecorder, EventType } from '../kube/events.js';
import { controllerOf } from '../kube/ownership.js';
import type { Metrics } from '../observability/metrics.js';
import { keyOf, type Cert, type Problem, type Status } from './types.js';

export interface ReporterDeps {
  crds: CrdClient;
  metrics: Metrics;
  events: EventRecorder;
  ingress: (namespace: string, name: string) => k8s.V1Ingress | undefined;
}

type SeriesLabels = { namespace: string; name: string; issuer: string };

/**
 * What a Certificate says about itself: its status (written only when something anyone reads
 * changed), its metric series, and its Events, on the Certificate and on the Ingress it came
 * from.
 */
export class CertificateReporter {
  /** Metric labels last exported per Certificate key. */
  private readonly exported = new Map<string, SeriesLabels>();

  constructor(private readonly d: ReporterDeps) {}

  async write(
    cert: Cert,
    fields: Record<string, unknown>,
    conditions: Omit<Condition, 'lastTransitionTime'>[],
  ): Promise<void> {
    const gen = cert.metadata?.generation;
    let conds = cert.status?.conditions;
    for (const c of conditions) conds = setCondition(conds, { ...c, observedGeneration: gen });
    const patch: Record<string, unknown> = { ...fields, observedGeneration: gen };
    if (conditions.length > 0) patch.conditions = conds;
    const merged = { ...(cert.status ?? {}), ...patch };
    for (const [k, v] of Object.entries(merged))
      if (v === null) delete merged[k as keyof typeof merged];
    this.exportSeries(cert, merged);
    if (sameStatus(merged, cert.status ?? {})) return;
    await this.d.crds.patchStatus(
      'certificates',
      cert.metadata?.namespace,
      cert.metadata?.name ?? '',
      patch,
    );
    // Later steps of this reconcile build on what was just written.
    cert.status = merged;
  }

  /** Ready=False with a reason, and nothing else. */
  async notReady(cert: Cert, reason: string, message: string): Promise<void> {
    await this.write(cert, {}, [{ type: 'Ready', status: 'False', reason, message }]);
  }

  /** The Ingress that controls the Certificate, from the cache. */
  ownerIngress(cert: Cert): k8s.V1Ingress | undefined {
    const ref = controllerOf(cert);
    return ref?.kind === 'Ingress'
      ? this.d.ingress(cert.metadata?.namespace ?? '', ref.name)
      : undefined;
  }

  /** Events on the Certificate and on the object it came from (an Ingress, a Gateway). */
  async event(cert: Cert, type: EventType, reason: string, message: string): Promise<void> {
    await this.d.events.record(
      { apiVersion: 'certroute.io/v1alpha1', kind: 'Certificate', metadata: cert.metadata },
      type,
      reason,
      message,
    );
    const source = this.sourceOf(cert);
    if (source)
      await this.d.events.record(
        source,
        type,
        reason,
        `Certificate ${cert.metadata?.name}: ${message}`,
      );
  }

  /**
   * The object the Certificate came from, as an Event target: its Ingress (from the cache), or
   * the Gateway (or any other source) named by its controller reference.
   */
  private sourceOf(cert: Cert) {
    const ing = this.ownerIngress(cert);
    if (ing) return { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: ing.metadata };
    const ref = controllerOf(cert);
    if (!ref || ref.kind === 'Ingress') return undefined;
    return {
      apiVersion: ref.apiVersion,
      kind: ref.kind,
      metadata: { name: ref.name, namespace: cert.metadata?.namespace ?? '', uid: ref.uid },
    };
  }

  /**
   * What the stores could not do in full (issue 25: a keystore without its password): the
   * Keystore condition and a Warning Event name it; the certificate itself is stored. With a
   * keystore asked for and no warning, Keystore is True.
   */
  async storeWarnings(cert: Cert, warnings: readonly Problem[]): Promise<void> {
    const [w] = warnings;
    if (w) {
      await this.write(cert, {}, [{ type: 'Keystore', status: 'False', ...w }]);
      await this.event(cert, 'Warning', w.reason, w.message);
    } else if (cert.spec.keystores?.pkcs12?.create)
      await this.write(cert, {}, [
        { type: 'Keystore', status: 'True', reason: 'Written', message: 'keystore.p12 written' },
      ]);
  }

  /** A deleted Certificate leaves no series behind. */
  forget(key: string, cert: Cert): void {
    this.removeSeries(labelsOf(cert));
    this.exported.delete(key);
  }

  private exportSeries(cert: Cert, s: Status): void {
    const labels = labelsOf(cert);
    // A changed issuerRef must not leave the old series behind (a stale ready=0 alerts).
    const prior = this.exported.get(keyOf(cert));
    if (prior && prior.issuer !== labels.issuer) this.removeSeries(prior);
    this.exported.set(keyOf(cert), labels);
    const ready = s.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    this.d.metrics.certReady.set(labels, ready ? 1 : 0);
    this.d.metrics.certFailures.set(labels, s.failedAttempts ?? 0);
    if (s.notAfter) this.d.metrics.certExpiry.set(labels, Date.parse(s.notAfter) / 1000);
    if (s.renewalTime) this.d.metrics.certRenewal.set(labels, Date.parse(s.renewalTime) / 1000);
  }

  private removeSeries(labels: SeriesLabels): void {
    for (const g of [
      this.d.metrics.certReady,
      this.d.metrics.certFailures,
      this.d.metrics.certExpiry,
      this.d.metrics.certRenewal,
    ])
      g.remove(labels);
  }
}

function labelsOf(cert: Cert): SeriesLabels {
  return {
    namespace: cert.metadata?.namespace ?? '',
    name: cert.metadata?.name ?? '',
    issuer: cert.spec.issuerRef.name,
  };
}
