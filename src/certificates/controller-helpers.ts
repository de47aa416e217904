import type * as k8s from '@kubernetes/client-node';
import type { Account } from '../acme/issuer.js';
import { ingressClassOf } from '../sources/ingress.js';
import type { Cert, Status } from './types.js';
import type { CertInfo } from './x509.js';

/** Small helpers of the certificate controller (kept apart: controller.ts is at its size limit). */

export function knownWindow(
  status: Status,
  info: CertInfo,
): { start: Date; end: Date } | undefined {
  const a = status.ari;
  if (!a || a.certID !== info.ariCertID) return undefined;
  return { start: new Date(a.windowStart), end: new Date(a.windowEnd) };
}

export function solverTarget(cert: Cert, account: Account, ingress: k8s.V1Ingress | undefined) {
  const { namespace = '', name = '', uid = '' } = cert.metadata ?? {};
  // The class of the Ingress that asked: each host's own solver may name another
  // (solverIngressClass in src/acme/challenges.ts).
  return {
    namespace,
    certificate: { name, uid },
    ingressClassName: ingress ? ingressClassOf(ingress) : undefined,
  };
}

/** IPs and hostnames in the Ingress's status.loadBalancer. */
export function ingressAddresses(ing: k8s.V1Ingress | undefined): string[] {
  return (ing?.status?.loadBalancer?.ingress ?? []).flatMap((i) =>
    [i.ip, i.hostname].filter((x): x is string => !!x),
  );
}
