import { createPrivateKey, X509Certificate } from 'node:crypto';
import type * as acme from 'acme-client';
import type { ChallengeTarget, Challenges, PreflightResult } from '../acme/challenges.js';
import { problemType, retryAfterOf } from '../acme/client.js';
import type { Account, IssuerController } from '../acme/issuer.js';
import { issuerKeyOf } from '../acme/issuer-ref.js';
import { orderer, type CaLimits } from '../acme/limits.js';
import { createOrder, describeAuthorizations, describeInvalid } from '../acme/orders.js';
import { Dns01ConfigError } from '../acme/solvers/dns01.js';
import type { TokenServer } from '../acme/solvers/http01.js';
import { parseDuration } from '../config/index.js';
import { describeError, reportFailure, type FailureReason } from '../errors.js';
import type { ReconcileResult } from '../kube/queue.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { createCsr } from '../acme/keys.js';
import {
  failedStatus,
  heldStatus,
  issuedStatus,
  orderStep,
  orderTimedOut,
  pollDelayMs,
  sameNames,
  tokensOfOrder,
} from './machine.js';
import type { PendingKeys } from './pending-key.js';
import { renewalTime } from './renewal.js';
import type { CertificateReporter } from './status.js';
import type { CertificateStore, Delivery } from './store.js';
import {
  keyOf,
  writesSecret,
  type Cert,
  type Current,
  type Order,
  type Problem,
  type Status,
} from './types.js';
import { parseCertificate, splitChain } from './x509.js';

export interface IssuanceDeps {
  log: Logger;
  metrics: Metrics;
  issuers: IssuerController;
  tokens: TokenServer;
  challenges: Challenges;
  reporter: CertificateReporter;
  keys: PendingKeys;
  /** The stores a Certificate's certificate is written into, in order. */
  stores: (cert: Cert) => CertificateStore[];
  /** Where the HTTP-01 solver objects of a Certificate go. */
  solverTarget: (cert: Cert, account: Account) => ChallengeTarget;
  /** The addresses the Certificate's hosts must resolve to before HTTP-01 is attempted. */
  addresses: (cert: Cert) => string[];
  /** The Ingress a Certificate came from (its address gates HTTP-01); undefined if by hand. */
  sourceIngress: (cert: Cert) => { namespace: string; name: string } | undefined;
  /** The preflight says wait: no order; returns when to look again. */
  waitForPreflight: (
    cert: Cert,
    wait: Extract<PreflightResult, { wait: unknown }>['wait'],
  ) => Promise<ReconcileResult>;
  /** The preflight passed: its backoff starts over. */
  preflightDone: (key: string) => void;
  /** An order not valid this long after it was placed is abandoned (--order-timeout). */
  orderTimeoutMs: number;
  /** A new certificate was stored: cached renewal advice for it is stale. */
  onIssued: (key: string) => void;
  pollMs: number;
  retryBaseMs: number;
  /** certroute's own count of the CA's limits, shared by every Certificate (in memory). */
  limits: CaLimits;
}

/**
 * The I/O of one ACME order, a step per reconcile: place it, authorize it, finalize it, store
 * its certificate, or fail it. Which step comes next is machine.ts's decision; this file does
 * what it says and writes the status it returns.
 */
export class Issuance {
  constructor(private readonly d: IssuanceDeps) {}

  /**
   * `admit` runs once the preflight passed, before the CA's limits are counted: the namespace's
   * order budget, taken only by an order that could go ahead. False: no order (admit said why).
   * Returns the status (with the order when one was placed), or when to look again while the
   * preflight waits.
   */
  async place(
    cert: Cert,
    status: Status,
    current: Current,
    account: Account,
    log: Logger,
    admit: () => Promise<boolean> = () => Promise.resolve(true),
  ): Promise<{ status: Status } | { wait: ReconcileResult }> {
    const admitted = await this.admitted(cert, status, account, admit);
    if (admitted !== true)
      return admitted ? { wait: admitted } : { status: { ...status, order: undefined } };
    return { status: await this.order(cert, status, current, account, log) };
  }

