import type * as AcmModule from '@aws-sdk/client-acm';
import { instrumentAwsClient } from '../../aws/instrument.js';
import { splitChain } from '../x509.js';
import type { Metrics } from '../../observability/metrics.js';

export const ownerTag = 'certroute.io/owner';
export const certificateTag = 'certroute.io/certificate';
export const albAnnotation = 'alb.ingress.kubernetes.io/certificate-arn';

/** ACM said no in a way the user must see (invalid certificate, limits, access). */
export class AcmError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export type RemoveResult = 'deleted' | 'gone' | 'not-ours' | 'in-use';

type AcmSdk = typeof AcmModule;
type ACMClient = AcmModule.ACMClient;
let sdk: Promise<AcmSdk> | undefined;
/**
 * The ACM SDK, loaded on first use: most installs never import into ACM, and loading it costs
 * about 50 ms of start-up CPU (the bundle keeps it in a lazy module).
 */
function acmSdk(): Promise<AcmSdk> {
  sdk ??= import('@aws-sdk/client-acm');
  return sdk;
}

/**
 * ACM behind the few calls certroute needs: import (and re-import to the same ARN), read
 * back the certificate, and delete only what it imported (by its owner tag). Clients per
 * region; every attempt counted in certroute_aws_api_calls_total{service="acm"}.
 */
export class Acm {
  private readonly clients = new Map<string, ACMClient>();

  constructor(
    private readonly metrics: Metrics,
    private readonly ownerId: string,
  ) {}

  private async client(region: string): Promise<{ c: ACMClient; acm: AcmSdk }> {
    const acm = await acmSdk();
    let c = this.clients.get(region);
    if (!c) {
      c = new acm.ACMClient({
        region,
        maxAttempts: 8,
        retryMode: 'adaptive',
        requestHandler: { requestTimeout: 30_000, connectionTimeout: 5_000 },
      });
      instrumentAwsClient(c, 'acm', this.metrics);
      this.clients.set(region, c);
    }
    return { c, acm };
  }

  /**
   * Imports the chain and key; with `arn`, re-imports in place (ACM keeps the ARN, so the
   * load balancer never needs a new one). ACM refuses tags on a re-import, so they are added
   * separately then.
   */
  async import(
    region: string,
    chainPem: string,
    keyPem: string,
    certificate: string,
    arn?: string,
  ): Promise<string> {
    const [leaf = '', ...rest] = splitChain(chainPem);
    const { c, acm } = await this.client(region);
    try {
      const res = await c.send(
        new acm.ImportCertificateCommand({
          Certificate: Buffer.from(leaf),
          PrivateKey: Buffer.from(keyPem),
          ...(rest.length > 0 ? { CertificateChain: Buffer.from(rest.join('')) } : {}),
          ...(arn ? { CertificateArn: arn } : { Tags: this.tags(certificate) }),
        }),
      );
      if (!res.CertificateArn) throw new AcmError('NoArn', 'ImportCertificate returned no ARN');
      // ACM keeps tags across a re-import; not every implementation does (moto drops them).
      // The owner tag is what deletion trusts, so it is set again, idempotently.
      if (arn)
        await c.send(
          new acm.AddTagsToCertificateCommand({
            CertificateArn: arn,
            Tags: this.tags(certificate),
          }),
        );
      return res.CertificateArn;
    } catch (err) {
      throw asAcmError(err);
    }
  }

  private tags(certificate: string) {
    return [
      { Key: ownerTag, Value: this.ownerId },
      { Key: certificateTag, Value: certificate },
    ];
  }

  /** The imported leaf certificate (public), or undefined when the ARN is gone. */
  async leaf(region: string, arn: string): Promise<string | undefined> {
    const { c, acm } = await this.client(region);
    try {
      const res = await c.send(new acm.GetCertificateCommand({ CertificateArn: arn }));
      return res.Certificate;
    } catch (err) {
      if ((err as { name?: string }).name === 'ResourceNotFoundException') return undefined;
      throw asAcmError(err);
    }
  }

