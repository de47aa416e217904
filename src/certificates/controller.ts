import { createPrivateKey, X509Certificate } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import type * as acme from 'acme-client';
import { CronJob } from 'cron';
import type { Certificate, CertificateStatus, Condition } from '../api/v1alpha1.js';
import { fetchRenewalInfo, newOrderPayload, problemType } from '../acme/client.js';
import { createCsr, generatePrivateKey } from './keys.js';
import { renewalTime, retryDelayMs } from './renewal.js';
import {
  certificateOfSecret,
  coversExactly,
  parsedLeaf,
  parseCertificate,
  pendingLeaf,
  splitChain,
  type CachedCertificateSlots,
  type CertInfo,
} from './x509.js';
import { parseDuration, type Config } from '../config/index.js';
import { setCondition } from '../kube/conditions.js';
import { Fresh } from '../kube/fresh.js';
import { isNotFound, type CrdClient } from '../kube/crd-client.js';
import type { EventRecorder, EventType } from '../kube/events.js';
import { describeError, ResilientInformer } from '../kube/informer.js';
import { WorkQueue, type ReconcileResult } from '../kube/queue.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import {
  checkDns,
  Http01Objects,
  Lookup,
  selfCheck,
  type SolverTarget,
  type TokenServer,
} from '../acme/solvers/http01.js';
import type { Acm } from './stores/acm.js';
import { AcmError, albAnnotation, mergeArns } from './stores/acm.js';
import { Dns01ConfigError, type Dns01Solver } from '../acme/solvers/dns01.js';
import { selectSolver } from '../acme/solvers/select.js';
import { canonical, ingressClassOf, managedBy, managedByLabel } from '../sources/ingress.js';
import type { Account, AccountLookup, IssuerController } from '../acme/issuer.js';

export type Cert = Certificate & k8s.KubernetesObject;
type Status = CertificateStatus;
type Order = NonNullable<Status['order']>;
type Authz = Order['authorizations'][number];

/** Labels and annotations on Secrets certroute writes. */
export const certificateNameAnnotation = 'certroute.io/certificate-name';
export const issuerAnnotation = 'certroute.io/issuer-name';
const nextKeyLabel = 'certroute.io/next-private-key';
const orderAnnotation = 'certroute.io/order';

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

export interface CertificateDeps {
  kubeConfig: k8s.KubeConfig;
  crds: CrdClient;
  config: Config;
  log: Logger;
  metrics: Metrics;
  events: EventRecorder;
  isLeader: () => boolean;
  issuers: IssuerController;
  certificates: ResilientInformer<Cert>;
  ingress: (namespace: string, name: string) => k8s.V1Ingress | undefined;
  tokens: TokenServer;
  dns01: Dns01Solver;
  acm: Acm;
  /** The address and port written into solver EndpointSlices. */
  solverEndpoint: () => { address: string; port: number };
  options?: CertificateOptions;
}

export type Current =
  | { kind: 'none' }
  | { kind: 'foreign'; reason: string; message: string }
  | { kind: 'managed'; secret?: k8s.V1Secret; info: CertInfo | undefined };

/**
 * Certificate → an ACME order → a kubernetes.io/tls Secret, and renewal forever after.
 *
 * Every reconcile is one step of a resumable state machine (certmagic's "lock, check again,
 * act"): the order, its authorizations and tokens are in status before anything is presented,
 * so a restart or a new leader resumes the same order. A reconcile never sleeps: waiting
 * for DNS, a challenge or the CA is a short requeue, so a few workers serve many orders.
 */
export class CertificateController {
  readonly queue: WorkQueue;
  readonly secrets: ResilientInformer<k8s.V1Secret>;
  private readonly core: k8s.CoreV1Api;
  private readonly net: k8s.NetworkingV1Api;
  private readonly log: Logger;
  private readonly objects: Http01Objects;
  private readonly lookup: Lookup;
  private readonly opts: Required<Omit<CertificateOptions, 'ariRecheckMs'>> & {
    ariRecheckMs?: number;
  };
  private sweep: CronJob | undefined;
  /** Why the last idle check wanted an order (for the log line when one is placed). */
  private readonly orderReason = new Map<string, string>();
  /** Pending private keys of ACM-only orders, which never go into a Secret. */
  private readonly memKeys = new Map<string, { order: string; pem: string }>();
  /** Certificates and Secrets as this process last wrote them (see Fresh). */
  private readonly freshCerts = new Fresh<Cert>();
  private readonly freshSecrets = new Fresh<k8s.V1Secret>();
  /** Metric labels last exported per Certificate key. */
  private readonly exported = new Map<
    string,
    { namespace: string; name: string; issuer: string }
  >();
  /** When ARI may be asked again, per Certificate key. */
  private readonly ariNext = new Map<string, number>();

