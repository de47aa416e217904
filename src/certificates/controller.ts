import type * as k8s from '@kubernetes/client-node';
import { CronJob } from 'cron';
import { Challenges } from '../acme/challenges.js';
import { fetchRenewalInfo } from '../acme/client.js';
import { CaLimits } from '../acme/limits.js';
import type { AccountLookup, IssuerController } from '../acme/issuer.js';
import { issuerKeyOf, sameIssuer, type IssuerKey } from '../acme/issuer-ref.js';
import type { Dns01Solver } from '../acme/solvers/dns01.js';
import type { TokenServer } from '../acme/solvers/http01.js';
import { describeError, reportFailure } from '../errors.js';
import type { ControllerDeps } from '../kube/controller-deps.js';
import { Fresh } from '../kube/fresh.js';
import { controllerOf } from '../kube/ownership.js';
import type { Informer } from '../kube/scoped-informer.js';
import { WorkQueue, type ReconcileResult } from '../kube/queue.js';
import type { Logger } from '../observability/logger.js';
import type { Tenancy } from '../tenancy/controller.js';
import { OrderGates } from './gates.js';
import { Issuance, renewBefore } from './issuance.js';
import {
  idleStep,
  isCurrent,
  tokensOfOrder,
  upToDateConditions,
  validityFields,
} from './machine.js';
import { honourRequests, renewalRecorded } from './manual.js';
import { PendingKeys } from './pending-key.js';
import { renewalTime, type RenewalDecision } from './renewal.js';
import { CertificateReporter } from './status.js';
import type { CertificateStore } from './store.js';
import type { Acm } from './stores/acm-client.js';
import { AcmStore } from './stores/acm.js';
import { AcmIssuedFlow, acmFinalizer } from './acm-issued.js';
import { SecretStore, certificateNameAnnotation } from './stores/secret.js';
import { keyOf, writesSecret, type Cert, type Current, type Status } from './types.js';
import type { CertInfo } from './x509.js';
import { ingressAddresses, knownWindow, solverTarget } from './controller-helpers.js';
import { LocalIssuance } from './local-issuance.js';
import type { SignerLookup } from '../acme/issuer.js';

export { ingressAddresses } from './controller-helpers.js';
export type { Cert } from './types.js';

export interface CertificateOptions {
  /** First retry delay after a failed order (doubles up to 8 h). Default 1 minute. */
  retryBaseMs?: number;
  /** Re-ask the CA for ARI this often at most; default: the CA's Retry-After (min 1 min). */
  ariRecheckMs?: number;
  /** Poll interval while an order or a challenge is in progress. Default 500 ms. */
  pollMs?: number;
  /** Retry delay while ACM refuses to delete a certificate still in use. Default 1 minute. */
  acmInUseRetryMs?: number;
}

export interface CertificateDeps extends ControllerDeps {
  issuers: IssuerController;
  certificates: Informer<Cert>;
  ingress: (namespace: string, name: string) => k8s.V1Ingress | undefined;
  tokens: TokenServer;
  dns01: Dns01Solver;
  acm: Acm;
  /** The port and the addresses (every replica serving tokens) in solver EndpointSlices. */
  solverEndpoints: () => Promise<{ port: number; addresses: string[] }>;
  options?: CertificateOptions;
  /** DomainPolicies: asked before every new order. Absent: all allowed, no budget. */
  tenancy?: Tenancy;
}

/**
 * Certificate → an ACME order → a kubernetes.io/tls Secret and/or ACM, and renewal forever after.
 *
 * The thin loop: each reconcile reads the target (stores), decides with the pure state machine
 * (machine.ts) whether the certificate is fine or an order is due, and takes one step of the
 * order in flight (issuance.ts). Every step is resumable (certmagic's "lock, check again,
 * act"): the order, its authorizations and tokens are in status before anything is presented,
 * so a restart or a new leader resumes the same order. A reconcile never sleeps: waiting for
 * DNS, a challenge or the CA is a short requeue, so a few workers serve many orders.
 */
