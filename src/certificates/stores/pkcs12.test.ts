import { X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import { describe, expect, it } from 'vitest';
import { generatePrivateKey } from '../../acme/keys.js';
import { signCertificate } from '../local-ca.js';
import { keystoreP12, truststoreP12 } from './pkcs12.js';

const now = new Date();

async function pair(alg: 'RSA-2048' | 'ECDSA-P256') {
  const caKey = await generatePrivateKey(alg);
  const base = { commonName: undefined, usages: undefined, now };
  const ca = await signCertificate({
    ...base,
    dnsNames: [],
    commonName: 'Root',
    durationMs: 1e10,
    isCA: true,
    keyPem: caKey,
    ca: undefined,
  });
  const key = await generatePrivateKey(alg);
  const leaf = await signCertificate({
    ...base,
    dnsNames: ['a.pki.test'],
    durationMs: 1e9,
    isCA: false,
    keyPem: key,
    ca: { certPem: ca.certPem, keyPem: caKey },
  });
  return { key, leaf: leaf.certPem, ca: ca.caPem };
}

const keyBag = '1.2.840.113549.1.12.10.1.2';
const certBag = '1.2.840.113549.1.12.10.1.3';

/** forge reads PBES2 and SHA-256 MACs (not EC keys): an independent reader for RSA. */
function read(p12: Buffer, password: string) {
  const asn = forge.asn1.fromDer(p12.toString('binary'));
  const store = forge.pkcs12.pkcs12FromAsn1(asn, true, password);
  const bags = (type: string): forge.pkcs12.Bag[] =>
    (store.getBags({ bagType: type }) as Record<string, forge.pkcs12.Bag[] | undefined>)[type] ??
    [];
  return { certs: bags(certBag), keys: bags(keyBag) };
}

describe('keystoreP12', () => {
  it('holds the key and the chain plus CA, MAC-checked, readable with the password', async () => {
    const p = await pair('RSA-2048');
    const store = read(keystoreP12(p.key, [p.leaf], 'pw-1', p.ca), 'pw-1');
    const keys = store.keys;
    expect(keys).toHaveLength(1);
    const certs = store.certs;
    expect(
      certs.map((b) => (b.cert?.subject.getField('CN') as { value?: string } | null)?.value),
    ).toEqual(['a.pki.test', 'Root']);
    expect((certs[0]?.attributes as Record<string, unknown> | undefined)?.friendlyName).toEqual([
      'certificate',
    ]);
  });

  it('a wrong password fails the MAC', async () => {
    const p = await pair('RSA-2048');
    expect(() => read(keystoreP12(p.key, [p.leaf], 'right'), 'wrong')).toThrow(/MAC|password/i);
  });

  it('takes an ECDSA key (forge itself cannot) and does not repeat a CA already in the chain', async () => {
    const p = await pair('ECDSA-P256');
    const a = keystoreP12(p.key, [p.leaf, p.ca], 'x', p.ca);
    const b = keystoreP12(p.key, [p.leaf, p.ca], 'x');
    // Same structure and sizes (random salts and IVs differ).
    expect(a.length).toBe(b.length);
    expect(new X509Certificate(p.leaf).checkIssued(new X509Certificate(p.ca))).toBe(true);
  });
});

describe('truststoreP12', () => {
  it('holds the CA certificate only', async () => {
    const p = await pair('RSA-2048');
    const store = read(truststoreP12(p.ca, 'pw'), 'pw');
    const certs = store.certs;
    expect(
      certs.map((b) => (b.cert?.subject.getField('CN') as { value?: string } | null)?.value),
    ).toEqual(['Root']);
    expect(store.keys).toHaveLength(0);
  });
});
