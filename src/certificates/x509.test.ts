import * as x509 from '@peculiar/x509';
import { describe, expect, it } from 'vitest';
import {
  ariIdentifier,
  authorityKeyIdentifier,
  parseCertificate,
  parseSubjectAltName,
  serialBytes,
  splitChain,
} from './x509.js';

const ec = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const rsa = {
  name: 'RSASSA-PKCS1-v1_5',
  modulusLength: 2048,
  publicExponent: new Uint8Array([1, 0, 1]),
  hash: 'SHA-256',
};

/** A CA-signed leaf from @peculiar/x509, the reference for what the DER walker must find. */
async function leaf(opts: {
  alg?: typeof ec | typeof rsa;
  aki?: 'none' | 'plain' | 'critical';
  hosts?: number;
}): Promise<x509.X509Certificate> {
  const alg = opts.alg ?? ec;
  const ca = await crypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const keys = await crypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const extensions: x509.Extension[] = [
    new x509.SubjectAlternativeNameExtension(
      Array.from({ length: opts.hosts ?? 1 }, (_, i) => ({
        type: 'dns' as const,
        value: `host-${i}.example.test`,
      })),
    ),
  ];
  if ((opts.aki ?? 'plain') !== 'none')
    extensions.push(
      await x509.AuthorityKeyIdentifierExtension.create(ca.publicKey, opts.aki === 'critical'),
    );
  return x509.X509CertificateGenerator.create({
    serialNumber: '8a01',
    issuer: 'CN=test CA',
    subject: '',
    publicKey: keys.publicKey,
    signingKey: ca.privateKey,
    signingAlgorithm: alg,
    notBefore: new Date('2030-01-01T00:00:00Z'),
    notAfter: new Date('2030-04-01T00:00:00Z'),
    extensions,
  });
}

function expectedKeyId(cert: x509.X509Certificate): string | undefined {
  return cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId;
}

const hex = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString('hex') : undefined);

describe('x509 helpers', () => {
  it('parses DNS SANs and ignores other kinds', () => {
    expect(parseSubjectAltName('DNS:A.example.test, IP Address:10.0.0.1, DNS:*.b.test')).toEqual([
      'a.example.test',
      '*.b.test',
    ]);
    expect(parseSubjectAltName(undefined)).toEqual([]);
  });

  it('encodes serials as DER INTEGER value bytes (RFC 9773 §4.1)', () => {
    // The RFC's example serial 0x87654321 gets a leading zero byte: AIdlQyE.
    expect(serialBytes('87654321').toString('base64url')).toBe('AIdlQyE');
    expect(serialBytes('0x01:02').toString('hex')).toBe('0102');
    expect(serialBytes('00FF').toString('hex')).toBe('00ff');
    expect(serialBytes('0001').toString('hex')).toBe('01');
    expect(serialBytes('ABC').toString('hex')).toBe('0abc');
  });

  it('builds the RFC 9773 §4.1 example identifier', () => {
    const keyId = Buffer.from('69885b6b87464041e1b37b847ba0ae2cde01c8d4', 'hex');
    expect(ariIdentifier(keyId, '87654321')).toBe('aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE');
  });

  it('splits a PEM chain into its certificates', () => {
    const c = '-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----';
    expect(splitChain(`${c}\n${c}\n`)).toHaveLength(2);
    expect(splitChain('nothing')).toEqual([]);
  });
});

describe('authorityKeyIdentifier (DER walk)', () => {
  const cases = [
    { name: 'ECDSA leaf, non-critical AKI', opts: {} },
    { name: 'AKI marked critical (explicit BOOLEAN)', opts: { aki: 'critical' as const } },
    { name: 'RSA 2048 leaf (long-form lengths)', opts: { alg: rsa } },
    { name: '300 SANs (two-byte lengths, over 255 bytes)', opts: { hosts: 300 } },
  ];
  for (const c of cases)
    it(`finds the same keyIdentifier as a full ASN.1 parse: ${c.name}`, async () => {
      const cert = await leaf(c.opts);
      const want = expectedKeyId(cert);
      expect(want).toMatch(/^[0-9a-f]{40}$/);
      expect(hex(authorityKeyIdentifier(new Uint8Array(cert.rawData)))).toBe(want);
    });

  it('gives undefined for a certificate without the extension', async () => {
    const cert = await leaf({ aki: 'none' });
    expect(expectedKeyId(cert)).toBeUndefined();
    expect(authorityKeyIdentifier(new Uint8Array(cert.rawData))).toBeUndefined();
  });

  it('gives undefined for bytes that are not a certificate, never throws', () => {
    expect(authorityKeyIdentifier(new Uint8Array([]))).toBeUndefined();
    expect(
      authorityKeyIdentifier(new Uint8Array([0x30, 0x84, 0xff, 0xff, 0xff, 0xff])),
    ).toBeUndefined();
    expect(authorityKeyIdentifier(Buffer.from('not DER at all'))).toBeUndefined();
  });
});

describe('parseCertificate', () => {
  it('gives the leaf of a chain with its ARI identifier computed up front', async () => {
    const cert = await leaf({ hosts: 2 });
    const info = parseCertificate(`${cert.toString('pem')}\n${cert.toString('pem')}\n`);
    expect(info.dnsNames).toEqual(['host-0.example.test', 'host-1.example.test']);
    expect(info.serialNumber).toBe('8A01');
    expect(info.notAfter).toEqual(new Date('2030-04-01T00:00:00Z'));
    expect(info.issuer).toBe('CN=test CA');
    const keyId = Buffer.from(expectedKeyId(cert) ?? '', 'hex').toString('base64url');
    // 0x8a01 has its high bit set: the DER INTEGER keeps a leading zero byte.
    expect(info.ariCertID).toBe(`${keyId}.AIoB`);
    // A plain object: nothing holds the PEM or the native certificate.
    expect(Object.getOwnPropertyDescriptors(info)).not.toHaveProperty('ariCertID.get');
    expect(JSON.stringify(info)).not.toContain('BEGIN');
  });

  it('has no ARI identifier without an Authority Key Identifier', async () => {
    const info = parseCertificate((await leaf({ aki: 'none' })).toString('pem'));
    expect(info.ariCertID).toBeUndefined();
  });
});
