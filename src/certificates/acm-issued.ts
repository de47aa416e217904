import { apiVersion, type DNSEndpoint, type Endpoint } from '../api/v1alpha1.js';
import { describeError, reportFailure, type FailureReason } from '../errors.js';
import type { ControllerDeps } from '../kube/controller-deps.js';
import { isNotFound } from '../kube/crd-client.js';
import { controlledBy, describeOwner, managedLabels } from '../kube/ownership.js';
import type { ReconcileResult } from '../kube/queue.js';
import type { Informer } from '../kube/scoped-informer.js';
import type { Logger } from '../observability/logger.js';
import {
  backoffMs,
  idempotencyToken,
  issuedStep,
  validationEndpoints,
  validityOf,
} from './acm-issued-plan.js';
import type { CertificateReporter } from './status.js';
import { AcmError, type Acm, type IssuedView } from './stores/acm-client.js';
import type { AcmStore } from './stores/acm.js';
import { keyOf, type Cert } from './types.js';

/** Both ACM targets' finalizer: the ACM certificate is cleaned up before the Certificate goes. */
export const acmFinalizer = 'certroute.io/acm-certificate';

export interface AcmIssuedDeps extends ControllerDeps {
  acm: Acm;
  certificates: Informer<Cert>;
}

export interface AcmIssuedOptions {
  /** First poll delay while ACM validates (doubles up to 5 minutes). */
  pollMs: number;
  /** First retry delay while ACM refuses to delete a certificate in use (doubles up to 10 min). */
  acmInUseRetryMs: number;
}

/** The DNSEndpoint that holds a Certificate's validation CNAMEs. */
export function validationEndpointName(cert: Cert): string {
  return `${cert.metadata?.name ?? ''}-acm-validation`;
}

/**
 * ACM-issued certificates (spec.acm.issued, ADR 0033): no ACME order. certroute requests the
 * certificate (RequestCertificate, DNS validation, tagged as its own, the ARN in status at
 * once), publishes ACM's validation CNAMEs through a DNSEndpoint the Certificate controls (so
 * the DNS controller writes them with TXT ownership like any record), waits for ISSUED, and
 * writes the ARN into the Ingress's ALB annotation (the ACM target's code). ACM renews in
 * place; each resync reads its status back. On deletion, only a certificate tagged with this
 * owner id is deleted from ACM.
 */
export class AcmIssuedFlow {
  private readonly log: Logger;
  /** Polls (or in-use retries) so far per Certificate key: the backoff's exponent. */
  private readonly attempts = new Map<string, number>();
  /** The validation spec last written per Certificate key: no API read when unchanged. */
  private readonly published = new Map<string, string>();

  constructor(
    private readonly d: AcmIssuedDeps,
    private readonly reporter: CertificateReporter,
    private readonly store: AcmStore,
    private readonly opts: AcmIssuedOptions,
  ) {
    this.log = d.log.child({ controller: 'certificates', flow: 'acm-issued' });
  }

  /**
   * The reconcile of a key, if it is an ACM-issued Certificate's (undefined otherwise: the
   * ACME path takes it). The controller's queue asks here first.
   */
  reconcileKey(key: string): Promise<ReconcileResult | void> | undefined {
    const [namespace = '', name = ''] = key.split('/');
    const cert = this.d.certificates.get(name, namespace);
    if (!cert?.spec.acm?.issued) return undefined;
    const w = this.d.config.watchNamespaces;
    if (!this.d.isLeader() || (w.length > 0 && !w.includes(namespace))) return Promise.resolve();
    return this.reconcile(cert);
  }

  async reconcile(cert: Cert): Promise<ReconcileResult | void> {
    if (cert.metadata?.deletionTimestamp) return this.finalize(cert);
    if (this.d.config.dryRun) return;
    const region = cert.spec.acm?.region ?? '';
    const s = cert.status?.acm;
    const { step, view } = await this.look(cert, region);
    switch (step.kind) {
      case 'request':
        return this.request(cert, region, step.why);
      case 'gone':
        this.log.warn({ arn: s?.certificateArn }, 'ACM certificate gone; requesting anew');
        await this.reporter.write(cert, { acm: null }, []);
        return { requeueAfterMs: this.opts.pollMs };
      case 'pending':
        await this.publish(cert, view);
        await this.reporter.write(cert, { acm: this.acmStatus(cert, view) }, step.conditions);
        return { requeueAfterMs: this.nextPoll(cert) };
      case 'failed':
        await this.fail(cert, step.reason, step.message, step.conditions, view);
        return { requeueAfterMs: this.d.config.resyncInterval };
      case 'issued':
        return this.issued(cert, region, view, step.conditions, step.renewalFailed);
    }
  }

  /** ACM's view of the certificate in status, and what it means. */
  private async look(cert: Cert, region: string) {
    const s = cert.status?.acm;
    const arn = s?.certificateArn;
    const view = arn ? await this.d.acm.describe(region, arn) : undefined;
    const names = cert.spec.dnsNames;
    const step = issuedStep({ arn, requestedNames: s?.requestedNames, dnsNames: names, view });
    return { step, view };
  }

