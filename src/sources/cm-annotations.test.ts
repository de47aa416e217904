import { describe, expect, it } from 'vitest';
import { parseAnnotations, type IngressSettings } from './annotations.js';
import { keyAlgorithmOf } from './cm-annotations.js';

const d = { dnsDefault: true, defaultIssuer: '' };
const base = { 'cert-manager.io/cluster-issuer': 'ca' };

function parse(a: Record<string, string>) {
  return parseAnnotations({ ...base, ...a }, d);
}

describe('cert-manager annotations', () => {
  it.each<[string, Record<string, string>, Partial<IngressSettings>, string[]]>([
    ['duration', { 'cert-manager.io/duration': '2160h' }, { duration: '2160h' }, []],
    [
      'duration too short',
      { 'cert-manager.io/duration': '30m' },
      { duration: undefined },
      ['cert-manager.io/duration'],
    ],
    [
      'duration not a duration',
      { 'cert-manager.io/duration': 'soon' },
      {},
      ['cert-manager.io/duration'],
    ],
    ['renew-before', { 'cert-manager.io/renew-before': '360h' }, { renewBefore: '360h' }, []],
    [
      'certroute renew-before wins',
      { 'cert-manager.io/renew-before': '360h', 'certroute.io/renew-before': '100h' },
      { renewBefore: '100h' },
      [],
    ],
    [
      'renew-before not shorter than duration',
      { 'cert-manager.io/duration': '24h', 'cert-manager.io/renew-before': '48h' },
      { duration: '24h', renewBefore: undefined },
      ['cert-manager.io/renew-before'],
    ],
    [
      'RSA default size',
      { 'cert-manager.io/private-key-algorithm': 'RSA' },
      { keyAlgorithm: 'RSA-2048' },
      [],
    ],
    [
      'RSA 4096',
      {
        'cert-manager.io/private-key-algorithm': 'RSA',
        'cert-manager.io/private-key-size': '4096',
      },
      { keyAlgorithm: 'RSA-4096' },
      [],
    ],
    [
      'ECDSA 384',
      {
        'cert-manager.io/private-key-algorithm': 'ECDSA',
        'cert-manager.io/private-key-size': '384',
      },
      { keyAlgorithm: 'ECDSA-P384' },
      [],
    ],
    [
      'size only: RSA',
      { 'cert-manager.io/private-key-size': '3072' },
      { keyAlgorithm: 'RSA-3072' },
      [],
    ],
    [
      'ECDSA 521',
      {
        'cert-manager.io/private-key-algorithm': 'ECDSA',
        'cert-manager.io/private-key-size': '521',
      },
      { keyAlgorithm: undefined },
      ['cert-manager.io/private-key-size'],
    ],
    [
      'Ed25519',
      { 'cert-manager.io/private-key-algorithm': 'Ed25519' },
      { keyAlgorithm: undefined },
      ['cert-manager.io/private-key-algorithm'],
    ],
    [
      'certroute key-algorithm wins',
      {
        'cert-manager.io/private-key-algorithm': 'RSA',
        'certroute.io/key-algorithm': 'ECDSA-P384',
      },
      { keyAlgorithm: 'ECDSA-P384' },
      [],
    ],
    [
      'common-name',
      { 'cert-manager.io/common-name': 'My Service' },
      { commonName: 'My Service' },
      [],
    ],
    [
      'common-name too long',
      { 'cert-manager.io/common-name': 'x'.repeat(65) },
      { commonName: undefined },
      ['cert-manager.io/common-name'],
    ],
    [
      'usages',
      { 'cert-manager.io/usages': 'digital signature, server auth,client auth' },
      { usages: ['digital signature', 'server auth', 'client auth'] },
      [],
    ],
    [
      'unknown usage',
      { 'cert-manager.io/usages': 'server auth,flying' },
      { usages: undefined },
      ['cert-manager.io/usages'],
    ],
  ])('%s', (_n, a, want, problems) => {
    const r = parse(a);
    expect(r.settings).toMatchObject(
      Object.fromEntries(Object.entries(want).filter(([, v]) => v !== undefined)),
    );
    for (const [k, v] of Object.entries(want))
      if (v === undefined) expect(r.settings[k as keyof IngressSettings]).toBeUndefined();
    expect(r.problems.map((p) => p.annotation)).toEqual(problems);
    expect(r.settings.issuer).toBe('ca');
  });
});

describe('keyAlgorithmOf', () => {
  it.each([
    [undefined, undefined, 'RSA-2048'],
    ['ECDSA', undefined, 'ECDSA-P256'],
    ['RSA', '2048', 'RSA-2048'],
    ['RSA', '1024', undefined],
    ['rsa', undefined, undefined],
  ])('%s %s', (alg, size, want) => {
    const k = keyAlgorithmOf(alg, size);
    expect(k.ok ? k.algorithm : undefined).toBe(want);
  });
});
