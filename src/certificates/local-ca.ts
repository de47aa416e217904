import {
  createPrivateKey,
  createPublicKey,
  randomBytes,
  webcrypto,
  X509Certificate,
} from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { KeyUsage } from '../api/v1alpha1.js';

/**
 * Local signing for the CA and SelfSigned issuers: no ACME order, certroute signs the
 * certificate itself with @peculiar/x509 over Node's WebCrypto. Pure apart from the random
 * serial: request and keys in, PEM out. Key generation and the CA's Secret are the caller's.
 */

x509.cryptoProvider.set(webcrypto as never);

type CryptoKey = webcrypto.CryptoKey;
type ImportParams = webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams;
type SigningParams = webcrypto.Algorithm | webcrypto.EcdsaParams;

/** The CA's key pair as read from its Secret (tls.crt may hold a chain: the CA first). */
export interface CaKeyPair {
  certPem: string;
  keyPem: string;
}

export interface SignRequest {
  dnsNames: readonly string[];
  commonName: string | undefined;
  /** Lifetime in ms. */
  durationMs: number;
  isCA: boolean;
  usages: readonly KeyUsage[] | undefined;
  /** The new certificate's private key (PKCS#8 PEM). */
  keyPem: string;
  /** Absent: self-signed with keyPem. */
  ca: CaKeyPair | undefined;
  now: Date;
}

export interface Signed {
  /** The leaf PEM (a CA issuer's certificate is not appended: it goes to ca.crt). */
  certPem: string;
  /** ca.crt: the CA's certificate, or the certificate itself when self-signed. */
  caPem: string;
}

/** Key usage flags and extended key usage OIDs of cert-manager's usage names. */
const keyUsageFlags: Partial<Record<KeyUsage, number>> = {
  signing: x509.KeyUsageFlags.digitalSignature,
  'digital signature': x509.KeyUsageFlags.digitalSignature,
  'content commitment': x509.KeyUsageFlags.nonRepudiation,
  'key encipherment': x509.KeyUsageFlags.keyEncipherment,
  'key agreement': x509.KeyUsageFlags.keyAgreement,
  'data encipherment': x509.KeyUsageFlags.dataEncipherment,
  'cert sign': x509.KeyUsageFlags.keyCertSign,
  'crl sign': x509.KeyUsageFlags.cRLSign,
};
const extendedUsages: Partial<Record<KeyUsage, string>> = {
  'server auth': x509.ExtendedKeyUsage.serverAuth,
  'client auth': x509.ExtendedKeyUsage.clientAuth,
  'code signing': x509.ExtendedKeyUsage.codeSigning,
  'email protection': x509.ExtendedKeyUsage.emailProtection,
  timestamping: x509.ExtendedKeyUsage.timeStamping,
  'ocsp signing': x509.ExtendedKeyUsage.ocspSigning,
  any: '2.5.29.37.0',
};

/**
 * The key usage bits and EKU OIDs of a request. Defaults: a CA gets keyCertSign, cRLSign and
 * digitalSignature; a leaf digitalSignature (+ keyEncipherment for RSA) and serverAuth. A CA
 * always keeps keyCertSign, whatever usages say.
 */
export function usagesOf(
  usages: readonly KeyUsage[] | undefined,
  isCA: boolean,
  rsa: boolean,
): { flags: number; ekus: string[] } {
  const F = x509.KeyUsageFlags;
  const list: readonly KeyUsage[] =
    usages && usages.length > 0
      ? usages
      : isCA
        ? ['digital signature', 'cert sign', 'crl sign']
        : rsa
          ? ['digital signature', 'key encipherment', 'server auth']
          : ['digital signature', 'server auth'];
  let flags = 0;
  const ekus: string[] = [];
  for (const u of list) {
    flags |= keyUsageFlags[u] ?? 0;
    const oid = extendedUsages[u];
    if (oid && !ekus.includes(oid)) ekus.push(oid);
  }
  if (isCA) flags |= F.keyCertSign | F.cRLSign;
  return { flags, ekus };
}

/** The subject CN: spec.commonName, else the first non-wildcard name that fits in 64. */
export function commonNameOf(
  commonName: string | undefined,
  dnsNames: readonly string[],
): string | undefined {
  return commonName ?? dnsNames.find((n) => !n.startsWith('*.') && n.length <= 64);
}

interface Imported {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  algorithm: ImportParams;
  signing: SigningParams;
  rsa: boolean;
}

