import { X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { describe, expect, it } from 'vitest';
import { generatePrivateKey } from '../acme/keys.js';
import {
  caProblem,
  commonNameOf,
  signCertificate,
  usagesOf,
  type SignRequest,
} from './local-ca.js';

const day = 86_400_000;
const now = new Date('2026-12-01T00:00:00Z');

function req(over: Partial<SignRequest>): SignRequest {
  return {
    dnsNames: ['a.pki.test'],
    commonName: undefined,
    durationMs: 90 * day,
    isCA: false,
    usages: undefined,
    keyPem: '',
    ca: undefined,
    now,
    ...over,
  };
}

async function selfSignedCa(alg: 'ECDSA-P256' | 'RSA-2048' = 'ECDSA-P256') {
  const keyPem = await generatePrivateKey(alg);
  const s = await signCertificate(
    req({ dnsNames: [], commonName: 'Lab Root', isCA: true, keyPem, durationMs: 365 * day }),
  );
  return { certPem: s.certPem, keyPem };
}

describe('usagesOf', () => {
  const F = x509.KeyUsageFlags;
  it.each([
    ['leaf EC default', undefined, false, false, F.digitalSignature, ['1.3.6.1.5.5.7.3.1']],
    [
      'leaf RSA default',
      undefined,
      false,
      true,
      F.digitalSignature | F.keyEncipherment,
      ['1.3.6.1.5.5.7.3.1'],
    ],
    ['CA default', undefined, true, false, F.digitalSignature | F.keyCertSign | F.cRLSign, []],
    [
      'CA keeps cert sign',
      ['server auth'] as const,
      true,
      false,
      F.keyCertSign | F.cRLSign,
      ['1.3.6.1.5.5.7.3.1'],
    ],
    [
      'client and server',
      ['digital signature', 'client auth', 'server auth'] as const,
      false,
      false,
      F.digitalSignature,
      ['1.3.6.1.5.5.7.3.2', '1.3.6.1.5.5.7.3.1'],
    ],
  ])('%s', (_n, usages, isCA, rsa, flags, ekus) => {
    expect(usagesOf(usages, isCA, rsa)).toEqual({ flags, ekus });
  });
});

describe('commonNameOf', () => {
  it.each([
    [undefined, ['*.a.test', 'b.test'], 'b.test'],
    ['given', ['b.test'], 'given'],
    [undefined, ['*.a.test'], undefined],
    [undefined, [`${'x'.repeat(60)}.test`], undefined],
  ])('%s %j', (cn, names, want) => expect(commonNameOf(cn, names)).toBe(want));
});

describe('signCertificate', () => {
  it.each(['ECDSA-P256', 'RSA-2048'] as const)(
    'a %s CA signs an ECDSA-P384 leaf that verifies against it',
    async (caAlg) => {
      const ca = await selfSignedCa(caAlg);
      const keyPem = await generatePrivateKey('ECDSA-P384');
      const s = await signCertificate(
        req({ dnsNames: ['a.pki.test', '*.pki.test'], keyPem, ca, durationMs: 30 * day }),
      );
      const leaf = new X509Certificate(s.certPem);
      const root = new X509Certificate(ca.certPem);
      expect(leaf.checkIssued(root)).toBe(true);
      expect(leaf.verify(root.publicKey)).toBe(true);
      expect(leaf.ca).toBe(false);
      expect(leaf.subjectAltName).toBe('DNS:a.pki.test, DNS:*.pki.test');
      expect(leaf.subject).toBe('CN=a.pki.test');
      expect(new Date(leaf.validTo).getTime()).toBe(now.getTime() + 30 * day);
      expect(s.caPem).toBe(ca.certPem);
      expect(caProblem(ca, now)).toBeUndefined();
    },
  );

  it('self-signed: ca.crt is the certificate itself, and a CA when isCA', async () => {
    const ca = await selfSignedCa();
    const c = new X509Certificate(ca.certPem);
    expect(c.ca).toBe(true);
    expect(c.subject).toBe('CN=Lab Root');
    expect(c.verify(c.publicKey)).toBe(true);
    const ku = new x509.X509Certificate(ca.certPem).getExtension(x509.KeyUsagesExtension);
    expect((ku?.usages ?? 0) & x509.KeyUsageFlags.keyCertSign).toBeTruthy();
  });
});

describe('caProblem', () => {
  it('names what is wrong with a CA key pair', async () => {
    const ca = await selfSignedCa();
    const otherKey = await generatePrivateKey('ECDSA-P256');
    const leafKey = await generatePrivateKey('ECDSA-P256');
    const leaf = await signCertificate(req({ keyPem: leafKey, ca }));
    const cases: [string, { certPem: string; keyPem: string }, Date, RegExp | undefined][] = [
      ['good', ca, now, undefined],
      ['not PEM', { certPem: 'x', keyPem: ca.keyPem }, now, /not a PEM certificate/],
      ['not a CA', { certPem: leaf.certPem, keyPem: leafKey }, now, /not a CA certificate/],
      ['key mismatch', { ...ca, keyPem: otherKey }, now, /not the key of tls.crt/],
      ['bad key', { ...ca, keyPem: 'nope' }, now, /not a PEM private key/],
      ['expired', ca, new Date(now.getTime() + 400 * day), /expired/],
    ];
    for (const [name, pair, at, want] of cases) {
      const p = caProblem(pair, at);
      if (want) expect(p, name).toMatch(want);
      else expect(p, name).toBeUndefined();
    }
  });
});