  /** newOrder, once everything before it passed: the CA's limits, then the CA. */
  private async order(
    cert: Cert,
    status: Status,
    current: Current,
    account: Account,
    log: Logger,
  ): Promise<Status> {
    const dnsNames = cert.spec.dnsNames;
    const info = current.kind === 'managed' ? current.info : undefined;
    const replaces =
      status.ari && info?.ariCertID === status.ari.certID ? info.ariCertID : undefined;
    // The CA's limits as certroute counts them: when one would be crossed, no newOrder.
    const who = orderer(account);
    const verdict = this.d.limits.take(who, dnsNames, Date.now());
    if (!verdict.ok) {
      await this.hold(cert, status, verdict.limit, verdict.message, verdict.untilMs);
      return { ...status, order: undefined };
    }
    let order: acme.Order;
    try {
      order = await createOrder(account, dnsNames, replaces);
    } catch (err) {
      const limited = problemType(err) === 'rateLimited';
      if (limited) {
        // Per scope: every Certificate in it waits too, others go ahead.
        const wait = retryAfterOf(err) ?? this.d.retryBaseMs;
        const scope = this.d.limits.rateLimited(
          who,
          dnsNames,
          describeError(err),
          wait,
          Date.now(),
        );
        this.d.metrics.acmeRateLimited.inc({ scope: scope.kind });
      }
      const reason = limited ? 'RateLimited' : 'OrderFailed';
      await this.fail(cert, status, reason, `newOrder: ${describeError(err)}`, undefined);
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
    await this.d.reporter.write(cert, { order: next.order }, [
      {
        type: 'Issuing',
        status: 'True',
        reason: 'OrderPlaced',
        message: `ACME order ${order.url}${replaces ? ' (replacing the current certificate)' : ''}`,
      },
    ]);
    this.d.tokens.set(keyOf(cert), tokensOfOrder(next.order));
    log.info({ order: order.url, replaces }, 'ACME order placed');
    return next;
  }

  /** One step forward on the order in flight. */
  async advance(
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
    const step = orderStep(order.status);
    if (orderTimedOut(step, o.createdAt, Date.now(), this.d.orderTimeoutMs))
      return this.timedOut(cert, status, account, order, log);
    switch (step) {
      case 'authorize':
        return this.authorize(cert, status, account, order, log);
      case 'finalize': {
        const key = await this.d.keys.get(cert);
        const csr = await createCsr(cert.spec.dnsNames, key);
        await account.client.finalizeOrder(order, csr);
        return { requeueAfterMs: this.d.pollMs };
      }
      case 'poll':
        return { requeueAfterMs: this.d.pollMs };
      case 'store':
        await this.store(cert, status, account, order, log);
        return { requeueAfterMs: 100 };
      case 'fail': {
        const invalid = await describeInvalid(account, order);
        for (const host of invalid.hosts)
          this.d.limits.failedValidation(orderer(account), host, Date.now());
        await this.fail(cert, status, 'OrderInvalid', invalid.message, o);
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
    const want = this.d.addresses(cert);
    const target = this.d.solverTarget(cert, account);
    const waiting: string[] = [];
    for (const a of await account.client.getAuthorizations(order)) {
      // valid: done; invalid: the order turns invalid and the next poll reports it.
      if (a.status !== 'pending') continue;
      const mine = o.authorizations.find((x) => x.url === a.url);
      let wait: string | undefined;
      try {
        wait = await this.d.challenges.solve(account, a, mine, want, target);
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
      await this.d.reporter.write(cert, {}, [
        {
          type: 'Issuing',
          status: 'True',
          reason: 'WaitingForChallenge',
          message: waiting.join('; '),
        },
      ]);
    }
    const age = Date.now() - Date.parse(o.createdAt);
    return { requeueAfterMs: pollDelayMs(waiting.length > 0, age, this.d.pollMs) };
  }

  /** The valid order's chain and the key that signed its CSR, into the Certificate's stores. */
  private async store(
    cert: Cert,
    status: Status,
    account: Account,
    order: acme.Order,
    log: Logger,
  ): Promise<void> {
    const chain = await account.client.getCertificate(order, account.preferredChain);
    const key = await this.d.keys.get(cert);
    const info = parseCertificate(chain);
    if (!keyMatches(chain, key)) {
      // The key that signed the CSR is gone (deleted by hand): this certificate is unusable.
      const message = 'the issued certificate does not match the stored private key';
      await this.fail(cert, status, 'KeyMismatch', message, status.order);
      return;
    }
    const o = status.order as Order;
    const delivered = await this.deliver(cert, status, chain, key);
    if (!delivered.ok) {
      await this.fail(cert, status, delivered.reason, delivered.message, o);
      return;
    }
    await this.d.reporter.storeWarnings(cert, delivered.warnings);
    this.d.metrics.acmeOrders.inc({ result: 'valid' });
    // Before status forgets the order: a crash in between must not strand TXT records.
    await this.cleanup(cert, log, o);
    const renewal = renewalTime(
      { notBefore: info.notBefore, notAfter: info.notAfter, renewBeforeMs: renewBefore(cert) },
      undefined,
      new Date(),
    );
    const next = issuedStatus(status, o, info, renewal, delivered.arn, new Date());
    await this.d.reporter.write(cert, next.fields, next.conditions);
    this.d.onIssued(keyOf(cert));
    this.d.tokens.set(keyOf(cert), new Map<string, string>());
    // Only now, with the Secret and status written, is the key's copy no longer needed.
    await this.d.keys.delete(cert);
    const where = [
      ...(writesSecret(cert) ? [`Secret ${cert.spec.secretName}`] : []),
      ...(delivered.arn ? [`ACM ${delivered.arn}`] : []),
    ].join(' and ');
    const msg = `issued ${cert.spec.dnsNames.join(', ')} into ${where}, valid until ${info.notAfter.toISOString()}`;
    log.info({ serial: info.serialNumber, notAfter: info.notAfter }, 'certificate issued');
    await this.d.reporter.event(cert, 'Normal', 'Issued', msg);
  }

  /** Each store in order; the first refusal fails the order. */
  private async deliver(cert: Cert, status: Status, chain: string, key: string) {
    let arn: string | undefined;
    const warnings: Problem[] = [];
    for (const store of this.d.stores(cert)) {
      const r: Delivery = await store.write(cert, status, chain, key);
      if (!r.ok) return r;
      arn = r.arn ?? arn;
      warnings.push(...(r.warnings ?? []));
    }
    return { ok: true as const, warnings, ...(arn ? { arn } : {}) };
  }

  /**
   * The preflight (acme/challenges.ts) and then admit: true to go ahead; false when something
   * failed or admit refused (already said); a ReconcileResult while the preflight waits.
   */
  private async admitted(
    cert: Cert,
    status: Status,
    account: Account,
    admit: () => Promise<boolean>,
  ): Promise<boolean | ReconcileResult> {
    const { dnsNames, challenge } = cert.spec;
    const pre = await this.d.challenges.preflight(account, dnsNames, challenge, {
      ingress: this.d.sourceIngress(cert),
      want: this.d.addresses(cert),
      target: this.d.solverTarget(cert, account),
    });
    if (!pre.ok && 'wait' in pre) return this.d.waitForPreflight(cert, pre.wait);
    this.d.preflightDone(keyOf(cert));
    if (!pre.ok) {
      await this.fail(cert, status, pre.failure.reason, pre.failure.message, undefined);
      return false;
    }
    return admit();
  }

  /**
   * The order ran past --order-timeout: its pending authorizations are deactivated (RFC 8555
   * §7.5.2, so the CA stops holding them), then it fails as any attempt does: solver objects
   * and TXT values removed, the reason said, the retry backed off.
   */
  private async timedOut(
    cert: Cert,
    status: Status,
    account: Account,
    order: acme.Order,
    log: Logger,
  ): Promise<void> {
    const o = status.order as Order;
    let deactivated = 0;
    for (const a of await account.client.getAuthorizations(order)) {
      if (a.status !== 'pending') continue;
      try {
        await account.client.deactivateAuthorization(a);
        deactivated++;
      } catch (err) {
        log.warn({ authz: a.url, err: describeError(err) }, 'deactivating an authorization failed');
      }
    }
    this.d.metrics.acmeOrdersTimedOut.inc();
    const age = Math.round((Date.now() - Date.parse(o.createdAt)) / 1000);
    const message = `order ${o.url} still ${order.status} ${age}s after it was placed (--order-timeout ${Math.round(this.d.orderTimeoutMs / 1000)}s): abandoned, ${deactivated} pending authorization(s) deactivated`;
    await this.fail(cert, status, 'OrderTimedOut', message, o);
  }

  /** A failed attempt: cleaned up, counted, said in status and Events, retried with backoff. */
  async fail(
    cert: Cert,
    status: Status,
    reason: FailureReason,
    message: string,
    order: Order | undefined,
  ): Promise<void> {
    this.d.keys.forgetMemory(cert);
    const failed = failedStatus(
      status,
      reason,
      message,
      order,
      new Date(),
      this.d.retryBaseMs,
      retryAfterOf(message),
    );
    if (order)
      this.d.metrics.acmeOrders.inc({ result: reason === 'OrderInvalid' ? 'invalid' : 'error' });
    await this.cleanup(cert, this.d.log, order ?? status.order);
    reportFailure(this.d.log, this.d.metrics.failures, 'certificates', reason, message, {
      namespace: cert.metadata?.namespace,
      name: cert.metadata?.name,
      attempt: failed.failedAttempts,
      nextRetryTime: failed.nextRetryTime,
    });
    await this.d.reporter.write(cert, failed.fields, failed.conditions);
    this.d.tokens.set(keyOf(cert), new Map<string, string>());
    await this.d.reporter.event(
      cert,
      'Warning',
      reason,
      `${message} (retry at ${failed.nextRetryTime})`,
    );
  }

  /**
   * A CA limit certroute counts would be crossed: no order, nothing failed (the backoff does
   * not grow); the Certificate says why and is looked at again when the limit frees.
   */
  private async hold(
    cert: Cert,
    status: Status,
    limit: string,
    message: string,
    untilMs: number,
  ): Promise<void> {
    this.d.metrics.acmeLocalLimit.inc({ limit });
    const held = heldStatus(status, 'RateLimited', message, new Date(), untilMs);
    reportFailure(this.d.log, this.d.metrics.failures, 'certificates', 'RateLimited', message, {
      namespace: cert.metadata?.namespace,
      name: cert.metadata?.name,
      limit,
      nextRetryTime: held.nextRetryTime,
    });
    await this.d.reporter.write(cert, held.fields, held.conditions);
    await this.d.reporter.event(
      cert,
      'Warning',
      'RateLimited',
      `${message} (next attempt at ${held.nextRetryTime})`,
    );
  }

  /** spec.dnsNames changed while an order was in flight: that order is abandoned. */
  async abandonIfRenamed(cert: Cert, status: Status, log: Logger): Promise<Status> {
    if (!status.order || sameNames(status.order.dnsNames, cert.spec.dnsNames)) return status;
    log.info('dnsNames changed: abandoning the order in flight');
    return this.abandon(cert, status, 'dnsNames changed');
  }

  /** The order is dropped without a verdict (its names changed): cleaned up and forgotten. */
  async abandon(cert: Cert, status: Status, message: string): Promise<Status> {
    const o = status.order as Order;
    const lastOrder = {
      url: o.url,
      result: 'abandoned' as const,
      finishedAt: new Date().toISOString(),
      message,
    };
    await this.cleanup(cert, this.d.log, o);
    await this.d.reporter.write(cert, { order: null, lastOrder }, []);
    this.d.tokens.set(keyOf(cert), new Map<string, string>());
    return { ...status, order: undefined, lastOrder };
  }

  private async cleanup(cert: Cert, log: Logger, order?: Order): Promise<void> {
    const lookup = this.d.issuers.account(
      issuerKeyOf(cert.metadata?.namespace, cert.spec.issuerRef),
    );
    await this.d.challenges.cleanup(
      cert.metadata?.namespace ?? '',
      cert.metadata?.name ?? '',
      lookup.ok && order ? lookup.account : undefined,
      order?.authorizations ?? [],
      log,
    );
  }
}

export function renewBefore(cert: Cert): number | undefined {
  return cert.spec.renewBefore ? parseDuration(cert.spec.renewBefore) : undefined;
}

function keyMatches(chain: string, keyPem: string): boolean {
  try {
    const [leaf] = splitChain(chain);
    return !!leaf && new X509Certificate(leaf).checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}
