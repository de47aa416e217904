import { X509Certificate } from 'node:crypto';
import { AuthorityKeyIdentifierExtension, X509Certificate as PX509 } from '@peculiar/x509';

/** What certroute needs to know about an issued certificate (the leaf of a PEM chain). */
export interface CertInfo {
  notBefore: Date;
  notAfter: Date;
  /** Serial number, upper-case hex without separators. */
  serialNumber: string;
  /** DNS SANs, lower-case, in certificate order. */
  dnsNames: string[];
  issuer: string;
  /** The leaf's SHA-256 fingerprint (for logs; never a metric label). */
  fingerprint: string;
  /** RFC 9773 certificate identifier: base64url(AKI keyIdentifier) "." base64url(serial). */
  ariCertID: string | undefined;
}

const pemBlock = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/** Splits a PEM bundle into its certificates, leaf first, as the CA sent them. */
export function splitChain(pem: string): string[] {
  return (pem.match(pemBlock) ?? []).map((b) => `${b}\n`);
}

/**
 * Parses the leaf of a PEM bundle. `again` produces the PEM once more when the ARI identifier
 * is first asked for; without it the leaf is kept for that (about 0.7 KB per certificate, which
 * adds up for thousands of cached Secrets that can give their PEM again themselves).
 */
export function parseCertificate(pem: string, again?: () => string): CertInfo {
  const [leaf] = splitChain(pem);
  if (!leaf) throw new Error('no PEM certificate found');
  const cert = new X509Certificate(leaf);
  // The ARI identifier needs a full ASN.1 parse (ten times node's): computed on first use.
  // The getter holds the PEM and serial only, not `cert` (native memory, per cached Secret).
  const serial = cert.serialNumber;
  const kept = again ? undefined : leaf;
  let certID: { value: string | undefined } | undefined;
  return {
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    serialNumber: cert.serialNumber.toUpperCase(),
    dnsNames: parseSubjectAltName(cert.subjectAltName),
    issuer: cert.issuer,
    fingerprint: cert.fingerprint256,
    get ariCertID() {
      if (!certID) {
        const pemLeaf = kept ?? splitChain(again?.() ?? '')[0];
        certID = { value: pemLeaf ? ariCertID(pemLeaf, serial) : undefined };
      }
      return certID.value;
    },
  };
}

/** Parsed tls.crt per Secret object: informers replace objects on change, a GET gives a new one. */
const bySecret = new WeakMap<object, { info: CertInfo | undefined }>();

/**
 * The certificate in a Secret's `tls.crt` (its leaf), or undefined if there is none or it does
 * not parse. Parsed once per Secret object, for every reader (reconciles, the expiry monitor).
 */
export function certificateOfSecret(secret: {
  data?: Record<string, string>;
}): CertInfo | undefined {
  const known = bySecret.get(secret);
  if (known) return known.info;
  const decode = () => Buffer.from(secret.data?.['tls.crt'] ?? '', 'base64').toString('utf8');
  const pem = decode();
  let info: CertInfo | undefined;
  try {
    info = pem ? parseCertificate(pem, decode) : undefined;
  } catch {
    info = undefined;
  }
  bySecret.set(secret, { info });
  return info;
}

/** "DNS:a.example, DNS:b.example, IP Address:1.2.3.4" → ["a.example", "b.example"]. */
export function parseSubjectAltName(san: string | undefined): string[] {
  if (!san) return [];
  return san
    .split(/,\s*/)
    .filter((p) => p.startsWith('DNS:'))
    .map((p) => p.slice(4).toLowerCase());
}

/**
 * RFC 9773 §4.1: the unique identifier is the base64url keyIdentifier of the Authority Key
 * Identifier extension, a dot, and the base64url DER encoding of the serial number's value
 * bytes (a positive INTEGER keeps its leading zero byte when the high bit is set).
 */
export function ariCertID(leafPem: string, serialHex: string): string | undefined {
  const aki = new PX509(leafPem).getExtension(AuthorityKeyIdentifierExtension);
  if (!aki?.keyId) return undefined;
  return `${Buffer.from(aki.keyId, 'hex').toString('base64url')}.${serialBytes(serialHex).toString('base64url')}`;
}

export function serialBytes(serialHex: string): Buffer {
  let hex = serialHex.replace(/[^0-9a-f]/gi, '');
  if (hex.length % 2) hex = `0${hex}`;
  let buf = Buffer.from(hex, 'hex');
  while (buf.length > 1 && buf[0] === 0 && (buf[1] ?? 0) < 0x80) buf = buf.subarray(1);
  if ((buf[0] ?? 0) >= 0x80) buf = Buffer.concat([Buffer.from([0]), buf]);
  return buf;
}

/** True when the certificate names exactly these hosts (order and case ignored). */
export function coversExactly(info: CertInfo, dnsNames: readonly string[]): boolean {
  const want = new Set(dnsNames.map((n) => n.toLowerCase()));
  const have = new Set(info.dnsNames);
  return want.size === have.size && [...want].every((n) => have.has(n));
}
