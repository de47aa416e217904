import { renewalRecorded } from './manual.js';
import type { SignerLookup, IssuerController } from '../acme/issuer.js';
import type { LocalSigner } from '../acme/local-issuer.js';
import { generatePrivateKey } from '../acme/keys.js';
import { parseDuration } from '../config/index.js';
import { describeError, type FailureReason } from '../errors.js';
import type { ReconcileResult } from '../kube/queue.js';
import type { Logger } from '../observability/logger.js';
import { renewBefore } from './issuance.js';
import { signCertificate, type CaKeyPair } from './local-ca.js';
import { validityFields } from './machine.js';
import { renewalTime } from './renewal.js';
import type { CertificateReporter } from './status.js';
import type { CertificateStore } from './store.js';
import {
  keyOf,
  writesSecret,
  type Cert,
  type Current,
  type Problem,
  type Status,
} from './types.js';
import { parseCertificate } from './x509.js';

export interface LocalIssuanceDeps {
  issuers: Pick<IssuerController, 'readCa'>;
  reporter: CertificateReporter;
  stores: (cert: Cert) => CertificateStore[];
  /**
   * What the controller decides before any issuance, ACME or local: the current certificate
   * is fine, a DomainPolicy denies it, the issuer is not ready, a dry run (a wait), or go.
   */
  due: (
    cert: Cert,
    status: Status,
    current: Current,
    lookup: SignerLookup,
    log: Logger,
  ) => Promise<ReconcileResult | undefined>;
  /** A failed attempt, as for an ACME order: said, backed off, retried. */
  fail: (cert: Cert, status: Status, reason: FailureReason, message: string) => Promise<void>;
  onIssued: (key: string) => void;
}

/** spec.duration, default 90 days (CA and SelfSigned issuers). */
export const defaultDurationMs = 90 * 86_400_000;

export function durationOf(cert: Cert): number {
  return (cert.spec.duration ? parseDuration(cert.spec.duration) : undefined) ?? defaultDurationMs;
}

/**
 * A Certificate of a CA or SelfSigned issuer: the same renewal decision as for ACME (machine.ts
 * via the controller's `due`), then one step: a fresh key, signed here (local-ca.ts), written
 * into the same stores. No order, no challenge, nothing to resume: a crash before the write
 * signs again on the next reconcile.
 */
export class LocalIssuance {
  constructor(private readonly d: LocalIssuanceDeps) {}

  async reconcile(
    cert: Cert,
    current: Current,
    lookup: SignerLookup,
    log: Logger,
  ): Promise<ReconcileResult | void> {
    const status: Status = cert.status ?? {};
    const wait = await this.d.due(cert, status, current, lookup, log);
    if (wait) return wait;
    if (!lookup.ok) return;
    await this.issue(cert, status, lookup.signer, log);
    return { requeueAfterMs: 100 };
  }

  /** A fresh key and its certificate, or why signing failed. */
  private async sign(
    cert: Cert,
    ca: CaKeyPair | undefined,
  ): Promise<{ keyPem: string; certPem: string; caPem: string } | Problem> {
    try {
      const keyPem = await generatePrivateKey(cert.spec.privateKey?.algorithm ?? 'ECDSA-P256');
      const signed = await signCertificate({
        dnsNames: cert.spec.dnsNames,
        commonName: cert.spec.commonName,
        durationMs: durationOf(cert),
        isCA: cert.spec.isCA ?? false,
        usages: cert.spec.usages,
        keyPem,
        ca,
        now: new Date(),
      });
      return { keyPem, ...signed };
    } catch (err) {
      return { reason: 'SigningFailed', message: `signing: ${describeError(err)}` };
    }
  }

  private async issue(cert: Cert, status: Status, signer: LocalSigner, log: Logger) {
    let ca: CaKeyPair | undefined;
    if (signer.kind === 'ca') {
      const r = await this.d.issuers.readCa(signer);
      if (!r.ok) return this.d.fail(cert, status, r.reason, r.message);
      ca = r.ca;
    }
    const signed = await this.sign(cert, ca);
    if ('reason' in signed) return this.d.fail(cert, status, signed.reason, signed.message);
    const { keyPem } = signed;
    let arn: string | undefined;
    const warnings: Problem[] = [];
    for (const store of this.d.stores(cert)) {
      const r = await store.write(cert, status, signed.certPem, keyPem, { ca: signed.caPem });
      if (!r.ok) return this.d.fail(cert, status, r.reason, r.message);
      arn = r.arn ?? arn;
      warnings.push(...(r.warnings ?? []));
    }
    const info = parseCertificate(signed.certPem);
    const now = new Date();
    const renewal = renewalTime(
      { notBefore: info.notBefore, notAfter: info.notAfter, renewBeforeMs: renewBefore(cert) },
      undefined,
      now,
    );
    const by =
      signer.kind === 'ca' ? `the CA in ${signer.namespace}/${signer.secretName}` : 'itself';
    await this.d.reporter.write(
      cert,
      {
        order: null,
        ...validityFields(info, renewal),
        ari: null,
        failedAttempts: 0,
        lastFailure: null,
        nextRetryTime: null,
        revision: (status.revision ?? 0) + 1,
        ...(arn ? { acm: { certificateArn: arn } } : {}),
        // A renewal asked for by hand (kubectl certroute renew) is done: record its token.
        ...renewalRecorded(cert, status),
      },
      [
        {
          type: 'Ready',
          status: 'True',
          reason: 'Issued',
          message: `certificate valid until ${info.notAfter.toISOString()}`,
        },
        { type: 'Issuing', status: 'False', reason: 'Issued', message: `signed by ${by}` },
      ],
    );
    await this.d.reporter.storeWarnings(cert, warnings);
    this.d.onIssued(keyOf(cert));
    const where = [
      ...(writesSecret(cert) ? [`Secret ${cert.spec.secretName}`] : []),
      ...(arn ? [`ACM ${arn}`] : []),
    ].join(' and ');
    log.info({ serial: info.serialNumber, notAfter: info.notAfter, by }, 'certificate signed');
    await this.d.reporter.event(
      cert,
      'Normal',
      'Issued',
      `signed ${cert.spec.dnsNames.join(', ')} by ${by} into ${where}, valid until ${info.notAfter.toISOString()}`,
    );
  }
}