  /** Deletes the certificate if certroute (this owner id) imported it. */
  async remove(region: string, arn: string): Promise<RemoveResult> {
    const { c, acm } = await this.client(region);
    try {
      const tags = await c.send(new acm.ListTagsForCertificateCommand({ CertificateArn: arn }));
      const owner = tags.Tags?.find((t) => t.Key === ownerTag)?.Value;
      if (owner !== this.ownerId) return 'not-ours';
      await c.send(new acm.DeleteCertificateCommand({ CertificateArn: arn }));
      return 'deleted';
    } catch (err) {
      const name = (err as { name?: string }).name;
      if (name === 'ResourceNotFoundException') return 'gone';
      if (name === 'ResourceInUseException') return 'in-use';
      throw asAcmError(err);
    }
  }

  // ------------------------------------------------ ACM-issued certificates (spec.acm.issued)

  /**
   * Requests a certificate ACM issues itself, validated by DNS. `token` makes a retried
   * request (a crash before the ARN reached status) return the same ARN (ACM keeps it an hour).
   */
  async request(region: string, dnsNames: string[], token: string, certificate: string) {
    const { c, acm } = await this.client(region);
    try {
      const res = await c.send(
        new acm.RequestCertificateCommand({
          DomainName: dnsNames[0],
          SubjectAlternativeNames: dnsNames,
          ValidationMethod: 'DNS',
          IdempotencyToken: token,
          Tags: this.tags(certificate),
        }),
      );
      if (!res.CertificateArn) throw new AcmError('NoArn', 'RequestCertificate returned no ARN');
      return res.CertificateArn;
    } catch (err) {
      throw asAcmError(err);
    }
  }

  /** What ACM says of a certificate it issues, or undefined when the ARN is gone. */
  async describe(region: string, arn: string): Promise<IssuedView | undefined> {
    const { c, acm } = await this.client(region);
    try {
      const res = await c.send(new acm.DescribeCertificateCommand({ CertificateArn: arn }));
      const d = res.Certificate ?? {};
      return {
        status: d.Status ?? 'UNKNOWN',
        ...(d.FailureReason ? { failureReason: d.FailureReason } : {}),
        validation: (d.DomainValidationOptions ?? []).flatMap((o) =>
          o.ResourceRecord?.Name && o.ResourceRecord.Value
            ? [
                {
                  name: o.ResourceRecord.Name,
                  type: o.ResourceRecord.Type ?? 'CNAME',
                  value: o.ResourceRecord.Value,
                },
              ]
            : [],
        ),
        ...(d.NotBefore ? { notBefore: d.NotBefore } : {}),
        ...(d.NotAfter ? { notAfter: d.NotAfter } : {}),
        ...(d.Serial ? { serial: d.Serial } : {}),
        ...(d.RenewalSummary?.RenewalStatus
          ? { renewalStatus: d.RenewalSummary.RenewalStatus }
          : {}),
        ...(d.RenewalSummary?.RenewalStatusReason
          ? { renewalReason: d.RenewalSummary.RenewalStatusReason }
          : {}),
      };
    } catch (err) {
      if ((err as { name?: string }).name === 'ResourceNotFoundException') return undefined;
      throw asAcmError(err);
    }
  }
}

/** DescribeCertificate, reduced to what the ACM-issued flow decides on. */
export interface IssuedView {
  /** PENDING_VALIDATION, ISSUED, INACTIVE, EXPIRED, VALIDATION_TIMED_OUT, REVOKED, FAILED. */
  status: string;
  failureReason?: string;
  /** DomainValidationOptions[].ResourceRecord: the validation records to publish. */
  validation: { name: string; type: string; value: string }[];
  notBefore?: Date;
  notAfter?: Date;
  serial?: string;
  renewalStatus?: string;
  renewalReason?: string;
}

/** ACM's own answers (HTTP 4xx) become AcmError; network and server errors stay as they are. */
function asAcmError(err: unknown): Error {
  if (err instanceof AcmError) return err;
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (!status || status >= 500) return err instanceof Error ? err : new Error(String(err));
  const name = (err as { name?: string }).name ?? 'Error';
  const message = err instanceof Error ? err.message : String(err);
  return new AcmError(name, `ACM ${name}: ${message}`);
}

/**
 * The Ingress's certificate-arn annotation with certroute's ARN in it: the user's ARNs are
 * kept in their order, a previous ARN of certroute's is replaced, and nothing is duplicated.
 */
export function mergeArns(
  current: string | undefined,
  ours: string | undefined,
  previous?: string,
): string {
  const theirs = (current ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s && s !== ours && s !== previous);
  return [...theirs, ...(ours ? [ours] : [])].join(',');
}