  constructor(private readonly d: CertificateDeps) {
    this.log = d.log.child({ controller: 'certificates' });
    this.core = d.kubeConfig.makeApiClient(k8s.CoreV1Api);
    this.net = d.kubeConfig.makeApiClient(k8s.NetworkingV1Api);
    this.opts = {
      retryBaseMs: d.options?.retryBaseMs ?? 60_000,
      pollMs: d.options?.pollMs ?? 500,
      acmInUseRetryMs: d.options?.acmInUseRetryMs ?? 60_000,
      ...(d.options?.ariRecheckMs !== undefined ? { ariRecheckMs: d.options.ariRecheckMs } : {}),
    };
    this.objects = new Http01Objects(d.kubeConfig, d.solverEndpoint);
    this.lookup = new Lookup(d.config.recursiveNameservers);
    // Only Secrets certroute labelled are cached: unrelated Secrets never enter memory.
    this.secrets = new ResilientInformer<k8s.V1Secret>({
      kubeConfig: d.kubeConfig,
      resource: 'secrets',
      path: '/api/v1/secrets',
      list: (options) => this.core.listSecretForAllNamespaces(options),
      labelSelector: `${managedByLabel}=${managedBy}`,
      // The cache keeps what reconciles read: metadata, type and tls.crt. Private keys are
      // read by name when needed (next keys) and never held for thousands of Secrets.
      transform: cachedSecret,
      compression: d.config.kubeApiCompression,
      log: this.log,
      metrics: d.metrics,
    });
    this.queue = new WorkQueue({
      name: 'certificates',
      concurrency: d.config.workers,
      reconcile: (k) => this.reconcile(k),
      log: this.log,
      metrics: d.metrics,
    });
    d.certificates.on((ev, c) => {
      const key = keyOf(c);
      this.d.tokens.set(key, ev === 'delete' ? new Map<string, string>() : tokensOf(c));
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

  /** Certificates of this issuer, after it became Ready. */
  enqueueIssuer(issuer: string): void {
    for (const c of this.d.certificates.list())
      if (c.spec.issuerRef.name === issuer) this.queue.add(keyOf(c));
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
    const issuer = cert.spec.issuerRef.name;
    const lookup = this.d.issuers.account(issuer);
    let status: Status = cert.status ?? {};
    if (status.order && !sameNames(status.order.dnsNames, cert.spec.dnsNames)) {
      log.info('dnsNames changed: abandoning the order in flight');
      status = await this.finishOrder(cert, status, 'abandoned', 'dnsNames changed');
    }
    if (!status.order) {
      const step = await this.orderIfDue(cert, status, current, lookup, log);
      if ('wait' in step) return step.wait;
      status = step.status;
    }
    if (!lookup.ok) return this.waitForIssuer(cert, lookup);
    return this.advance(cert, status, lookup.account, log);
  }

  /** No order in flight: wait (valid certificate, backoff, no account) or place one. */
  private async orderIfDue(
    cert: Cert,
    status: Status,
    current: Current,
    lookup: AccountLookup,
    log: Logger,
  ): Promise<{ wait: ReconcileResult } | { status: Status }> {
    // A valid certificate needs no account: a restart or an issuer hiccup never flaps Ready.
    const directoryUrl = this.d.issuers.directoryUrl(cert.spec.issuerRef.name);
    const next = await this.idle(cert, status, current, directoryUrl, log);
    if (next) return { wait: next };
    if (!lookup.ok) return { wait: await this.waitForIssuer(cert, lookup) };
    if (this.d.config.dryRun) return { wait: await this.dryRun(cert, log) };
    // Before anything lands in ACM, make sure deletion will find it.
    if (cert.spec.acm) await this.setFinalizer(cert, true);
    log.info({ why: this.orderReason.get(keyOf(cert)) }, 'placing an ACME order');
    const placed = await this.placeOrder(cert, status, current, lookup.account, log);
    return placed.order ? { status: placed } : { wait: { requeueAfterMs: 1000 } };
  }

  /** No account: Ready stays as the current certificate allows; Issuing says why. */
  private async waitForIssuer(
    cert: Cert,
    lookup: { reason: string; message: string },
  ): Promise<ReconcileResult> {
    const valid = cert.status?.notAfter ? Date.parse(cert.status.notAfter) > Date.now() : false;
    const issuing = {
      type: 'Issuing',
      status: 'False' as const,
      reason: lookup.reason,
      message: lookup.message,
    };
    await this.writeStatus(
      cert,
      {},
      valid
        ? [issuing]
        : [
            { type: 'Ready', status: 'False', reason: lookup.reason, message: lookup.message },
            issuing,
          ],
    );
    // The issuer's Ready event re-enqueues; this is only the backstop.
    return { requeueAfterMs: 60_000 };
  }

  private async dryRun(cert: Cert, log: Logger): Promise<ReconcileResult> {
    log.info('dry run: would place an ACME order');
    await this.writeStatus(cert, {}, [
      {
        type: 'Issuing',
        status: 'False',
        reason: 'DryRun',
        message: 'an order is due; --dry-run is on, so none is placed',
      },
    ]);
    return { requeueAfterMs: 10 * 60_000 };
  }

  private async notReady(cert: Cert, reason: string, message: string): Promise<undefined> {
    await this.writeStatus(cert, {}, [{ type: 'Ready', status: 'False', reason, message }]);
    return undefined;
  }

  /** The target Secret, or undefined after saying (condition and Event) why it is unusable. */
  private async target(cert: Cert): Promise<Current | undefined> {
    if (!writesSecret(cert) && cert.spec.acm) return this.currentInAcm(cert);
    if (!cert.spec.secretName)
      return this.notReady(cert, 'TargetNotSupported', 'set secretName, acm, or both');
    const current = await this.current(cert);
    if (current.kind === 'foreign') {
      await this.writeStatus(cert, {}, [
        { type: 'Ready', status: 'False', reason: current.reason, message: current.message },
        { type: 'Issuing', status: 'False', reason: current.reason, message: current.message },
      ]);
      await this.event(cert, 'Warning', current.reason, current.message);
      return undefined;
    }
    return current;
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
    const valid =
      info !== undefined && coversExactly(info, cert.spec.dnsNames) && info.notAfter > now;
    let why = !info
      ? 'no certificate yet'
      : !coversExactly(info, cert.spec.dnsNames)
        ? 'the certificate does not cover spec.dnsNames'
        : 'the certificate has expired';
    if (valid) {
      const ari = await this.ari(cert, status, info, directoryUrl, log);
      const decision = renewalTime(
        { notBefore: info.notBefore, notAfter: info.notAfter, renewBeforeMs: renewBefore(cert) },
        ari,
        now,
      );
      const fields: Partial<Status> = {
        notBefore: info.notBefore.toISOString(),
        notAfter: info.notAfter.toISOString(),
        serialNumber: info.serialNumber,
        renewalTime: decision.at.toISOString(),
        renewalReason: decision.reason,
      };
      if (decision.at > now) {
        await this.writeStatus(cert, { ...fields, ari: status.ari }, [
          {
            type: 'Ready',
            status: 'True',
            reason: 'Issued',
            message: `certificate valid until ${info.notAfter.toISOString()}`,
          },
          {
            type: 'Issuing',
            status: 'False',
            reason: 'UpToDate',
            message: `renewal at ${decision.at.toISOString()}: ${decision.reason}`,
          },
        ]);
        const wait = decision.at.getTime() - now.getTime();
        const ariWait = this.ariNext.get(keyOf(cert));
        return {
          requeueAfterMs: Math.max(
            1000,
            Math.min(wait + 250, 12 * 3_600_000, ariWait ? ariWait - now.getTime() : Infinity),
          ),
        };
      }
      why = `renewal due: ${decision.reason}`;
    }
    const retryAt = status.nextRetryTime ? Date.parse(status.nextRetryTime) : 0;
    if (retryAt > now.getTime()) {
      return { requeueAfterMs: retryAt - now.getTime() + 100 };
    }
    this.orderReason.set(keyOf(cert), why);
    return undefined;
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

  private async placeOrder(
    cert: Cert,
    status: Status,
    current: Current,
    account: Account,
    log: Logger,
  ): Promise<Status> {
    const dnsNames = cert.spec.dnsNames;
    // Every name must have a solver, and every DNS-01 name a zone, before an order exists.
    const problem = await this.preflightSolvers(cert, account);
    if (problem) {
      await this.fail(cert, status, problem.reason, problem.message, undefined);
      return { ...status, order: undefined };
    }
    const info = current.kind === 'managed' ? current.info : undefined;
    const replaces =
      status.ari && info?.ariCertID === status.ari.certID ? info.ariCertID : undefined;
    let order: acme.Order;
    try {
      order = await createOrder(account, dnsNames, replaces);
    } catch (err) {
      await this.fail(cert, status, 'OrderFailed', `newOrder: ${describeError(err)}`, undefined);
      return { ...status, order: undefined };
    }
    const authorizations = await describeAuthorizations(account, order, cert.spec.challenge);
    const next: Status = {
      ...status,
      order: {
        url: order.url,
        finalizeURL: order.finalize,
        createdAt: new Date().toISOString(),
        dnsNames: [...dnsNames],
        ...(replaces ? { replaces } : {}),
        ...(account.profile ? { profile: account.profile } : {}),
        authorizations,
      },
    };
    // Resume point: the order is in status before anything is presented or accepted.
    await this.writeStatus(cert, { order: next.order }, [
      {
        type: 'Issuing',
        status: 'True',
        reason: 'OrderPlaced',
        message: `ACME order ${order.url}${replaces ? ' (replacing the current certificate)' : ''}`,
      },
    ]);
    if (next.order) this.d.tokens.set(keyOf(cert), tokensOfOrder(next.order));
    log.info({ order: order.url, replaces }, 'ACME order placed');
    return next;
  }

  /** One step forward on the order in flight. */
  private async advance(
    cert: Cert,
    status: Status,
    account: Account,
    log: Logger,
  ): Promise<ReconcileResult | void> {
    const o = status.order as Order;
    let order: acme.Order;
    try {
      order = await account.client.getOrder({ url: o.url } as acme.Order);
    } catch (err) {
      if (problemType(err) === 'malformed' || /404|not found/i.test(describeError(err))) {
        await this.fail(cert, status, 'OrderLost', `order ${o.url}: ${describeError(err)}`, o);
        return;
      }
      throw err;
    }
    switch (order.status) {
      case 'pending':
        return this.authorize(cert, status, account, order, log);
      case 'ready': {
        const key = await this.nextKey(cert);
        const csr = await createCsr(cert.spec.dnsNames, key);
        await account.client.finalizeOrder(order, csr);
        return { requeueAfterMs: this.opts.pollMs };
      }
      case 'processing':
        return { requeueAfterMs: this.opts.pollMs };
      case 'valid':
        await this.store(cert, status, account, order, log);
        return { requeueAfterMs: 100 };
      default: {
        const why = await this.whyInvalid(account, order);
        await this.fail(cert, status, 'OrderInvalid', why, o);
        return;
      }
    }
  }

  /** Pending authorizations: DNS first, then present, self-check, and only then accept. */
  private async authorize(
    cert: Cert,
    status: Status,
    account: Account,
    order: acme.Order,
    log: Logger,
  ): Promise<ReconcileResult | void> {
    const o = status.order as Order;
    const ingress = this.ownerIngress(cert);
    const want = ingressAddresses(ingress);
    const target = solverTarget(cert, account, ingress);
    const waiting: string[] = [];
    for (const a of await account.client.getAuthorizations(order)) {
      // valid: done; invalid: the order turns invalid and the next poll reports it.
      if (a.status !== 'pending') continue;
      const mine = o.authorizations.find((x) => x.url === a.url);
      let wait: string | undefined;
      try {
        wait =
          mine?.challenge?.type === 'dns-01'
            ? await this.solveDns01(account, a, mine)
            : await this.solveHttp01(account, a, mine?.challenge?.keyAuthorization, want, target);
      } catch (err) {
        // A solver the user must fix (no region, no zone): say so and back off, not hot-loop.
        if (!(err instanceof Dns01ConfigError)) throw err;
        await this.fail(cert, status, err.reason, err.message, o);
        return;
      }
      if (wait) waiting.push(wait);
      else log.debug({ host: a.identifier.value }, 'challenge accepted or in progress');
    }
    if (waiting.length > 0) {
      await this.writeStatus(cert, {}, [
        {
          type: 'Issuing',
          status: 'True',
          reason: 'WaitingForChallenge',
          message: waiting.join('; '),
        },
      ]);
    }
    // Waiting for DNS can take minutes: poll less often as the order ages.
    const age = Date.now() - Date.parse(o.createdAt);
    const poll =
      waiting.length > 0
        ? Math.min(10_000, Math.max(this.opts.pollMs, age / 10))
        : this.opts.pollMs;
    return { requeueAfterMs: poll };
  }

  /**
   * One pending authorization, in PRODUCT order: DNS points at the Ingress, the token is
   * served, the self-check passes, and only then the challenge is accepted. Returns what it
   * waits for, or undefined once the challenge is accepted (or already being validated).
   */
  private async solveHttp01(
    account: Account,
    a: acme.Authorization,
    keyAuthorization: string | undefined,
    want: string[],
    target: Omit<SolverTarget, 'host' | 'token'>,
  ): Promise<string | undefined> {
    const host = a.identifier.value;
    const ch = a.challenges.find((c) => c.type === 'http-01');
    if (!ch || !keyAuthorization) return `${host}: the CA offered no http-01 challenge`;
    if (ch.status === 'processing' || ch.status === 'valid') return undefined;
    const dns = await checkDns(this.lookup, host, want);
    if (!dns.ok) return dns.message;
    await this.objects.present({ ...target, host, token: ch.token });
    const address = dns.addresses[0] ?? host;
    const port = this.d.config.http01Port;
    const check = await selfCheck(address, port, host, ch.token, keyAuthorization);
    if (!check.ok) return check.message;
    await account.client.completeChallenge(ch);
    return undefined;
  }

  /**
   * One pending DNS-01 authorization, in PRODUCT order: the TXT value is written (INSYNC
   * awaited), every configured resolver sees it, and only then the challenge is accepted.
   */
  private async solveDns01(
    account: Account,
    a: acme.Authorization,
    mine: Authz,
  ): Promise<string | undefined> {
    const host = a.identifier.value;
    const ch = a.challenges.find((c) => c.type === 'dns-01');
    const cfg = route53Of(account, mine);
    const value = mine.challenge?.keyAuthorization;
    if (!ch || !cfg || !value) return `${host}: the CA offered no dns-01 challenge`;
    if (ch.status === 'processing' || ch.status === 'valid') return undefined;
    const at = await this.d.dns01.place(cfg, host);
    // A fresh write is checked once for INSYNC, never waited on: the next poll finds the
    // value present (no new change) and goes on to the resolvers, the real gate.
    const change = await this.d.dns01.present(cfg, at, value);
    if (change && !(await this.d.dns01.inSyncNow(cfg, change)))
      return `${at.name}: Route53 change ${change} not INSYNC yet`;
    const seen = await this.d.dns01.visible(at.name, value);
    if (!seen.ok) return seen.message;
    await account.client.completeChallenge(ch);
    return undefined;
  }

  /** Every name has a solver, and every DNS-01 name a writable zone; else why not. */
  private async preflightSolvers(
    cert: Cert,
    account: Account,
  ): Promise<{ reason: string; message: string } | undefined> {
    for (const name of cert.spec.dnsNames) {
      const wildcard = name.startsWith('*.');
      const host = name.replace(/^\*\./, '');
      const sel = selectSolver(account.spec.acme.solvers, host, wildcard, cert.spec.challenge);
      if (!sel.ok) return { reason: sel.reason, message: sel.message };
      if (sel.type !== 'dns-01' || !sel.solver.dns01) continue;
      try {
        await this.d.dns01.place(sel.solver.dns01.route53, host);
      } catch (err) {
        if (err instanceof Dns01ConfigError) return { reason: err.reason, message: err.message };
        throw err;
      }
    }
    return undefined;
  }

  private async whyInvalid(account: Account, order: acme.Order): Promise<string> {
    try {
      const authzs = await account.client.getAuthorizations(order);
      const bad = authzs
        .flatMap((a) =>
          a.challenges
            .filter((c) => c.status === 'invalid')
            .map(
              (c) =>
                `${a.identifier.value}: ${(c.error as { detail?: string } | undefined)?.detail ?? 'challenge invalid'}`,
            ),
        )
        .join('; ');
      return bad || `order ${order.url} is ${order.status}`;
    } catch {
      return `order ${order.url} is ${order.status}`;
    }
  }

  /** The valid order's chain and the key that signed its CSR, into the target Secret. */
  private async store(
    cert: Cert,
    status: Status,
    account: Account,
    order: acme.Order,
    log: Logger,
  ): Promise<void> {
    const chain = await account.client.getCertificate(order, account.preferredChain);
    const key = await this.nextKey(cert);
    const info = parseCertificate(chain);
    if (!keyMatches(chain, key)) {
      // The key that signed the CSR is gone (deleted by hand): this certificate is unusable.
      await this.fail(
        cert,
        status,
        'KeyMismatch',
        'the issued certificate does not match the stored private key',
        status.order,
      );
      return;
    }
    const o = status.order as Order;
    const delivered = await this.deliver(cert, status, chain, key);
    if (!delivered.ok) {
      await this.fail(cert, status, delivered.reason, delivered.message, o);
      return;
    }
    this.d.metrics.acmeOrders.inc({ result: 'valid' });
    // Before status forgets the order: a crash in between must not strand TXT records.
    await this.cleanup(cert, log, o);
    const decision = renewalTime(
      { notBefore: info.notBefore, notAfter: info.notAfter, renewBeforeMs: renewBefore(cert) },
      undefined,
      new Date(),
    );
    await this.writeStatus(
      cert,
      {
        order: null,
        lastOrder: {
          url: o.url,
          result: 'valid',
          finishedAt: new Date().toISOString(),
          ...(o.replaces ? { replaces: o.replaces } : {}),
        },
        notBefore: info.notBefore.toISOString(),
        notAfter: info.notAfter.toISOString(),
        serialNumber: info.serialNumber,
        renewalTime: decision.at.toISOString(),
        renewalReason: decision.reason,
        ari: null,
        failedAttempts: 0,
        lastFailure: null,
        nextRetryTime: null,
        revision: (status.revision ?? 0) + 1,
        ...(delivered.arn ? { acm: { certificateArn: delivered.arn } } : {}),
      },
      [
        {
          type: 'Ready',
          status: 'True',
          reason: 'Issued',
          message: `certificate valid until ${info.notAfter.toISOString()}`,
        },
        { type: 'Issuing', status: 'False', reason: 'Issued', message: 'order complete' },
      ],
    );
    this.ariNext.delete(keyOf(cert));
    this.d.tokens.set(keyOf(cert), new Map<string, string>());
    // Only now, with the Secret and status written, is the key's copy no longer needed.
    await this.deleteNextKey(cert);
    const where = [
      ...(writesSecret(cert) ? [`Secret ${cert.spec.secretName}`] : []),
      ...(delivered.arn ? [`ACM ${delivered.arn}`] : []),
    ].join(' and ');
    const msg = `issued ${cert.spec.dnsNames.join(', ')} into ${where}, valid until ${info.notAfter.toISOString()}`;
    log.info({ serial: info.serialNumber, notAfter: info.notAfter }, 'certificate issued');
    await this.event(cert, 'Normal', 'Issued', msg);
  }

  /** The Secret, and/or the ACM import (same ARN on renewal) plus the Ingress annotation. */
  private async deliver(
    cert: Cert,
    status: Status,
    chain: string,
    key: string,
  ): Promise<{ ok: true; arn?: string } | { ok: false; reason: string; message: string }> {
    if (writesSecret(cert)) await this.writeSecret(cert, chain, key);
    const acm = cert.spec.acm;
    if (!acm) return { ok: true };
    const previous = status.acm?.certificateArn;
    let arn: string;
    try {
      arn = await this.importToAcm(acm.region, chain, key, keyOf(cert), previous);
    } catch (err) {
      // Only ACM's own refusals fail the order; a network error retries with the order kept.
      if (!(err instanceof AcmError)) throw err;
      return { ok: false, reason: 'ACMImportFailed', message: err.message };
    }
    await this.annotateIngress(cert, arn, previous);
    return { ok: true, arn };
  }

  /**
   * Re-imports to the previous ARN; when ACM refuses that one (deleted by hand, another
   * region, another key type), imports afresh rather than failing every renewal.
   */
  private async importToAcm(
    region: string,
    chain: string,
    key: string,
    name: string,
    previous: string | undefined,
  ): Promise<string> {
    try {
      return await this.d.acm.import(region, chain, key, name, previous);
    } catch (err) {
      if (!previous || !(err instanceof AcmError)) throw err;
      this.log.warn({ arn: previous, err: err.message }, 'ACM re-import refused; importing anew');
      return this.d.acm.import(region, chain, key, name);
    }
  }

  /** alb.ingress.kubernetes.io/certificate-arn on the owner Ingress, the user's ARNs kept. */
  private async annotateIngress(cert: Cert, arn: string | undefined, previous?: string) {
    const ing = this.ownerIngress(cert);
    if (!ing?.metadata?.name) return;
    const current = ing.metadata.annotations?.[albAnnotation];
    const next = mergeArns(current, arn, previous);
    if (next === (current ?? '')) return;
    await this.net.patchNamespacedIngress(
      {
        name: ing.metadata.name,
        namespace: ing.metadata.namespace ?? '',
        body: { metadata: { annotations: { [albAnnotation]: next || null } } },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
  }

  /** ACM-only: the current certificate is the one imported under status.acm's ARN. */
  private async currentInAcm(cert: Cert): Promise<Current> {
    const arn = cert.status?.acm?.certificateArn;
    const region = cert.spec.acm?.region ?? '';
    const pem = arn ? await this.d.acm.leaf(region, arn) : undefined;
    if (!pem) return { kind: 'none' };
    try {
      return { kind: 'managed', info: parseCertificate(pem) };
    } catch {
      return { kind: 'managed', info: undefined };
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
    if (arn && cert.spec.acm) {
      // The load balancer lets go of the certificate only once the annotation stops naming it.
      await this.annotateIngress(cert, undefined, arn);
      const result = await this.d.acm.remove(cert.spec.acm.region, arn);
      if (result === 'in-use') {
        const message = `ACM certificate ${arn} is still in use (a load balancer listener?); deletion is retried`;
        await this.writeStatus(cert, {}, [
          { type: 'Ready', status: 'False', reason: 'ACMCertificateInUse', message },
        ]);
        await this.event(cert, 'Warning', 'ACMCertificateInUse', message);
        return { requeueAfterMs: this.opts.acmInUseRetryMs };
      }
      this.log.info({ arn, result }, 'ACM certificate removed with its Certificate');
    }
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

  private async fail(
    cert: Cert,
    status: Status,
    reason: string,
    message: string,
    order: Order | undefined,
  ): Promise<void> {
    const failedAttempts = (status.failedAttempts ?? 0) + 1;
    this.memKeys.delete(keyOf(cert));
    const delay = retryDelayMs(failedAttempts, this.opts.retryBaseMs);
    const nextRetryTime = new Date(Date.now() + delay).toISOString();
    if (order)
      this.d.metrics.acmeOrders.inc({ result: reason === 'OrderInvalid' ? 'invalid' : 'error' });
    await this.cleanup(cert, this.log, order ?? status.order);
    const validNow = status.notAfter ? Date.parse(status.notAfter) > Date.now() : false;
    await this.writeStatus(
      cert,
      {
        order: null,
        ...(order
          ? {
              lastOrder: {
                url: order.url,
                result: 'invalid',
                finishedAt: new Date().toISOString(),
                message,
                ...(order.replaces ? { replaces: order.replaces } : {}),
              },
            }
          : {}),
        failedAttempts,
        lastFailure: `${reason}: ${message}`,
        nextRetryTime,
      },
      [
        validNow
          ? {
              type: 'Ready',
              status: 'True',
              reason: 'Issued',
              message: `current certificate valid until ${status.notAfter}; renewal failing`,
            }
          : { type: 'Ready', status: 'False', reason, message },
        {
          type: 'Issuing',
          status: 'False',
          reason: 'Failed',
          message: `${reason}: ${message}; attempt ${failedAttempts}, next retry at ${nextRetryTime}`,
        },
      ],
    );
    this.d.tokens.set(keyOf(cert), new Map<string, string>());
    await this.event(cert, 'Warning', reason, `${message} (retry at ${nextRetryTime})`);
  }

  private async finishOrder(
    cert: Cert,
    status: Status,
    result: 'abandoned',
    message: string,
  ): Promise<Status> {
    const o = status.order as Order;
    const lastOrder = { url: o.url, result, finishedAt: new Date().toISOString(), message };
    await this.cleanup(cert, this.log, o);
    await this.writeStatus(cert, { order: null, lastOrder }, []);
    this.d.tokens.set(keyOf(cert), new Map<string, string>());
    return { ...status, order: undefined, lastOrder };
  }

  /** Solver objects and challenge TXT values go in every outcome. */
  private async cleanup(cert: Cert, log: Logger, order?: Order): Promise<void> {
    try {
      await this.objects.cleanup(cert.metadata?.namespace ?? '', cert.metadata?.name ?? '');
    } catch (err) {
      // The objects carry the Certificate as owner: the garbage collector is the backstop.
      log.warn({ err: describeError(err) }, 'HTTP-01 solver cleanup failed');
    }
    const account = this.d.issuers.account(cert.spec.issuerRef.name);
    if (!order || !account.ok) return;
    for (const a of order.authorizations) {
      const cfg = route53Of(account.account, a);
      const value = a.challenge?.keyAuthorization;
      if (a.challenge?.type !== 'dns-01' || !cfg || !value) continue;
      try {
        await this.d.dns01.cleanup(cfg, await this.d.dns01.place(cfg, a.identifier), value);
      } catch (err) {
        log.warn({ host: a.identifier, err: describeError(err) }, 'DNS-01 TXT cleanup failed');
      }
    }
  }

  // ------------------------------------------------------------------ Secrets

  /** The target Secret: absent, someone else's, or ours with its parsed certificate. */
  private async current(cert: Cert): Promise<Current> {
    const namespace = cert.metadata?.namespace ?? '';
    const name = cert.spec.secretName ?? '';
    let secret = this.freshSecrets.pick(`${namespace}/${name}`, this.secrets.get(name, namespace));
    if (!secret) {
      try {
        secret = await this.core.readNamespacedSecret({ name, namespace });
      } catch (err) {
        if (isNotFound(err)) return { kind: 'none' };
        throw err;
      }
    }
    return classifySecret(secret, cert.metadata?.name ?? '');
  }

  private async writeSecret(cert: Cert, chain: string, key: string): Promise<void> {
    const namespace = cert.metadata?.namespace ?? '';
    const name = cert.spec.secretName ?? '';
    const blocks = splitChain(chain);
    const last = blocks.at(-1);
    const data: Record<string, string> = {
      'tls.crt': b64(chain),
      'tls.key': b64(key),
      ...(blocks.length > 1 && last && isSelfSigned(last) ? { 'ca.crt': b64(last) } : {}),
    };
    const labels = { [managedByLabel]: managedBy };
    const annotations = {
      [certificateNameAnnotation]: cert.metadata?.name ?? '',
      [issuerAnnotation]: cert.spec.issuerRef.name,
    };
    const cacheKey = `${namespace}/${name}`;
    try {
      const created = await this.core.createNamespacedSecret({
        namespace,
        body: {
          metadata: { name, namespace, labels, annotations },
          type: 'kubernetes.io/tls',
          data,
        },
      });
      this.freshSecrets.remember(cacheKey, created);
      return;
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
    }
    const existing = await this.core.readNamespacedSecret({ name, namespace });
    if (existing.metadata?.labels?.[managedByLabel] !== managedBy)
      throw new Error(`Secret ${namespace}/${name} appeared and is not managed by certroute`);
    const replaced = await this.core.replaceNamespacedSecret({
      name,
      namespace,
      body: {
        ...existing,
        metadata: {
          ...existing.metadata,
          labels: { ...existing.metadata.labels, ...labels },
          annotations: { ...existing.metadata.annotations, ...annotations },
        },
        type: 'kubernetes.io/tls',
        data,
      },
    });
    this.freshSecrets.remember(cacheKey, replaced);
  }

  private nextKeyName(cert: Cert): string {
    return `${cert.metadata?.name ?? ''}-certroute-next-key`.slice(0, 253);
  }

  /**
   * The private key for the order in flight, kept in a Secret until the certificate is
   * stored, so a crash between finalize and download does not orphan the order.
   */
  /**
   * ACM only: the key never enters the cluster. A restart between finalize and download
   * loses it, and the order is replaced (KeyMismatch): the price of that promise.
   */
  private async memoryKey(cert: Cert, orderUrl: string): Promise<string> {
    const k = this.memKeys.get(keyOf(cert));
    if (k?.order === orderUrl) return k.pem;
    const pem = await generatePrivateKey(cert.spec.privateKey?.algorithm ?? 'ECDSA-P256');
    this.memKeys.set(keyOf(cert), { order: orderUrl, pem });
    return pem;
  }

  private async nextKey(cert: Cert): Promise<string> {
    const { namespace = '' } = cert.metadata ?? {};
    const name = this.nextKeyName(cert);
    const orderUrl = cert.status?.order?.url ?? '';
    if (!writesSecret(cert)) return this.memoryKey(cert, orderUrl);
    const existing = await this.readSecret(namespace, name);
    if (existing) {
      if (existing.metadata?.labels?.[nextKeyLabel] !== 'true')
        throw new Error(`Secret ${namespace}/${name} exists and is not certroute's`);
      // The key of this very order (finalized before a crash) is reused; any other is stale.
      const pem = keyOfOrder(existing, orderUrl);
      if (pem) return pem;
      await this.deleteNextKey(cert);
    }
    const pem = await generatePrivateKey(cert.spec.privateKey?.algorithm ?? 'ECDSA-P256');
    await this.core.createNamespacedSecret({
      namespace,
      body: nextKeySecret(cert, name, pem, orderUrl),
    });
    return pem;
  }

  private async readSecret(namespace: string, name: string): Promise<k8s.V1Secret | undefined> {
    try {
      return await this.core.readNamespacedSecret({ name, namespace });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private async deleteNextKey(cert: Cert): Promise<void> {
    this.memKeys.delete(keyOf(cert));
    if (!writesSecret(cert)) return;
    try {
      await this.core.deleteNamespacedSecret({
        name: this.nextKeyName(cert),
        namespace: cert.metadata?.namespace ?? '',
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  // ------------------------------------------------------------------ status, events, metrics

  private async writeStatus(
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
    this.metricsFor(cert, merged);
    if (canonical(stripTimes(merged)) === canonical(stripTimes(cert.status ?? {}))) return;
    await this.d.crds.patchStatus(
      'certificates',
      cert.metadata?.namespace,
      cert.metadata?.name ?? '',
      patch,
    );
    // Later steps of this reconcile build on what was just written.
    cert.status = merged;
  }

  private metricsFor(cert: Cert, s: Status): void {
    const labels = {
      namespace: cert.metadata?.namespace ?? '',
      name: cert.metadata?.name ?? '',
      issuer: cert.spec.issuerRef.name,
    };
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

  private forget(key: string, cert: Cert): void {
    this.ariNext.delete(key);
    this.orderReason.delete(key);
    this.removeSeries({
      namespace: cert.metadata?.namespace ?? '',
      name: cert.metadata?.name ?? '',
      issuer: cert.spec.issuerRef.name,
    });
    this.exported.delete(key);
  }

  private removeSeries(labels: { namespace: string; name: string; issuer: string }): void {
    for (const g of [
      this.d.metrics.certReady,
      this.d.metrics.certFailures,
      this.d.metrics.certExpiry,
      this.d.metrics.certRenewal,
    ])
      g.remove(labels);
  }

  private ownerIngress(cert: Cert): k8s.V1Ingress | undefined {
    const ref = cert.metadata?.ownerReferences?.find((r) => r.kind === 'Ingress' && r.controller);
    return ref ? this.d.ingress(cert.metadata?.namespace ?? '', ref.name) : undefined;
  }

  /** Events on the Certificate and on the Ingress it came from. */
  private async event(cert: Cert, type: EventType, reason: string, message: string): Promise<void> {
    await this.d.events.record(
      { apiVersion: 'certroute.io/v1alpha1', kind: 'Certificate', metadata: cert.metadata },
      type,
      reason,
      message,
    );
    const ing = this.ownerIngress(cert);
    if (ing)
      await this.d.events.record(
        { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: ing.metadata },
        type,
        reason,
        `Certificate ${cert.metadata?.name}: ${message}`,
      );
  }
}

/** A Secret is written unless the target is ACM without acm.writeSecret. */
export function writesSecret(cert: Cert): boolean {
  return !!cert.spec.secretName && (!cert.spec.acm || cert.spec.acm.writeSecret === true);
}

export const acmFinalizer = 'certroute.io/acm-certificate';

function knownWindow(status: Status, info: CertInfo): { start: Date; end: Date } | undefined {
  const a = status.ari;
  if (!a || a.certID !== info.ariCertID) return undefined;
  return { start: new Date(a.windowStart), end: new Date(a.windowEnd) };
}

function keyMatches(chain: string, keyPem: string): boolean {
  try {
    const [leaf] = splitChain(chain);
    return !!leaf && new X509Certificate(leaf).checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

function keyOfOrder(s: k8s.V1Secret, orderUrl: string): string | undefined {
  if (s.metadata?.annotations?.[orderAnnotation] !== orderUrl) return undefined;
  const pem = Buffer.from(s.data?.['tls.key'] ?? '', 'base64').toString('utf8');
  return pem || undefined;
}

function nextKeySecret(cert: Cert, name: string, pem: string, orderUrl: string): k8s.V1Secret {
  const { namespace = '', name: certName = '', uid = '' } = cert.metadata ?? {};
  return {
    metadata: {
      name,
      namespace,
      labels: { [managedByLabel]: managedBy, [nextKeyLabel]: 'true' },
      annotations: { [orderAnnotation]: orderUrl },
      ownerReferences: [
        { apiVersion: 'certroute.io/v1alpha1', kind: 'Certificate', name: certName, uid },
      ],
    },
    type: 'Opaque',
    data: { 'tls.key': b64(pem) },
  };
}

function solverTarget(
  cert: Cert,
  account: Account,
  ingress: k8s.V1Ingress | undefined,
): Omit<SolverTarget, 'host' | 'token'> {
  const { namespace = '', name = '', uid = '' } = cert.metadata ?? {};
  const fromIssuer = account.spec.acme.solvers.find((s) => s.http01)?.http01?.ingressClassName;
  return {
    namespace,
    certificate: { name, uid },
    ingressClassName: fromIssuer ?? (ingress ? ingressClassOf(ingress) : undefined),
  };
}

/**
 * A managed Secret as cached: metadata and type, no data at all (no private key, no CA bundle).
 * The leaf of tls.crt, all that reconciles and the expiry monitor read, waits in a slot of its
 * own until the first reader parses it (not here: listing must stay fast for readiness), and
 * only the parsed result is kept after that. Writes always start from a fresh GET.
 */
export function cachedSecret(s: k8s.V1Secret): k8s.V1Secret {
  const crt = s.data?.['tls.crt'];
  const [leaf] = crt ? splitChain(Buffer.from(crt, 'base64').toString('utf8')) : [];
  const slots: CachedCertificateSlots = {
    [pendingLeaf]: leaf ? Buffer.from(leaf).toString('base64') : crt,
    [parsedLeaf]: crt === undefined ? null : undefined,
  };
  return { ...s, data: {}, ...slots };
}

/** Whose is the Secret at a Certificate's secretName, and what does it hold? */
export function classifySecret(secret: k8s.V1Secret, certificate: string): Current {
  const { namespace = '', name = '', labels = {}, annotations = {} } = secret.metadata ?? {};
  const owner = annotations[certificateNameAnnotation];
  // Ours: labelled by certroute, a TLS Secret (not an account or next key), and either
  // naming this Certificate or naming none (a Secret handed over by labelling it).
  if (
    labels[managedByLabel] !== managedBy ||
    labels[nextKeyLabel] === 'true' ||
    secret.type !== 'kubernetes.io/tls'
  )
    return {
      kind: 'foreign',
      reason: 'SecretNotManaged',
      message: `Secret ${namespace}/${name} exists and is not managed by certroute; it is left untouched (delete it or choose another secretName)`,
    };
  if (owner && owner !== certificate)
    return {
      kind: 'foreign',
      reason: 'SecretOwnedByOtherCertificate',
      message: `Secret ${namespace}/${name} belongs to Certificate ${owner}; two Certificates cannot share one Secret`,
    };
  return { kind: 'managed', secret, info: certificateOfSecret(secret) };
}

/** newOrder with profile and replaces; a CA that says "already replaced" gets a plain order. */
async function createOrder(
  account: Account,
  dnsNames: readonly string[],
  replaces: string | undefined,
): Promise<acme.Order> {
  const profile = account.profile;
  try {
    return await account.client.createOrder(newOrderPayload({ dnsNames, profile, replaces }));
  } catch (err) {
    if (!replaces || problemType(err) !== 'alreadyReplaced') throw err;
    return account.client.createOrder(newOrderPayload({ dnsNames, profile }));
  }
}

/** The order's authorizations, each with its solver's challenge and key authorization. */
async function describeAuthorizations(
  account: Account,
  order: acme.Order,
  forced: 'http01' | 'dns01' | undefined,
): Promise<Authz[]> {
  const client = account.client;
  const out: Authz[] = [];
  for (const a of await client.getAuthorizations(order)) {
    const sel = selectSolver(account.spec.acme.solvers, a.identifier.value, !!a.wildcard, forced);
    const ch = sel.ok ? a.challenges.find((c) => c.type === sel.type) : undefined;
    const challenge =
      ch && sel.ok
        ? {
            type: sel.type,
            url: ch.url,
            token: ch.token,
            // http-01: token.thumbprint; dns-01: its SHA-256 digest, the TXT value.
            keyAuthorization: await client.getChallengeKeyAuthorization(ch),
          }
        : undefined;
    out.push({
      url: a.url,
      identifier: a.identifier.value,
      ...(a.wildcard ? { wildcard: true } : {}),
      ...(sel.ok ? { solver: sel.index } : {}),
      ...(challenge ? { challenge } : {}),
    });
  }
  return out;
}

function keyOf(o: k8s.KubernetesObject): string {
  return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}

function tokensOf(c: Cert): Map<string, string> {
  return c.status?.order ? tokensOfOrder(c.status.order) : new Map<string, string>();
}

function route53Of(account: Account, a: Authz) {
  return a.solver === undefined ? undefined : account.spec.acme.solvers[a.solver]?.dns01?.route53;
}

function tokensOfOrder(o: Order): Map<string, string> {
  const m = new Map<string, string>();
  for (const a of o.authorizations)
    if (a.challenge?.type === 'http-01' && a.challenge.keyAuthorization)
      m.set(a.challenge.token, a.challenge.keyAuthorization);
  return m;
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  const x = new Set(a);
  return x.size === new Set(b).size && b.every((n) => x.has(n));
}

function renewBefore(cert: Cert): number | undefined {
  return cert.spec.renewBefore ? parseDuration(cert.spec.renewBefore) : undefined;
}

/** IPs and hostnames in the Ingress's status.loadBalancer. */
export function ingressAddresses(ing: k8s.V1Ingress | undefined): string[] {
  return (ing?.status?.loadBalancer?.ingress ?? []).flatMap((i) =>
    [i.ip, i.hostname].filter((x): x is string => !!x),
  );
}

function b64(s: string): string {
  return Buffer.from(s).toString('base64');
}

function isSelfSigned(pem: string): boolean {
  try {
    const c = new X509Certificate(pem);
    return c.checkIssued(c) && c.verify(c.publicKey);
  } catch {
    return false;
  }
}

function stripTimes(s: Record<string, unknown>): unknown {
  const conds = s.conditions as Condition[] | undefined;
  return {
    ...s,
    conditions: conds
      ?.map((c) => ({ ...c, lastTransitionTime: '' }))
      .sort((a, b) => a.type.localeCompare(b.type)),
  };
}
