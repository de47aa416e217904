import { createPrivateKey } from 'node:crypto';
import * as acme from 'acme-client';
import { describe, expect, it } from 'vitest';
import { createCsr, generatePrivateKey } from './keys.js';

describe('generatePrivateKey', () => {
  it.each([
    ['ECDSA-P256', 'ec', { namedCurve: 'prime256v1' }],
    ['ECDSA-P384', 'ec', { namedCurve: 'secp384r1' }],
    ['RSA-2048', 'rsa', { modulusLength: 2048 }],
    ['RSA-3072', 'rsa', { modulusLength: 3072 }],
  ] as const)('%s is a PKCS#8 %s key', async (alg, type, details) => {
    const pem = await generatePrivateKey(alg);
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const key = createPrivateKey(pem);
    expect(key.asymmetricKeyType).toBe(type);
    expect(key.asymmetricKeyDetails).toMatchObject(details);
  });

  it('gives a fresh key each time', async () => {
    expect(await generatePrivateKey('ECDSA-P256')).not.toBe(await generatePrivateKey('ECDSA-P256'));
  });
});

describe('createCsr', () => {
  it('names exactly the hosts, wildcards included, with a non-wildcard common name', async () => {
    const key = await generatePrivateKey('ECDSA-P256');
    const csr = await createCsr(['*.example.test', 'example.test'], key);
    const names = acme.crypto.readCsrDomains(csr);
    expect(names.commonName).toBe('example.test');
    expect([...names.altNames].sort()).toEqual(['*.example.test', 'example.test']);
  });

  it('leaves the common name out when every name is too long or a wildcard', async () => {
    const key = await generatePrivateKey('ECDSA-P256');
    const long = `${'a'.repeat(60)}.example.test`;
    const names = acme.crypto.readCsrDomains(await createCsr(['*.example.test', long], key));
    expect(names.commonName).toBeFalsy();
    expect([...names.altNames].sort()).toEqual(['*.example.test', long]);
  });
});
