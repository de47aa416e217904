import type { PreflightWaitReason } from '../acme/challenges.js';
import type { AccountLookup } from '../acme/issuer.js';
import { reportFailure, type FailureReason } from '../errors.js';
import type { ControllerDeps } from '../kube/controller-deps.js';
import type { ReconcileResult } from '../kube/queue.js';
import type { Tenancy } from '../tenancy/controller.js';
import type { CertificateReporter } from './status.js';
import { keyOf, writesSecret, type Cert } from './types.js';

/** First wait after a failed preflight; doubles per try up to preflightMaxDelayMs. */
export const preflightDelayMs = 2_000;
export const preflightMaxDelayMs = 60_000;

/** The n-th consecutive wait (0-based) of a preflight: 2 s, 4 s, ... up to a minute. */
export function preflightBackoffMs(tries: number): number {
  return Math.min(preflightMaxDelayMs, preflightDelayMs * 2 ** Math.min(tries, 16));
}

export interface OrderGatesDeps extends Pick<ControllerDeps, 'config' | 'log' | 'metrics'> {
  tenancy?: Tenancy | undefined;
  reporter: CertificateReporter;
}

/**
 * Why an order that is due is not placed: a DomainPolicy denies it, the namespace's order
 * budget is used up, the issuer has no account, or the preflight waits. Each says so in Issuing (and in Ready,
 * unless the current certificate is still valid), and with an Event when it starts.
 */
export class OrderGates {
  /** Consecutive failed preflights per Certificate key (the backoff's exponent). */
  private readonly preflightTries = new Map<
    string,
    { reason: PreflightWaitReason; tries: number }
  >();

  constructor(private readonly d: OrderGatesDeps) {}

  /**
   * The preflight said wait (no address, no DNS, the solver route not answering): no order.
   * The conditions say which host and check, an Event says it when it changes, and the
   * Certificate is looked at again with a backoff (and at once when its Ingress changes).
   */
  async waitForPreflight(
    cert: Cert,
    wait: { reason: PreflightWaitReason; message: string },
  ): Promise<ReconcileResult> {
    const key = keyOf(cert);
    // A new reason is progress (an address, then DNS, then the route): its waits start short.
    const prior = this.preflightTries.get(key);
    const tries = prior?.reason === wait.reason ? prior.tries : 0;
    this.preflightTries.set(key, { reason: wait.reason, tries: tries + 1 });
    await this.holdBack(cert, wait.reason, wait.message, () =>
      this.d.metrics.acmePreflightWaits.inc({ reason: wait.reason }),
    );
    return { requeueAfterMs: preflightBackoffMs(tries) };
  }

  /** The Certificates waiting on their preflight (an Ingress changing may end a wait). */
  waitingForPreflight(): IterableIterator<string> {
    return this.preflightTries.keys();
  }

  /** The preflight passed (or the Certificate is gone): the next wait starts from 2 s again. */
  preflightDone(key: string): void {
    this.preflightTries.delete(key);
  }

  /**
   * Does a DomainPolicy allow the order? Denied: no order, and the conditions and an Event say
   * which policy and rule; a valid certificate is kept, just not renewed.
   */
  async denied(cert: Cert): Promise<ReconcileResult | undefined> {
    const tenancy = this.d.tenancy;
    if (!tenancy) return undefined;
    const { issuerRef } = cert.spec;
    const v = tenancy.checkCertificate({
      namespace: cert.metadata?.namespace ?? '',
      dnsNames: cert.spec.dnsNames,
      issuer: { ...(issuerRef.kind ? { kind: issuerRef.kind } : {}), name: issuerRef.name },
      targets: [
        ...(writesSecret(cert) ? ['secret' as const] : []),
        ...(cert.spec.acm ? ['acm' as const] : []),
      ],
    });
    if (v.allowed) return undefined;
    await this.holdBack(cert, 'Denied', v.message, () =>
      this.d.metrics.policyDenials.inc({ kind: 'certificate', reason: v.rule ?? 'unknown' }),
    );
    // A policy change re-enqueues every Certificate; this is only the backstop.
    return { requeueAfterMs: this.d.config.resyncInterval };
  }

  /**
   * The namespace's ordersPerHour is used up: no order until the window frees one. `peek`:
   * only look (before the preflight, so a spent budget is said at once); otherwise take one
   * (after the preflight passed, so an order that cannot go ahead uses no budget).
   */
  async overBudget(cert: Cert, peek = false): Promise<ReconcileResult | undefined> {
    const namespace = cert.metadata?.namespace ?? '';
    const take = peek ? this.d.tenancy?.peekOrder(namespace) : this.d.tenancy?.takeOrder(namespace);
    if (!take || take.ok) return undefined;
    const minutes = Math.ceil(take.retryAfterMs / 60_000);
    const message = `namespace ${namespace} has used its ${take.limit ?? 0} new orders per hour (DomainPolicy ${take.policy ?? '?'}, spec.budgets.ordersPerHour); the next one is allowed in about ${minutes} min`;
    await this.holdBack(cert, 'OrderBudgetExhausted', message, () =>
      this.d.metrics.orderBudgetExhausted.inc({ namespace }),
    );
    return { requeueAfterMs: take.retryAfterMs };
  }

  /** No account: Ready stays as the current certificate allows; Issuing says why. */
  async waitForIssuer(
    cert: Cert,
    lookup: Extract<AccountLookup, { ok: false }>,
  ): Promise<ReconcileResult> {
    const before = cert.status?.conditions?.find((c) => c.type === 'Issuing');
    // A missing issuer is said once when it starts (the same fault until it changes). Not an
    // unready one: every restart and change of leader shows that briefly.
    const news =
      lookup.reason === 'IssuerNotFound' &&
      (before?.status !== 'False' || before.reason !== lookup.reason);
    await this.writeHeld(cert, lookup.reason, lookup.message);
    if (news) await this.d.reporter.event(cert, 'Warning', lookup.reason, lookup.message);
    // The issuer's Ready event re-enqueues; this is only the backstop.
    return { requeueAfterMs: 60_000 };
  }

  /**
   * A policy hold: an Event (and the failure log and metrics) when the reason or message is
   * new; `count` is called then, before anything is written, so a reader who sees the status
   * or the Event also sees the metric.
   */
  private async holdBack(
    cert: Cert,
    reason: 'Denied' | 'OrderBudgetExhausted' | PreflightWaitReason,
    message: string,
    count: () => void,
  ): Promise<void> {
    const prior = cert.status?.conditions?.find((c) => c.type === 'Issuing');
    const fresh = prior?.reason !== reason || prior.message !== message;
    if (fresh) count();
    await this.writeHeld(cert, reason, message);
    if (!fresh) return;
    reportFailure(this.d.log, this.d.metrics.failures, 'certificates', reason, message, {
      namespace: cert.metadata?.namespace,
      name: cert.metadata?.name,
    });
    await this.d.reporter.event(cert, 'Warning', reason, message);
  }

  /** Issuing=False with the reason; Ready=False too unless the current certificate is valid. */
  private async writeHeld(cert: Cert, reason: FailureReason, message: string): Promise<void> {
    const valid = cert.status?.notAfter ? Date.parse(cert.status.notAfter) > Date.now() : false;
    const issuing = { type: 'Issuing', status: 'False' as const, reason, message };
    await this.d.reporter.write(
      cert,
      {},
      valid ? [issuing] : [{ type: 'Ready', status: 'False', reason, message }, issuing],
    );
  }
}
