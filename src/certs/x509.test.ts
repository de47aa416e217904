import { describe, expect, it } from 'vitest';
import { serialBytes, parseSubjectAltName, splitChain } from './x509.js';

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

  it('splits a PEM chain into its certificates', () => {
    const c = '-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----';
    expect(splitChain(`${c}\n${c}\n`)).toHaveLength(2);
    expect(splitChain('nothing')).toEqual([]);
  });
});
