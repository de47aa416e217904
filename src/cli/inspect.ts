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

function parseChain(crt: string | undefined, problems: string[]): X509Certificate[] {
  const natives: X509Certificate[] = [];
  for (const pem of splitChain(crt ?? '')) {
    try {
      natives.push(new X509Certificate(pem));
    } catch (err) {
      problems.push(`a certificate in tls.crt does not parse: ${(err as Error).message}`);
    }
  }
  if (natives.length === 0) problems.push('tls.crt holds no certificate');
  natives.forEach((c, i) => {
    const next = natives[i + 1];
    if (next && !c.checkIssued(next))
      problems.push(`certificate ${i + 1} of the chain is not issued by the next one`);
  });
  return natives;
}

function checkKey(
  keyPem: string | undefined,
  leaf: X509Certificate | undefined,
  problems: string[],
): { keyType?: string; keyMatches?: boolean } {
  if (!keyPem) {
    problems.push('no tls.key');
    return {};
  }
  try {
    const key = createPrivateKey(keyPem);
    const keyMatches = leaf ? leaf.checkPrivateKey(key) : undefined;
    if (keyMatches === false) problems.push('tls.key does not match the certificate');
    return { keyType: keyTypeOf(key), ...(keyMatches === undefined ? {} : { keyMatches }) };
  } catch (err) {
    problems.push(`tls.key does not parse: ${(err as Error).message}`);
    return {};
  }
}

function inFlightOf(cert: Certificate | undefined): string | undefined {
  const o = cert?.status?.order;
  return o && `order ${o.url} placed ${o.createdAt} for ${o.dnsNames.join(', ')}`;
}

export function inspectSecret(s: k8s.V1Secret, cert?: Certificate): SecretReport {
  const problems: string[] = [];
  if (s.type !== 'kubernetes.io/tls')
    problems.push(`type is ${s.type ?? 'unset'}, not kubernetes.io/tls`);
  const natives = parseChain(decode(s.data?.['tls.crt']), problems);
  const chain = natives.map(summary);
  const key = checkKey(decode(s.data?.['tls.key']), natives[0], problems);
  const owner = s.metadata?.annotations?.[certificateNameAnnotation];
  const inFlight = inFlightOf(cert);
  return {
    namespace: s.metadata?.namespace ?? '',
    name: s.metadata?.name ?? '',
    type: s.type ?? '',
    ...(owner ? { certificate: owner } : {}),
    chain,
    ...(chain[0] ? { leaf: chain[0] } : {}),
    ...key,
    ...(inFlight ? { inFlight } : {}),
    problems,
  };
}
