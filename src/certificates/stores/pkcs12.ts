import {
  createHash,
  createHmac,
  createPrivateKey,
  randomBytes,
  X509Certificate,
} from 'node:crypto';
import forge from 'node-forge';

/**
 * PKCS#12 (RFC 7292) keystores, built here from node-forge's ASN.1 and PBES2 primitives.
 * Not forge's own toPkcs12Asn1: it handles RSA keys only (certroute's default is ECDSA) and
 * always MACs with SHA-1. The profile is OpenSSL 3's default and what Java 17's keytool writes:
 * the key and the certificates encrypted with PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC), the
 * whole file integrity-protected with an HMAC-SHA256 MAC (keys from RFC 7292's KDF).
 * 3DES and RC2 are not offered: every reader this is for (Java 11.0.12+, OpenSSL 1.1+) reads
 * the modern profile.
 */

const asn1 = forge.asn1;
const { Class, Type } = asn1;
const iterations = 10_000;

const oid = {
  data: '1.2.840.113549.1.7.1',
  encryptedData: '1.2.840.113549.1.7.6',
  keyBag: '1.2.840.113549.1.12.10.1.2',
  certBag: '1.2.840.113549.1.12.10.1.3',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  localKeyId: '1.2.840.113549.1.9.21',
  friendlyName: '1.2.840.113549.1.9.20',
  sha256: '2.16.840.1.101.3.4.2.1',
  /** Java's "trusted certificate entry" marker: without it keytool lists no trusted entry. */
  javaTrusted: '2.16.840.1.113894.746875.1.1',
  anyExtendedKeyUsage: '2.5.29.37.0',
};

type Asn1 = forge.asn1.Asn1;

const seq = (v: Asn1[]) => asn1.create(Class.UNIVERSAL, Type.SEQUENCE, true, v);
const set = (v: Asn1[]) => asn1.create(Class.UNIVERSAL, Type.SET, true, v);
const objId = (o: string) =>
  asn1.create(Class.UNIVERSAL, Type.OID, false, asn1.oidToDer(o).getBytes());
const octets = (b: string) => asn1.create(Class.UNIVERSAL, Type.OCTETSTRING, false, b);
const explicit0 = (v: Asn1) => asn1.create(Class.CONTEXT_SPECIFIC, 0, true, [v]);
const int = (n: number) =>
  asn1.create(Class.UNIVERSAL, Type.INTEGER, false, asn1.integerToDer(n).getBytes());
const bin = (b: Buffer) => b.toString('binary');
const der = (a: Asn1) => asn1.toDer(a).getBytes();

function attributes(localKeyId: string | undefined, name: string, trusted: boolean): Asn1 {
  const attrs: Asn1[] = [
    seq([
      objId(oid.friendlyName),
      set([asn1.create(Class.UNIVERSAL, Type.BMPSTRING, false, name)]),
    ]),
  ];
  if (localKeyId) attrs.push(seq([objId(oid.localKeyId), set([octets(localKeyId)])]));
  if (trusted) attrs.push(seq([objId(oid.javaTrusted), set([objId(oid.anyExtendedKeyUsage)])]));
  return set(attrs);
}

/** PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) of an ASN.1 value: [algorithm, ciphertext]. */
function pbes2(value: Asn1, password: string): [Asn1, string] {
  const enc = forge.pki.encryptPrivateKeyInfo(value, forge.util.encodeUtf8(password), {
    algorithm: 'aes256',
    count: iterations,
    saltSize: 16,
    prfAlgorithm: 'sha256',
  });
  const [alg, ct] = enc.value as Asn1[];
  if (!alg || !ct) throw new Error('PBES2 encryption failed');
  return [alg, ct.value as string];
}

function certBag(
  pem: string,
  localKeyId: string | undefined,
  name: string,
  trusted: boolean,
): Asn1 {
  const raw = new X509Certificate(pem).raw;
  return seq([
    objId(oid.certBag),
    explicit0(seq([objId(oid.x509Certificate), explicit0(octets(bin(raw)))])),
    attributes(localKeyId, name, trusted),
  ]);
}

/** SafeContents encrypted into an EncryptedData ContentInfo. */
function encryptedContent(bags: Asn1[], password: string): Asn1 {
  const [alg, ct] = pbes2(seq(bags), password);
  return seq([
    objId(oid.encryptedData),
    explicit0(
      seq([int(0), seq([objId(oid.data), alg, asn1.create(Class.CONTEXT_SPECIFIC, 0, false, ct)])]),
    ),
  ]);
}

function pfx(contents: Asn1[], password: string): Buffer {
  const authSafe = der(seq(contents));
  const salt = randomBytes(16);
  const md = forge.md.sha256.create();
  const macKey = forge.pkcs12.generateKey(
    password,
    forge.util.createBuffer(bin(salt)),
    3,
    iterations,
    32,
    md,
  );
  const mac = createHmac('sha256', Buffer.from(macKey.getBytes(), 'binary'))
    .update(Buffer.from(authSafe, 'binary'))
    .digest();
  const p = seq([
    int(3),
    seq([objId(oid.data), explicit0(octets(authSafe))]),
    seq([
      seq([
        seq([objId(oid.sha256), asn1.create(Class.UNIVERSAL, Type.NULL, false, '')]),
        octets(bin(mac)),
      ]),
      octets(bin(salt)),
      int(iterations),
    ]),
  ]);
  return Buffer.from(der(p), 'binary');
}

/**
 * keystore.p12: the private key (any type Node reads) and the chain, leaf first, under the
 * alias "certificate"; the CA (when known and not in the chain) as a further certificate.
 */
export function keystoreP12(
  keyPem: string,
  chain: readonly string[],
  password: string,
  ca?: string,
): Buffer {
  const [leaf] = chain;
  if (!leaf) throw new Error('no certificate');
  const localKeyId = bin(createHash('sha1').update(new X509Certificate(leaf).raw).digest());
  const pkcs8 = createPrivateKey(keyPem).export({ type: 'pkcs8', format: 'der' });
  const [alg, ct] = pbes2(asn1.fromDer(bin(pkcs8)), password);
  const keyBag = seq([
    objId(oid.keyBag),
    explicit0(seq([alg, octets(ct)])),
    attributes(localKeyId, 'certificate', false),
  ]);
  const certs = [...chain];
  if (
    ca &&
    !certs.some(
      (c) => new X509Certificate(c).fingerprint256 === new X509Certificate(ca).fingerprint256,
    )
  )
    certs.push(ca);
  const bags = certs.map((c, i) =>
    i === 0
      ? certBag(c, localKeyId, 'certificate', false)
      : certBag(c, undefined, `ca-${i}`, false),
  );
  return pfx(
    [
      encryptedContent(bags, password),
      seq([objId(oid.data), explicit0(octets(der(seq([keyBag]))))]),
    ],
    password,
  );
}

/** truststore.p12: the CA certificate as a trusted entry (alias "ca"), no key. */
export function truststoreP12(caPem: string, password: string): Buffer {
  return pfx([encryptedContent([certBag(caPem, undefined, 'ca', true)], password)], password);
}