/** Any PEM private key Node reads (PKCS#8, PKCS#1, SEC1) as a WebCrypto signing pair. */
export async function importKey(keyPem: string): Promise<Imported> {
  const key = createPrivateKey(keyPem);
  const pkcs8 = key.export({ type: 'pkcs8', format: 'der' });
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  let algorithm: ImportParams;
  let signing: SigningParams;
  const rsa = key.asymmetricKeyType === 'rsa';
  if (rsa) {
    algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    signing = { name: 'RSASSA-PKCS1-v1_5' };
  } else if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const namedCurve =
      curve === 'prime256v1' ? 'P-256' : curve === 'secp384r1' ? 'P-384' : undefined;
    if (!namedCurve) throw new Error(`unsupported EC curve ${curve ?? '?'}`);
    algorithm = { name: 'ECDSA', namedCurve };
    signing = {
      name: 'ECDSA',
      hash: namedCurve === 'P-384' ? 'SHA-384' : 'SHA-256',
    };
  } else throw new Error(`unsupported key type ${key.asymmetricKeyType ?? '?'}`);
  const s = webcrypto.subtle;
  const [privateKey, publicKey] = await Promise.all([
    s.importKey('pkcs8', pkcs8, algorithm, false, ['sign']),
    s.importKey('spki', spki, algorithm, true, ['verify']),
  ]);
  return { privateKey, publicKey, algorithm, signing, rsa };
}

/** Distinguished-name values are escaped for RFC 4514 (commas, pluses and the like). */
function dn(cn: string | undefined): string {
  return cn ? `CN=${cn.replace(/([,+"\\<>;=#])/g, '\\$1')}` : '';
}

/** Signs a certificate for the request: with the CA's key, or with its own key when no CA. */
export async function signCertificate(r: SignRequest): Promise<Signed> {
  const subjectKey = await importKey(r.keyPem);
  const caCertPem = r.ca ? firstPem(r.ca.certPem) : undefined;
  const signer = r.ca ? await importKey(r.ca.keyPem) : subjectKey;
  const caCert = caCertPem ? new x509.X509Certificate(caCertPem) : undefined;
  const cn = commonNameOf(r.commonName, r.dnsNames);
  const { flags, ekus } = usagesOf(r.usages, r.isCA, subjectKey.rsa);
  // Back-dated an hour for clock skew between certroute and the clients.
  const notBefore = new Date(r.now.getTime() - 3_600_000);
  const notAfter = new Date(r.now.getTime() + r.durationMs);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(r.isCA, undefined, true),
    new x509.KeyUsagesExtension(flags, true),
    await x509.SubjectKeyIdentifierExtension.create(subjectKey.publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(
      caCert ? await caCert.publicKey.export() : subjectKey.publicKey,
    ),
  ];
  if (ekus.length > 0) extensions.push(new x509.ExtendedKeyUsageExtension(ekus, false));
  if (r.dnsNames.length > 0)
    extensions.push(
      new x509.SubjectAlternativeNameExtension(
        r.dnsNames.map((value) => ({ type: 'dns' as const, value })),
        !cn,
      ),
    );
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f; // positive, RFC 5280 §4.1.2.2
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial.toString('hex'),
    subject: dn(cn),
    issuer: caCert ? caCert.subject : dn(cn),
    notBefore,
    notAfter,
    signingAlgorithm: signer.signing,
    publicKey: subjectKey.publicKey,
    signingKey: signer.privateKey,
    extensions,
  });
  const certPem = `${cert.toString('pem')}\n`;
  return { certPem, caPem: caCertPem ?? certPem };
}

function firstPem(pem: string): string {
  const m = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/.exec(pem);
  if (!m) throw new Error('no PEM certificate found');
  return `${m[0]}\n`;
}

/**
 * Why a CA key pair cannot sign, or undefined when it can: its certificate parses, is a CA
 * (basicConstraints CA:true) with keyCertSign, has not expired, and the key is its key.
 */
export function caProblem(pair: CaKeyPair, now: Date): string | undefined {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(firstPem(pair.certPem));
  } catch (err) {
    return `tls.crt is not a PEM certificate (${(err as Error).message})`;
  }
  if (!cert.ca) return 'tls.crt is not a CA certificate (basicConstraints CA:false or absent)';
  const ku = new x509.X509Certificate(cert.raw).getExtension(x509.KeyUsagesExtension);
  if (ku && (ku.usages & x509.KeyUsageFlags.keyCertSign) === 0)
    return 'tls.crt has no keyCertSign key usage';
  if (new Date(cert.validTo) <= now) return `the CA certificate expired at ${cert.validTo}`;
  try {
    if (!cert.checkPrivateKey(createPrivateKey(pair.keyPem)))
      return 'tls.key is not the key of tls.crt';
  } catch (err) {
    return `tls.key is not a PEM private key (${(err as Error).message})`;
  }
  return undefined;
}