export class CertificateController {
  readonly queue: WorkQueue;
  readonly secrets: Informer<k8s.V1Secret>;
  private readonly log: Logger;
  private readonly opts: Required<Omit<CertificateOptions, 'ariRecheckMs'>> & {
    ariRecheckMs?: number;
  };
  private readonly reporter: CertificateReporter;
  private readonly gates: OrderGates;
  private readonly secretStore: SecretStore;
  private readonly acmStore: AcmStore;
  private readonly acmIssued: AcmIssuedFlow;
  private readonly issuance: Issuance;
  private readonly local: LocalIssuance;
  private readonly challenges: Challenges;
  private sweep: CronJob | undefined;
  /** Why the last idle check wanted an order (for the log line when one is placed). */
  private readonly orderReason = new Map<string, string>();
  /** Certificates as this process last wrote them (see Fresh). */
  private readonly freshCerts = new Fresh<Cert>();
  /** When ARI may be asked again, per Certificate key. */
  private readonly ariNext = new Map<string, number>();

  constructor(private readonly d: CertificateDeps) {
    this.log = d.log.child({ controller: 'certificates' });
    this.opts = {
      retryBaseMs: d.options?.retryBaseMs ?? 60_000,
      pollMs: d.options?.pollMs ?? 500,
      acmInUseRetryMs: d.options?.acmInUseRetryMs ?? 60_000,
      ...(d.options?.ariRecheckMs !== undefined ? { ariRecheckMs: d.options.ariRecheckMs } : {}),
    };
    this.reporter = new CertificateReporter(d);
    this.gates = new OrderGates({ ...d, log: this.log, reporter: this.reporter });
    this.secretStore = new SecretStore({ ...d, log: this.log });
    this.secrets = this.secretStore.secrets;
    this.acmStore = new AcmStore({
      kubeConfig: d.kubeConfig,
      acm: d.acm,
      log: this.log,
      ownerIngress: (c) => this.reporter.ownerIngress(c),
    });
    this.acmIssued = new AcmIssuedFlow(d, this.reporter, this.acmStore, this.opts);
    this.challenges = new Challenges(d);
    this.issuance = new Issuance({
      log: this.log,
      metrics: d.metrics,
      issuers: d.issuers,
      tokens: d.tokens,
      challenges: this.challenges,
      reporter: this.reporter,
      keys: new PendingKeys(d.kubeConfig),
      stores: (c) => this.stores(c),
      solverTarget: (c, account) => solverTarget(c, account, this.reporter.ownerIngress(c)),
      addresses: (c) => ingressAddresses(this.reporter.ownerIngress(c)),
      sourceIngress: (c) => {
        const ing = this.reporter.ownerIngress(c);
        return ing
          ? { namespace: ing.metadata?.namespace ?? '', name: ing.metadata?.name ?? '' }
          : undefined;
      },
      waitForPreflight: (c, wait) => this.gates.waitForPreflight(c, wait),
      preflightDone: (key) => this.gates.preflightDone(key),
      orderTimeoutMs: d.config.orderTimeout,
      onIssued: (key) => this.ariNext.delete(key),
      pollMs: this.opts.pollMs,
      retryBaseMs: this.opts.retryBaseMs,
      limits: new CaLimits({
        newOrders: d.config.acmeLimitNewOrders,
        failedValidations: d.config.acmeLimitFailedValidations,
      }),
    });
    this.local = new LocalIssuance({
      issuers: d.issuers,
      reporter: this.reporter,
      stores: (c) => this.stores(c),
      due: (c, status, current, lookup, log) => this.due(c, status, current, lookup, log),
      fail: (c, status, reason, message) =>
        this.issuance.fail(c, status, reason, message, undefined),
      onIssued: (key) => this.ariNext.delete(key),
    });
    this.queue = new WorkQueue({
      name: 'certificates',
      concurrency: d.config.workers,
      reconcile: (k) => this.acmIssued.reconcileKey(k) ?? this.reconcile(k),
      log: this.log,
      metrics: d.metrics,
    });
    d.certificates.on((ev, c) => {
      const key = keyOf(c);
      this.d.tokens.set(
        key,
        ev === 'delete' ? new Map<string, string>() : tokensOfOrder(c.status?.order),
      );
      if (ev === 'delete') {
        this.forget(key, c);
        this.freshCerts.forget(key);
      }
      this.queue.add(key);
    });
    this.secrets.on((_ev, s) => {
      const name = s.metadata?.annotations?.[certificateNameAnnotation];
      if (name) this.queue.add(`${s.metadata?.namespace}/${name}`);
    });
  }

