import { X509Certificate } from 'node:crypto';
import { shared } from '../kube/shared-strings.js';

/** What certroute needs to know about an issued certificate (the leaf of a PEM chain). */
export interface CertInfo {
  notBefore: Date;
  notAfter: Date;
  /** Serial number, upper-case hex without separators. */
  serialNumber: string;
  /** DNS SANs, lower-case, in certificate order. */
  dnsNames: string[];
  issuer: string;
  /** RFC 9773 certificate identifier: base64url(AKI keyIdentifier) "." base64url(serial). */
  ariCertID: string | undefined;
}

const pemBlock = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/** Splits a PEM bundle into its certificates, leaf first, as the CA sent them. */
export function splitChain(pem: string): string[] {
  return (pem.match(pemBlock) ?? []).map((b) => `${b}\n`);
}

/**
 * Parses the leaf of a PEM bundle into a plain object. Everything is computed here, the ARI
 * identifier included, so nothing holds the PEM or the native certificate afterwards: this is
 * kept for every cached managed Secret.
 */
export function parseCertificate(pem: string): CertInfo {
  const [leaf] = splitChain(pem);
  if (!leaf) throw new Error('no PEM certificate found');
  const cert = new X509Certificate(leaf);
  const aki = authorityKeyIdentifier(cert.raw);
  return {
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    serialNumber: cert.serialNumber.toUpperCase(),
    dnsNames: parseSubjectAltName(cert.subjectAltName),
    // Issuer names repeat across thousands of cached certificates.
    issuer: shared(cert.issuer),
    ariCertID: aki && ariIdentifier(aki, cert.serialNumber),
  };
}

/**
 * A cached managed Secret (cachedSecret) carries its certificate in these two slots instead of
 * `data`: the base64 leaf until the first reader parses it, then only the parsed result. Symbols:
 * never serialised to the API, and kept by object spreads.
 */
export const pendingLeaf = Symbol('certroute.pendingLeaf');
export const parsedLeaf = Symbol('certroute.parsedLeaf');

export interface CachedCertificateSlots {
  [pendingLeaf]?: string | undefined;
  [parsedLeaf]?: CertInfo | null;
}

/** Parsed tls.crt per Secret object: informers replace objects on change, a GET gives a new one. */
const bySecret = new WeakMap<object, { info: CertInfo | undefined }>();

/**
 * The certificate in a Secret's `tls.crt` (its leaf), or undefined if there is none or it does
 * not parse. Parsed once per Secret object, for every reader (reconciles, the expiry monitor).
 * For a cached Secret the PEM is dropped once parsed.
 */
export function certificateOfSecret(
  secret: { data?: Record<string, string> } & CachedCertificateSlots,
): CertInfo | undefined {
  if (parsedLeaf in secret) {
    if (secret[parsedLeaf] === undefined) {
      secret[parsedLeaf] = parseSecretCertificate(secret[pendingLeaf]) ?? null;
      secret[pendingLeaf] = undefined;
    }
    return secret[parsedLeaf] ?? undefined;
  }
  const known = bySecret.get(secret);
  if (known) return known.info;
  const info = parseSecretCertificate(secret.data?.['tls.crt']);
  bySecret.set(secret, { info });
  return info;
}

/** The leaf of a base64 tls.crt value, or undefined if there is none or it does not parse. */
export function parseSecretCertificate(b64: string | undefined): CertInfo | undefined {
  const pem = b64 ? Buffer.from(b64, 'base64').toString('utf8') : '';
  try {
    return pem ? parseCertificate(pem) : undefined;
  } catch {
    return undefined;
  }
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
export function ariIdentifier(keyIdentifier: Uint8Array, serialHex: string): string {
  return `${Buffer.from(keyIdentifier).toString('base64url')}.${serialBytes(serialHex).toString('base64url')}`;
}

/** One DER element: its tag and where its value lies in the buffer. */
interface Der {
  tag: number;
  start: number;
  end: number;
}

function derAt(der: Uint8Array, at: number, limit: number): Der {
  const tag = der[at];
  let len = der[at + 1];
  if (tag === undefined || len === undefined || (tag & 0x1f) === 0x1f)
    throw new Error('unsupported DER');
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new Error('unsupported DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (der[start + i] ?? 0);
    start += n;
  }
  const end = start + len;
  if (end > limit) throw new Error('truncated DER');
  return { tag, start, end };
}

function derChildren(der: Uint8Array, parent: Der): Der[] {
  const out: Der[] = [];
  for (let at = parent.start; at < parent.end;) {
    const child = derAt(der, at, parent.end);
    out.push(child);
    at = child.end;
  }
  return out;
}

/** 2.5.29.35, id-ce-authorityKeyIdentifier, as its DER OID value bytes. */
const akiOid = Buffer.from([0x55, 0x1d, 0x23]);

/**
 * The keyIdentifier of a certificate's Authority Key Identifier extension (RFC 5280 §4.2.1.1),
 * read from its DER by walking tbsCertificate to the extensions: a full ASN.1 parse costs ten
 * times node's own X.509 parse, for one field. Undefined when there is none.
 */
export function authorityKeyIdentifier(der: Uint8Array): Uint8Array | undefined {
  try {
    const cert = derAt(der, 0, der.length);
    const [tbs] = derChildren(der, cert);
    if (!tbs) return undefined;
    // tbsCertificate's [3] EXPLICIT extensions: a SEQUENCE of Extension.
    const explicit = derChildren(der, tbs).find((e) => e.tag === 0xa3);
    const [list] = explicit ? derChildren(der, explicit) : [];
    for (const ext of list ? derChildren(der, list) : []) {
      const [oid, ...rest] = derChildren(der, ext);
      if (oid?.tag !== 0x06 || !akiOid.equals(der.subarray(oid.start, oid.end))) continue;
      const value = rest.find((e) => e.tag === 0x04);
      if (!value) return undefined;
      const [seq] = derChildren(der, value);
      const keyId = seq && derChildren(der, seq).find((e) => e.tag === 0x80);
      return keyId ? der.subarray(keyId.start, keyId.end) : undefined;
    }
    return undefined;
  } catch {
    return undefined;
  }
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