  /** RequestCertificate, then the ARN in status before anything else happens. */
  private async request(cert: Cert, region: string, why: string): Promise<ReconcileResult> {
    const key = keyOf(cert);
    const { uid = '' } = cert.metadata ?? {};
    // Before anything lands in ACM, make sure deletion will find it.
    await this.setFinalizer(cert, true);
    const names = cert.spec.dnsNames;
    let arn: string;
    try {
      arn = await this.d.acm.request(region, names, idempotencyToken(uid, names), key);
    } catch (err) {
      if (!(err instanceof AcmError)) throw err;
      const c = (type: string) => ({
        type,
        status: 'False' as const,
        reason: 'ACMRequestFailed',
        message: err.message,
      });
      await this.fail(cert, 'ACMRequestFailed', err.message, [c('Ready'), c('Issuing')], undefined);
      return { requeueAfterMs: this.nextPoll(cert, this.opts.pollMs * 60) };
    }
    const previousArn = await this.replacing(cert, region, arn);
    this.log.info(
      { namespace: cert.metadata?.namespace, name: cert.metadata?.name, arn, why },
      'ACM certificate requested',
    );
    await this.reporter.write(
      cert,
      {
        acm: {
          certificateArn: arn,
          requestedNames: [...names],
          certificateStatus: 'PENDING_VALIDATION',
          ...(previousArn ? { previousArn } : {}),
        },
      },
      [
        {
          type: 'Issuing',
          status: 'True',
          reason: 'ACMRequested',
          message: `requested ${arn} from ACM (${why})`,
        },
      ],
    );
    await this.reporter.event(cert, 'Normal', 'ACMRequested', `requested ${arn} from ACM: ${why}`);
    this.attempts.delete(key);
    return { requeueAfterMs: this.opts.pollMs };
  }

  /**
   * The ARN a new request replaces (names changed): the serving certificate stays until the
   * new one is issued; an older replacement never issued (never on the Ingress) goes at once.
   */
  private async replacing(cert: Cert, region: string, arn: string): Promise<string | undefined> {
    const s = cert.status?.acm;
    if (!s) return undefined;
    if (s.previousArn && s.certificateArn && s.certificateArn !== arn)
      await this.d.acm.remove(region, s.certificateArn).catch(() => undefined);
    const previous = s.previousArn ?? s.certificateArn;
    return previous === arn ? undefined : previous;
  }

  /** ISSUED: the records stay (ACM renews with them), the Ingress names the ARN. */
  private async issued(
    cert: Cert,
    region: string,
    view: IssuedView | undefined,
    conditions: Parameters<CertificateReporter['write']>[2],
    renewalFailed: string | undefined,
  ): Promise<ReconcileResult> {
    const s = cert.status?.acm;
    const arn = s?.certificateArn ?? '';
    await this.publish(cert, view);
    await this.store.annotateIngress(cert, arn, s?.previousArn);
    const previousArn = s?.previousArn ? await this.dropPrevious(region, s.previousArn) : undefined;
    const fields = {
      ...(view ? validityOf(view) : {}),
      acm: { ...this.acmStatus(cert, view), previousArn: previousArn ?? null },
    };
    const wasReady = cert.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    await this.reporter.write(cert, fields, conditions);
    if (!wasReady)
      await this.reporter.event(cert, 'Normal', 'Issued', `ACM issued ${arn}; on the Ingress`);
    if (renewalFailed) await this.renewalFailed(cert, arn, renewalFailed);
    this.attempts.delete(keyOf(cert));
    if (previousArn) return { requeueAfterMs: this.nextPoll(cert, this.opts.acmInUseRetryMs) };
    return { requeueAfterMs: this.d.config.resyncInterval };
  }

  /** The replaced certificate, deleted if ours; its ARN while ACM says it is still in use. */
  private async dropPrevious(region: string, arn: string): Promise<string | undefined> {
    const result = await this.d.acm.remove(region, arn);
    this.log.info({ arn, result }, 'replaced ACM certificate removed');
    return result === 'in-use' ? arn : undefined;
  }

  private async renewalFailed(cert: Cert, arn: string, message: string): Promise<void> {
    const reason = 'ACMRenewalFailed';
    reportFailure(this.log, this.d.metrics.failures, 'certificates', reason, message, { arn });
    await this.reporter.event(cert, 'Warning', reason, message);
  }

  private async fail(
    cert: Cert,
    reason: FailureReason,
    message: string,
    conditions: Parameters<CertificateReporter['write']>[2],
    view: IssuedView | undefined,
  ): Promise<void> {
    const before = cert.status?.conditions?.find((c) => c.type === 'Ready');
    const key = { namespace: cert.metadata?.namespace, name: cert.metadata?.name };
    reportFailure(this.log, this.d.metrics.failures, 'certificates', reason, message, key);
    const fields = view && cert.status?.acm ? { acm: this.acmStatus(cert, view) } : {};
    await this.reporter.write(cert, fields, conditions);
    // One Event per new verdict, not one per resync.
    if (before?.reason !== reason || before.message !== message)
      await this.reporter.event(cert, 'Warning', reason, message);
  }