  get synced(): boolean {
    return this.secrets.synced;
  }

  async start(): Promise<void> {
    await this.secrets.start();
    this.sweep = CronJob.from({
      cronTime: this.d.config.renewalSchedule,
      onTick: () => this.enqueueAll(),
      start: true,
    });
  }

  async stop(): Promise<void> {
    void this.sweep?.stop();
    this.sweep = undefined;
    await this.queue.shutdown();
    await this.secrets.stop();
  }

  enqueueAll(): void {
    for (const c of this.d.certificates.list()) this.queue.add(keyOf(c));
  }

  /** --watch-namespaces limits Certificates as it limits Ingresses. */
  private watched(namespace: string): boolean {
    const w = this.d.config.watchNamespaces;
    return w.length === 0 || w.includes(namespace);
  }

  /** The replicas serving HTTP-01 tokens changed: the leader rewrites its solver slices. */
  async solversChanged(): Promise<void> {
    if (!this.d.isLeader()) return;
    try {
      await this.challenges.refreshSolvers();
    } catch (err) {
      this.log.warn({ err: describeError(err) }, 'solver EndpointSlices not rewritten');
    }
  }

  /**
   * An Ingress changed (its address, say): its Certificates that wait on their preflight are
   * looked at now, not at the end of their backoff. Others are not disturbed.
   */
  ingressChanged(namespace: string, name: string): void {
    // Every Ingress event comes here: only the (few) waiting Certificates are looked at.
    for (const key of this.gates.waitingForPreflight()) {
      const [ns = '', certName = ''] = key.split('/');
      if (ns !== namespace) continue;
      const c = this.d.certificates.get(certName, ns);
      const owner = c && controllerOf(c);
      if (owner && owner.kind === 'Ingress' && owner.name === name) this.queue.add(key);
    }
  }

  /** Certificates of this issuer (a ClusterIssuer, or an Issuer in their namespace), after it became Ready. */
  enqueueIssuer(issuer: IssuerKey): void {
    for (const c of this.d.certificates.list())
      if (sameIssuer(issuerKeyOf(c.metadata?.namespace, c.spec.issuerRef), issuer))
        this.queue.add(keyOf(c));
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const [namespace = '', name = ''] = key.split('/');
    const cert = this.freshCerts.pick(key, this.d.certificates.get(name, namespace));
    if (!cert) return;
    if (!this.d.isLeader() || !this.watched(namespace)) return;
    if (cert.metadata?.deletionTimestamp) return this.finalize(cert);
    const log = this.log.child({ namespace, name });
    const current = await this.target(cert);
    if (!current) return;
    const signer = this.d.issuers.signer(issuerKeyOf(namespace, cert.spec.issuerRef));
    if (signer) return this.local.reconcile(cert, current, signer, log);
    const lookup = this.d.issuers.account(issuerKeyOf(namespace, cert.spec.issuerRef));
    let status: Status = await this.issuance.abandonIfRenamed(cert, cert.status ?? {}, log);
    if (!status.order) {
      const step = await this.orderIfDue(cert, status, current, lookup, log);
      if ('wait' in step) return step.wait;
      status = step.status;
    }
    if (!lookup.ok) return this.gates.waitForIssuer(cert, lookup);
    return this.issuance.advance(cert, status, lookup.account, log);
  }

  /** The stores of a Certificate, in order: the first one holds the current certificate. */
  private stores(cert: Cert): CertificateStore[] {
    return [
      ...(writesSecret(cert) ? [this.secretStore] : []),
      ...(cert.spec.acm ? [this.acmStore] : []),
    ];
  }

