import { generateKeyPair } from 'node:crypto';
import { loadAcme } from './client.js';
import type { KeyAlgorithm } from '../api/v1alpha1.js';

function generate(
  type: 'ec' | 'rsa',
  opts: { namedCurve: string } | { modulusLength: number },
): Promise<string> {
  return new Promise((resolve, reject) => {
    generateKeyPair(
      type as 'ec',
      {
        ...(opts as { namedCurve: string }),
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
        publicKeyEncoding: { type: 'spki', format: 'pem' },
      },
      (err, _pub, priv) => (err ? reject(err) : resolve(priv)),
    );
  });
}

/** A fresh private key as a PKCS#8 PEM, for one issuance. */
export async function generatePrivateKey(algorithm: KeyAlgorithm): Promise<string> {
  switch (algorithm) {
    case 'ECDSA-P256':
    case 'ECDSA-P384': {
      const namedCurve = algorithm === 'ECDSA-P256' ? 'P-256' : 'P-384';
      return generate('ec', { namedCurve });
    }
    case 'RSA-2048':
    case 'RSA-3072':
    case 'RSA-4096': {
      const modulusLength = Number(algorithm.slice(4));
      return generate('rsa', { modulusLength });
    }
  }
}

/**
 * A CSR for exactly these names. The common name is the first non-wildcard name when it fits
 * in 64 characters (RFC 5280's limit); SANs carry every name, which is what CAs validate.
 */
export async function createCsr(dnsNames: readonly string[], keyPem: string): Promise<Buffer> {
  const cn = dnsNames.find((n) => !n.startsWith('*.') && n.length <= 64);
  const acme = await loadAcme();
  const [, csr] = await acme.crypto.createCsr(
    { ...(cn ? { commonName: cn } : {}), altNames: [...dnsNames] },
    keyPem,
  );
  return csr;
}
