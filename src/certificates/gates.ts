import type { AccountLookup } from '../acme/issuer.js';
import { reportFailure, type FailureReason } from '../errors.js';
import type { ControllerDeps } from '../kube/controller-deps.js';
import type { ReconcileResult } from '../kube/queue.js';
import type { Tenancy } from '../tenancy/controller.js';
import type { CertificateReporter } from './status.js';
import { writesSecret, type Cert } from './types.js';

export interface OrderGatesDeps extends Pick<ControllerDeps, 'config' | 'log' | 'metrics'> {
  tenancy?: Tenancy | undefined;
  reporter: CertificateReporter;
}

/**
 * Why an order that is due is not placed: a DomainPolicy denies it, the namespace's order
 * budget is used up, or the issuer has no account. Each says so in Issuing (and in Ready,
 * unless the current certificate is still valid), and with an Event when it starts.
 */
export class OrderGates {
  constructor(private readonly d: OrderGatesDeps) {}

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

  /** The namespace's ordersPerHour is used up: no order until the window frees one. */
  async overBudget(cert: Cert): Promise<ReconcileResult | undefined> {
    const namespace = cert.metadata?.namespace ?? '';
    const take = this.d.tenancy?.takeOrder(namespace);
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
    reason: 'Denied' | 'OrderBudgetExhausted',
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
