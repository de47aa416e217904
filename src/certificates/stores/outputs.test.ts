import { describe, expect, it } from 'vitest';
import { generatePrivateKey } from '../../acme/keys.js';
import { signCertificate } from '../local-ca.js';
import type { Cert } from '../types.js';
import { outputsOf, type PasswordLookup } from './outputs.js';

function cert(spec: Partial<Cert['spec']>): Cert {
  return {
    apiVersion: 'certroute.io/v1alpha1',
    kind: 'Certificate',
    metadata: { name: 'c', namespace: 'ns' },
    spec: { dnsNames: ['a.pki.test'], issuerRef: { name: 'ca' }, secretName: 's', ...spec },
  };
}

describe('outputsOf', async () => {
  const key = await generatePrivateKey('ECDSA-P256');
  const s = await signCertificate({
    dnsNames: ['a.pki.test'],
    commonName: undefined,
    durationMs: 1e9,
    isCA: false,
    usages: undefined,
    keyPem: key,
    ca: undefined,
    now: new Date(),
  });
  const ok: PasswordLookup = { ok: true, password: 'pw' };
  const gone: PasswordLookup = {
    ok: false,
    reason: 'KeystorePasswordMissing',
    message: 'Secret ns/pw not found',
  };
  const p12 = { pkcs12: { create: true, passwordSecretRef: { name: 'pw', key: 'password' } } };
  it.each([
    ['nothing asked', {}, undefined, undefined, [], 0],
    [
      'combined PEM',
      { additionalOutputFormats: [{ type: 'CombinedPEM' as const }] },
      undefined,
      undefined,
      ['tls-combined.pem'],
      0,
    ],
    [
      'DER key',
      { additionalOutputFormats: [{ type: 'DER' as const }] },
      undefined,
      undefined,
      ['key.der'],
      0,
    ],
    ['keystore, no CA', { keystores: p12 }, undefined, ok, ['keystore.p12'], 0],
    [
      'keystore and truststore',
      { keystores: p12 },
      s.caPem,
      ok,
      ['keystore.p12', 'truststore.p12'],
      0,
    ],
    ['keystore, password missing', { keystores: p12 }, s.caPem, gone, [], 1],
  ])('%s', (_n, spec, ca, password, keys, warnings) => {
    const out = outputsOf(cert(spec), s.certPem, key, [s.certPem], ca, password);
    expect(Object.keys(out.data).sort()).toEqual([...keys].sort());
    expect(out.warnings).toHaveLength(warnings);
  });

  it('combined PEM is the key then the chain; key.der is PKCS#8', () => {
    const out = outputsOf(
      cert({ additionalOutputFormats: [{ type: 'CombinedPEM' }, { type: 'DER' }] }),
      s.certPem,
      key,
      [s.certPem],
      undefined,
      undefined,
    );
    const pem = Buffer.from(out.data['tls-combined.pem'] ?? '', 'base64').toString();
    expect(pem).toBe(`${key.trimEnd()}\n${s.certPem}`);
    const der = Buffer.from(out.data['key.der'] ?? '', 'base64');
    expect(der[0]).toBe(0x30);
  });
});