  /** No order in flight: wait (valid certificate, backoff, no account) or place one. */
  private async orderIfDue(
    cert: Cert,
    status: Status,
    current: Current,
    lookup: AccountLookup,
    log: Logger,
  ): Promise<{ wait: ReconcileResult } | { status: Status }> {
    const wait = await this.due(cert, status, current, lookup, log);
    if (wait || !lookup.ok) return { wait: wait ?? {} };
    const spent = await this.gates.overBudget(cert, true);
    if (spent) return { wait: spent };
    log.info({ why: this.orderReason.get(keyOf(cert)) }, 'placing an ACME order');
    let budget: ReconcileResult | undefined;
    const placed = await this.issuance.place(
      cert,
      status,
      current,
      lookup.account,
      log,
      async () => {
        budget = await this.gates.overBudget(cert);
        return budget === undefined;
      },
    );
    if (budget) return { wait: budget };
    if ('wait' in placed) return placed;
    if (!placed.status.order) return { wait: { requeueAfterMs: 1000 } };
    const renewal = renewalRecorded(cert, placed.status);
    if (renewal) await this.reporter.write(cert, renewal, []);
    return placed;
  }

  /** Before any issuance (ACME or local): wait for a time, a policy, the issuer; else go. */
  private async due(
    cert: Cert,
    status: Status,
    current: Current,
    lookup: AccountLookup | SignerLookup,
    log: Logger,
  ): Promise<ReconcileResult | undefined> {
    // A valid certificate needs no account: a restart or an issuer hiccup never flaps Ready.
    const issuer = issuerKeyOf(cert.metadata?.namespace, cert.spec.issuerRef);
    const next = await this.idle(cert, status, current, this.d.issuers.directoryUrl(issuer), log);
    if (next) return next;
    const denied = await this.gates.denied(cert);
    if (denied) return denied;
    if (!lookup.ok) return this.gates.waitForIssuer(cert, lookup);
    if (this.d.config.dryRun) return this.dryRun(cert, log);
    // Before anything lands in ACM, make sure deletion will find it.
    if (cert.spec.acm) await this.setFinalizer(cert, true);
    return undefined;
  }

  private async dryRun(cert: Cert, log: Logger): Promise<ReconcileResult> {
    log.info('dry run: would place an ACME order');
    await this.reporter.write(cert, {}, [
      {
        type: 'Issuing',
        status: 'False',
        reason: 'DryRun',
        message: 'an order is due; --dry-run is on, so none is placed',
      },
    ]);
    return { requeueAfterMs: 10 * 60_000 };
  }

  /** The target's current certificate, or undefined after saying (condition, Event) why not. */
  private async target(cert: Cert): Promise<Current | undefined> {
    const [store] = this.stores(cert);
    if (!store) {
      await this.reporter.notReady(cert, 'TargetNotSupported', 'set secretName, acm, or both');
      return undefined;
    }
    const current = await store.current(cert);
    if (current.kind !== 'foreign') return current;
    const { reason, message } = current;
    reportFailure(this.log, this.d.metrics.failures, 'certificates', reason, message, {
      namespace: cert.metadata?.namespace,
      name: cert.metadata?.name,
    });
    await this.reporter.write(cert, {}, [
      { type: 'Ready', status: 'False', reason, message },
      { type: 'Issuing', status: 'False', reason, message },
    ]);
    await this.reporter.event(cert, 'Warning', reason, message);
    return undefined;
  }

  /**
   * No order in flight: either the current certificate is fine (returns when to look again)
   * or it is time to order (returns undefined).
   */
  private async idle(
    cert: Cert,
    status: Status,
    current: Current,
    directoryUrl: string | undefined,
    log: Logger,
  ): Promise<ReconcileResult | undefined> {
    const now = new Date();
    const info = current.kind === 'managed' ? current.info : undefined;
    let renewal: RenewalDecision | undefined;
    if (isCurrent(info, cert.spec.dnsNames, now)) {
      const ari = await this.ari(cert, status, info, directoryUrl, log);
      renewal = renewalTime(
        {
          notBefore: info.notBefore,
          notAfter: info.notAfter,
          renewBeforeMs: renewBefore(cert),
          identity: info.serialNumber,
        },
        ari,
        now,
      );
    }
    const idle = idleStep({
      info,
      dnsNames: cert.spec.dnsNames,
      renewal,
      nextRetryTime: status.nextRetryTime,
      ariNextAt: this.ariNext.get(keyOf(cert)),
      now,
    });
    const step = await honourRequests(this.reporter, cert, status, idle);
    if (step.kind === 'order') {
      this.orderReason.set(keyOf(cert), step.why);
      return undefined;
    }
    if (step.kind === 'up-to-date' && info && renewal)
      await this.reporter.write(
        cert,
        { ...validityFields(info, renewal), ari: status.ari },
        upToDateConditions(info, renewal),
      );
    return { requeueAfterMs: step.requeueAfterMs };
  }

