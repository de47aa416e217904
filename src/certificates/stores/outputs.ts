import { createPrivateKey } from 'node:crypto';
import type * as k8s from '@kubernetes/client-node';
import { isNotFound } from '../../kube/crd-client.js';
import type { Cert, Problem } from '../types.js';
import { keystoreP12, truststoreP12 } from './pkcs12.js';

/**
 * The Secret's extra outputs (issue 25), named as cert-manager names them: keystore.p12 and
 * truststore.p12 (spec.keystores.pkcs12), tls-combined.pem and key.der
 * (spec.additionalOutputFormats). Values are base64, as Secret data.
 */
export const outputSecretKeys: readonly string[] = [
  'keystore.p12',
  'truststore.p12',
  'tls-combined.pem',
  'key.der',
];

export interface Outputs {
  data: Record<string, string>;
  warnings: Problem[];
}

/** The password for keystore.p12, or why there is none (the certificate is stored anyway). */
export type PasswordLookup = { ok: true; password: string } | ({ ok: false } & Problem);

export async function readKeystorePassword(
  core: k8s.CoreV1Api,
  cert: Cert,
): Promise<PasswordLookup> {
  const ref = cert.spec.keystores?.pkcs12?.passwordSecretRef;
  const namespace = cert.metadata?.namespace ?? '';
  if (!ref) return missing('no passwordSecretRef');
  const where = `keystores.pkcs12.passwordSecretRef: Secret ${namespace}/${ref.name}`;
  let data: Record<string, string> | undefined;
  try {
    data = (await core.readNamespacedSecret({ name: ref.name, namespace })).data;
  } catch (err) {
    if (isNotFound(err)) return missing(`${where} not found; keystore.p12 not written`);
    throw err;
  }
  const v = data?.[ref.key];
  if (v === undefined) return missing(`${where} has no key "${ref.key}"; keystore.p12 not written`);
  return { ok: true, password: Buffer.from(v, 'base64').toString('utf8') };
}

function missing(message: string): PasswordLookup {
  return { ok: false, reason: 'KeystorePasswordMissing', message };
}

/** The outputs a Certificate asks for, from its chain, key and CA (if known). */
export function outputsOf(
  cert: Cert,
  chain: string,
  keyPem: string,
  leafAndChain: readonly string[],
  ca: string | undefined,
  password: PasswordLookup | undefined,
): Outputs {
  const data: Record<string, string> = {};
  const warnings: Problem[] = [];
  const formats = new Set((cert.spec.additionalOutputFormats ?? []).map((f) => f.type));
  if (formats.has('CombinedPEM')) data['tls-combined.pem'] = b64(`${keyPem.trimEnd()}\n${chain}`);
  if (formats.has('DER'))
    data['key.der'] = createPrivateKey(keyPem)
      .export({ type: 'pkcs8', format: 'der' })
      .toString('base64');
  if (cert.spec.keystores?.pkcs12?.create) {
    if (password?.ok) {
      data['keystore.p12'] = keystoreP12(keyPem, leafAndChain, password.password, ca).toString(
        'base64',
      );
      if (ca) data['truststore.p12'] = truststoreP12(ca, password.password).toString('base64');
    } else if (password) warnings.push({ reason: password.reason, message: password.message });
  }
  return { data, warnings };
}

function b64(s: string): string {
  return Buffer.from(s).toString('base64');
}
