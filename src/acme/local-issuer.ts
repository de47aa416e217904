import type * as k8s from '@kubernetes/client-node';
import type { ClusterIssuerSpec } from '../api/v1alpha1.js';
import { caProblem, type CaKeyPair } from '../certificates/local-ca.js';
import type { FailureReason } from '../errors.js';
import { isNotFound } from '../kube/crd-client.js';
import { secretNamespace, type IssuerKey } from './issuer-ref.js';

/**
 * CA and SelfSigned issuers (issue 25): no ACME account, certroute signs itself. A CA
 * issuer's key pair is a kubernetes.io/tls Secret, read by name when the issuer is checked and
 * again for every signing (never cached: rotating the CA is replacing the Secret).
 */

/** How a local issuer signs: with its own key (selfSigned) or the CA in a Secret. */
export type LocalSigner =
  { kind: 'selfSigned' } | { kind: 'ca'; namespace: string; secretName: string };

export type CaLookup =
  { ok: true; ca: CaKeyPair } | { ok: false; reason: FailureReason; message: string };

/** The local signer of an issuer spec, or undefined for an ACME issuer. */
export function localSignerOf(
  key: IssuerKey,
  spec: ClusterIssuerSpec,
  operatorNamespace: string,
): LocalSigner | undefined {
  if (spec.selfSigned) return { kind: 'selfSigned' };
  if (spec.ca)
    return {
      kind: 'ca',
      namespace: secretNamespace(key, operatorNamespace),
      secretName: spec.ca.secretName,
    };
  return undefined;
}

/** The CA's key pair from its Secret, checked (a CA, keyCertSign, the key matching). */
export async function readCa(
  core: k8s.CoreV1Api,
  signer: Extract<LocalSigner, { kind: 'ca' }>,
  now: Date,
): Promise<CaLookup> {
  const where = `Secret ${signer.namespace}/${signer.secretName}`;
  let data: Record<string, string> | undefined;
  try {
    data = (
      await core.readNamespacedSecret({ name: signer.secretName, namespace: signer.namespace })
    ).data;
  } catch (err) {
    if (isNotFound(err))
      return { ok: false, reason: 'CASecretNotFound', message: `CA ${where} not found` };
    throw err;
  }
  const certPem = Buffer.from(data?.['tls.crt'] ?? '', 'base64').toString('utf8');
  const keyPem = Buffer.from(data?.['tls.key'] ?? '', 'base64').toString('utf8');
  if (!certPem || !keyPem)
    return {
      ok: false,
      reason: 'CASecretInvalid',
      message: `CA ${where} needs both tls.crt and tls.key`,
    };
  const problem = caProblem({ certPem, keyPem }, now);
  if (problem) return { ok: false, reason: 'CASecretInvalid', message: `CA ${where}: ${problem}` };
  return { ok: true, ca: { certPem, keyPem } };
}

/** The Ready condition of a local issuer: the CA checked, or SelfSigned always ready. */
export async function checkLocal(
  core: k8s.CoreV1Api,
  signer: LocalSigner,
  now: Date,
): Promise<{ ok: true; reason: string; message: string } | Extract<CaLookup, { ok: false }>> {
  if (signer.kind === 'selfSigned')
    return {
      ok: true,
      reason: 'SelfSigned',
      message: 'certificates are signed with their own key',
    };
  const ca = await readCa(core, signer, now);
  if (!ca.ok) return ca;
  return {
    ok: true,
    reason: 'KeyPairVerified',
    message: `signing with the CA in Secret ${signer.namespace}/${signer.secretName}`,
  };
}