  /**
   * After a restart, status.ari.checkedAt says when the CA was last asked: no stampede of
   * renewal-info requests for every certificate at every start.
   */
  private ariDueFromStatus(status: Status): number {
    const checkedAt = status.ari?.checkedAt ? Date.parse(status.ari.checkedAt) : 0;
    return checkedAt + (this.opts.ariRecheckMs ?? 6 * 3_600_000);
  }

  /** ARI window for the current certificate, re-asked at most as often as the CA allows. */
  private async ari(
    cert: Cert,
    status: Status,
    info: CertInfo,
    directoryUrl: string | undefined,
    log: Logger,
  ): Promise<{ start: Date; end: Date } | undefined> {
    const key = keyOf(cert);
    const known = knownWindow(status, info);
    const due = this.ariNext.get(key) ?? this.ariDueFromStatus(status);
    if (!info.ariCertID || !directoryUrl || (known && Date.now() < due)) return known;
    try {
      const ri = await fetchRenewalInfo(directoryUrl, info.ariCertID);
      const recheck = this.opts.ariRecheckMs ?? Math.max(60_000, ri?.retryAfterMs ?? 6 * 3_600_000);
      this.ariNext.set(key, Date.now() + recheck);
      if (!ri) return undefined;
      status.ari = {
        certID: info.ariCertID,
        windowStart: ri.start.toISOString(),
        windowEnd: ri.end.toISOString(),
        ...(ri.explanationURL ? { explanationURL: ri.explanationURL } : {}),
        checkedAt: new Date().toISOString(),
      };
      return { start: ri.start, end: ri.end };
    } catch (err) {
      // ARI is advice: without it the lifetime rule decides. Ask again in an hour.
      this.ariNext.set(key, Date.now() + (this.opts.ariRecheckMs ?? 3_600_000));
      log.warn({ err: describeError(err) }, 'ARI lookup failed; using the lifetime rule');
      return known;
    }
  }

  /**
   * A Certificate being deleted: its ACM certificate goes first, if certroute imported it.
   * ACM refuses while a load balancer uses it; that is retried and said in status and Events.
   */
  private async finalize(cert: Cert): Promise<ReconcileResult | void> {
    if (!cert.metadata?.finalizers?.includes(acmFinalizer)) return;
    if (this.d.config.dryRun) return;
    const arn = cert.status?.acm?.certificateArn;
    const result = arn ? await this.acmStore.release(cert, arn) : undefined;
    if (result === 'in-use') {
      const reason = 'ACMCertificateInUse';
      const message = `ACM certificate ${arn} is still in use (a load balancer listener?); deletion is retried`;
      reportFailure(this.log, this.d.metrics.failures, 'certificates', reason, message, { arn });
      await this.reporter.notReady(cert, reason, message);
      await this.reporter.event(cert, 'Warning', reason, message);
      return { requeueAfterMs: this.opts.acmInUseRetryMs };
    }
    if (result) this.log.info({ arn, result }, 'ACM certificate removed with its Certificate');
    await this.setFinalizer(cert, false);
  }

  /** Adds or removes the ACM finalizer (read, then replace: conflicts retry the reconcile). */
  private async setFinalizer(cert: Cert, on: boolean): Promise<void> {
    const has = cert.metadata?.finalizers?.includes(acmFinalizer) ?? false;
    if (has === on) return;
    const fresh = await this.d.crds.get<Cert>(
      'certificates',
      cert.metadata?.namespace ?? '',
      cert.metadata?.name ?? '',
    );
    const list = (fresh.metadata?.finalizers ?? []).filter((f) => f !== acmFinalizer);
    fresh.metadata = { ...fresh.metadata, finalizers: on ? [...list, acmFinalizer] : list };
    const stored = await this.d.crds.replace('certificates', fresh);
    this.freshCerts.remember(keyOf(cert), stored);
    cert.metadata = stored.metadata;
  }

  private forget(key: string, cert: Cert): void {
    this.ariNext.delete(key);
    this.gates.preflightDone(key);
    this.orderReason.delete(key);
    this.reporter.forget(key, cert);
  }
}