  private acmStatus(cert: Cert, view: IssuedView | undefined) {
    const s = cert.status?.acm;
    return {
      certificateArn: s?.certificateArn ?? '',
      ...(s?.requestedNames ? { requestedNames: s.requestedNames } : {}),
      ...(view ? { certificateStatus: view.status } : {}),
      ...(view?.renewalStatus ? { renewalStatus: view.renewalStatus } : {}),
      ...(s?.previousArn ? { previousArn: s.previousArn } : {}),
    };
  }

  private nextPoll(cert: Cert, baseMs = this.opts.pollMs, capMs?: number): number {
    const key = keyOf(cert);
    const n = this.attempts.get(key) ?? 0;
    this.attempts.set(key, n + 1);
    return backoffMs(baseMs, n, capMs);
  }

  /**
   * The validation CNAMEs as a DNSEndpoint the Certificate controls: the DNS controller
   * publishes them with TXT ownership, and the garbage collector removes the DNSEndpoint (and
   * so the records) when the Certificate goes.
   */
  private async publish(cert: Cert, view: IssuedView | undefined): Promise<void> {
    const endpoints: Endpoint[] = validationEndpoints(view?.validation ?? []);
    if (endpoints.length === 0) return;
    const { namespace = '', uid = '', name: certName = '' } = cert.metadata ?? {};
    const name = validationEndpointName(cert);
    const spec = { endpoints };
    const key = `${keyOf(cert)}/${uid}`;
    if (this.published.get(key) === JSON.stringify(spec)) return;
    const desired: DNSEndpoint = {
      apiVersion,
      kind: 'DNSEndpoint',
      metadata: {
        name,
        namespace,
        labels: managedLabels(),
        ownerReferences: [
          { apiVersion, kind: 'Certificate', name: certName, uid, controller: true },
        ],
      },
      spec,
    };
    let existing: DNSEndpoint | undefined;
    try {
      existing = await this.d.crds.get<DNSEndpoint>('dnsendpoints', namespace, name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    if (!existing) await this.d.crds.create('dnsendpoints', desired);
    else if (!controlledBy(existing, uid)) {
      const message = `DNSEndpoint ${name} already exists and is controlled by ${describeOwner(existing)}; the ACM validation records cannot be published`;
      reportFailure(
        this.log,
        this.d.metrics.failures,
        'certificates',
        'DNSEndpointConflict',
        message,
        { namespace, name: certName },
      );
      await this.reporter.event(cert, 'Warning', 'DNSEndpointConflict', message);
      return;
    } else if (JSON.stringify(existing.spec) !== JSON.stringify(spec))
      await this.d.crds.replace('dnsendpoints', { ...existing, spec });
    this.published.set(key, JSON.stringify(spec));
  }

  /**
   * Deletion: the ARN leaves the Ingress annotation, then ACM deletes the certificate if its
   * owner tag is this owner id (AcmStore.release); in use → retried with backoff, said in
   * Ready and an Event. The validation DNSEndpoint goes with the Certificate (garbage collector).
   */
  private async finalize(cert: Cert): Promise<ReconcileResult | void> {
    if (!cert.metadata?.finalizers?.includes(acmFinalizer)) return;
    if (this.d.config.dryRun) return;
    const s = cert.status?.acm;
    for (const arn of [s?.previousArn, s?.certificateArn]) {
      if (!arn) continue;
      const result = await this.store.release(cert, arn);
      if (result === 'in-use') {
        const reason = 'ACMCertificateInUse';
        const message = `ACM certificate ${arn} is still in use (a load balancer listener?); deletion is retried`;
        reportFailure(this.log, this.d.metrics.failures, 'certificates', reason, message, { arn });
        await this.reporter.notReady(cert, reason, message);
        await this.reporter.event(cert, 'Warning', reason, message);
        return { requeueAfterMs: this.nextPoll(cert, this.opts.acmInUseRetryMs, 10 * 60_000) };
      }
      this.log.info({ arn, result }, 'ACM-issued certificate removed with its Certificate');
    }
    await this.setFinalizer(cert, false);
    this.attempts.delete(keyOf(cert));
    this.published.delete(`${keyOf(cert)}/${cert.metadata.uid ?? ''}`);
  }

  /** Adds or removes the ACM finalizer (read, then replace: conflicts retry the reconcile). */
  private async setFinalizer(cert: Cert, on: boolean): Promise<void> {
    const has = cert.metadata?.finalizers?.includes(acmFinalizer) ?? false;
    if (has === on) return;
    const { namespace = '', name = '' } = cert.metadata ?? {};
    try {
      const fresh = await this.d.crds.get<Cert>('certificates', namespace, name);
      const list = (fresh.metadata?.finalizers ?? []).filter((f) => f !== acmFinalizer);
      fresh.metadata = { ...fresh.metadata, finalizers: on ? [...list, acmFinalizer] : list };
      const stored = await this.d.crds.replace('certificates', fresh);
      cert.metadata = stored.metadata;
    } catch (err) {
      if (!on && isNotFound(err)) return;
      this.log.warn({ err: describeError(err), on }, 'ACM finalizer not changed');
      throw err;
    }
  }
}
