import * as k8s from '@kubernetes/client-node';
import type { Logger } from '../../observability/logger.js';
import type { CertificateStore, Delivery } from '../store.js';
import { keyOf, type Cert, type Current, type Status } from '../types.js';
import { parseCertificate } from '../x509.js';
import { AcmError, albAnnotation, mergeArns, type Acm, type RemoveResult } from './acm-client.js';

export interface AcmStoreDeps {
  kubeConfig: k8s.KubeConfig;
  acm: Acm;
  log: Logger;
  /** The Ingress that controls a Certificate, whose ALB annotation names the ARN. */
  ownerIngress: (cert: Cert) => k8s.V1Ingress | undefined;
}

/**
 * ACM as a target: the certificate is imported (re-imported to the same ARN on renewal), the
 * ARN is written to the owner Ingress's ALB annotation, and on deletion the certificate is
 * removed from ACM once no listener uses it.
 */
export class AcmStore implements CertificateStore {
  private readonly net: k8s.NetworkingV1Api;

  constructor(private readonly d: AcmStoreDeps) {
    this.net = d.kubeConfig.makeApiClient(k8s.NetworkingV1Api);
  }

  /** The current certificate is the one imported under status.acm's ARN. */
  async current(cert: Cert): Promise<Current> {
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

  /** The ACM import (same ARN on renewal) plus the Ingress annotation. */
  async write(cert: Cert, status: Status, chain: string, key: string): Promise<Delivery> {
    const acm = cert.spec.acm;
    if (!acm) return { ok: true };
    const previous = status.acm?.certificateArn;
    let arn: string;
    try {
      arn = await this.import(acm.region, chain, key, keyOf(cert), previous);
    } catch (err) {
      // Only ACM's own refusals fail the order; a network error retries with the order kept.
      if (!(err instanceof AcmError)) throw err;
      return { ok: false, reason: 'ACMImportFailed', message: err.message };
    }
    await this.annotateIngress(cert, arn, previous);
    return { ok: true, arn };
  }

  /**
   * A deleted Certificate's ACM certificate: the annotation stops naming it first (the load
   * balancer lets go only then), then ACM deletes it if certroute imported it.
   */
  async release(cert: Cert, arn: string): Promise<RemoveResult | undefined> {
    if (!cert.spec.acm) return undefined;
    await this.annotateIngress(cert, undefined, arn);
    return this.d.acm.remove(cert.spec.acm.region, arn);
  }

  /**
   * Re-imports to the previous ARN; when ACM refuses that one (deleted by hand, another
   * region, another key type), imports afresh rather than failing every renewal.
   */
  private async import(
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
      this.d.log.warn({ arn: previous, err: err.message }, 'ACM re-import refused; importing anew');
      return this.d.acm.import(region, chain, key, name);
    }
  }

  /** alb.ingress.kubernetes.io/certificate-arn on the owner Ingress, the user's ARNs kept. */
  async annotateIngress(cert: Cert, arn: string | undefined, previous?: string) {
    const ing = this.d.ownerIngress(cert);
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
}
