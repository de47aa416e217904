import type * as k8s from '@kubernetes/client-node';
import { isNotFound } from './crd-client.js';

/** Reads one key of a Secret (namespace, name, key) as UTF-8; undefined when it is not there. */
export type SecretKeyReader = (
  namespace: string,
  name: string,
  key: string,
) => Promise<string | undefined>;

/**
 * One key of a Secret, decoded: undefined when the Secret does not exist or has no (or an
 * empty) value at `key`. Every other API error is thrown. The issuers' EAB key and the DNS-01
 * RFC 2136 TSIG secret are read this way.
 */
export async function readSecretKey(
  core: k8s.CoreV1Api,
  namespace: string,
  name: string,
  key: string,
): Promise<string | undefined> {
  let data: Record<string, string> | undefined;
  try {
    data = (await core.readNamespacedSecret({ name, namespace })).data;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  const v = data?.[key];
  return v ? Buffer.from(v, 'base64').toString('utf8') : undefined;
}

export function secretKeyReader(core: k8s.CoreV1Api): SecretKeyReader {
  return (namespace, name, key) => readSecretKey(core, namespace, name, key);
}
