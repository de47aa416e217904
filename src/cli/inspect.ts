import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import type * as k8s from '@kubernetes/client-node';
import type { Certificate } from '../api/v1alpha1.js';
import { certificateNameAnnotation } from '../certificates/stores/secret.js';
import { parseSubjectAltName, splitChain } from '../certificates/x509.js';

/** `inspect secret NAME`, pure: a kubernetes.io/tls Secret in, what it holds out. */
export interface CertSummary {
  subject: string;
  issuer: string;
  notBefore: string;
  notAfter: string;
  serialNumber: string;
  sans: string[];
  keyType: string;
}

export interface SecretReport {
  namespace: string;
  name: string;
  type: string;
  /** The Certificate that writes it (certroute.io/certificate-name), if any. */
  certificate?: string;
  chain: CertSummary[];
  leaf?: CertSummary;
  /** Does tls.key match the leaf? undefined when either is missing or unreadable. */
  keyMatches?: boolean;
  keyType?: string;
  /** The Certificate's order in flight, if there is one: a newer certificate is coming. */
  inFlight?: string;
  problems: string[];
}

export function keyTypeOf(k: KeyObject): string {
  const d = k.asymmetricKeyDetails;
  if (k.asymmetricKeyType === 'ec') return `ECDSA ${d?.namedCurve ?? ''}`.trim();
  if (k.asymmetricKeyType === 'rsa') return `RSA ${d?.modulusLength ?? ''}`.trim();
  return k.asymmetricKeyType ?? 'unknown';
}

function summary(c: X509Certificate): CertSummary {
  return {
    subject: (c.subject ?? '').replace(/\n/g, ', '),
    issuer: (c.issuer ?? '').replace(/\n/g, ', '),
    notBefore: new Date(c.validFrom).toISOString(),
    notAfter: new Date(c.validTo).toISOString(),
    serialNumber: c.serialNumber.toUpperCase(),
    sans: parseSubjectAltName(c.subjectAltName),
    keyType: keyTypeOf(c.publicKey),
  };
}

const decode = (b64: string | undefined) =>
  b64 === undefined ? undefined : Buffer.from(b64, 'base64').toString('utf8');

export function inspectSecret(s: k8s.V1Secret, cert?: Certificate): SecretReport {
  const problems: string[] = [];
  const owner = s.metadata?.annotations?.[certificateNameAnnotation];
  const r: SecretReport = {
    namespace: s.metadata?.namespace ?? '',
    name: s.metadata?.name ?? '',
    type: s.type ?? '',
    ...(owner ? { certificate: owner } : {}),
    chain: [],
    problems,
  };
  if (s.type !== 'kubernetes.io/tls')
    problems.push(`type is ${s.type ?? 'unset'}, not kubernetes.io/tls`);
  const crt = decode(s.data?.['tls.crt']);
  const keyPem = decode(s.data?.['tls.key']);
  const natives: X509Certificate[] = [];
  for (const pem of splitChain(crt ?? '')) {
    try {
      natives.push(new X509Certificate(pem));
    } catch (err) {
      problems.push(`a certificate in tls.crt does not parse: ${(err as Error).message}`);
    }
  }
  r.chain = natives.map(summary);
  if (r.chain[0]) r.leaf = r.chain[0];
  else problems.push('tls.crt holds no certificate');
  natives.forEach((c, i) => {
    const next = natives[i + 1];
    if (next && !c.checkIssued(next))
      problems.push(`certificate ${i + 1} of the chain is not issued by the next one`);
  });
  if (keyPem) {
    try {
      const key = createPrivateKey(keyPem);
      r.keyType = keyTypeOf(key);
      if (natives[0]) r.keyMatches = natives[0].checkPrivateKey(key);
    } catch (err) {
      problems.push(`tls.key does not parse: ${(err as Error).message}`);
    }
  } else problems.push('no tls.key');
  if (r.keyMatches === false) problems.push('tls.key does not match the certificate');
  const order = cert?.status?.order;
  if (order)
    r.inFlight = `order ${order.url} placed ${order.createdAt} for ${order.dnsNames.join(', ')}`;
  return r;
}
