import type * as k8s from '@kubernetes/client-node';
import type { Certificate, CertificateStatus } from '../api/v1alpha1.js';
import type { FailureReason } from '../errors.js';
import type { CertInfo } from './x509.js';

export type Cert = Certificate & k8s.KubernetesObject;
export type Status = CertificateStatus;
export type Order = NonNullable<Status['order']>;
export type Authz = Order['authorizations'][number];

/** What a Certificate's target holds now. */
export type Current =
  | { kind: 'none' }
  | { kind: 'foreign'; reason: FailureReason; message: string }
  | { kind: 'managed'; secret?: k8s.V1Secret; info: CertInfo | undefined };

/** A failure as the certificate controller reports it: a reason of the taxonomy and a message. */
export interface Problem {
  reason: FailureReason;
  message: string;
}

export function keyOf(o: k8s.KubernetesObject): string {
  return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}

/** A Secret is written unless the target is ACM without acm.writeSecret. */
export function writesSecret(cert: Cert): boolean {
  return !!cert.spec.secretName && (!cert.spec.acm || cert.spec.acm.writeSecret === true);
}
