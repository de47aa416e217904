import { beforeAll, describe, expect, it } from 'vitest';
import type * as k8s from '@kubernetes/client-node';
import { inspectSecret } from './inspect.js';
import { testChain } from '../../test/doubles/test-chain.js';

let chain = '';
let key = '';
let otherKey = '';

beforeAll(async () => {
  const c = await testChain();
  chain = `${c.leafPem}\n${c.caPem}\n`;
  key = c.keyPem;
  otherKey = c.otherKeyPem;
});

function secret(data: Record<string, string>, type = 'kubernetes.io/tls'): k8s.V1Secret {
  return {
    metadata: {
      name: 'a-tls',
      namespace: 'ns',
      annotations: { 'certroute.io/certificate-name': 'a' },
    },
    type,
    data: Object.fromEntries(
      Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
    ),
  };
}

describe('inspectSecret', () => {
  it('a good Secret: chain, SANs, validity, key type, the key matches', () => {
    const r = inspectSecret(secret({ 'tls.crt': chain, 'tls.key': key }));
    expect(r).toMatchObject({
      certificate: 'a',
      keyMatches: true,
      keyType: 'ECDSA prime256v1',
      leaf: {
        sans: ['a.example'],
        notAfter: '2031-01-01T00:00:00.000Z',
        issuer: 'CN=test CA',
        serialNumber: '0A',
      },
      problems: [],
    });
    expect(r.chain).toHaveLength(2);
    expect(r.inFlight).toBeUndefined();
  });

  it.each<[string, Record<string, string>, string, string]>([
    [
      'a key of another pair',
      { 'tls.crt': chain, 'tls.key': '' },
      'kubernetes.io/tls',
      'no tls.key',
    ],
    ['no certificate', { 'tls.key': 'x' }, 'kubernetes.io/tls', 'tls.crt holds no certificate'],
    ['not a TLS Secret', {}, 'Opaque', 'type is Opaque, not kubernetes.io/tls'],
    [
      'an unreadable key',
      { 'tls.crt': chain, 'tls.key': 'garbage' },
      'kubernetes.io/tls',
      'tls.key does not parse',
    ],
  ])('%s: a problem says so', (_n, data, type, problem) => {
    const d = { ...data };
    if (d['tls.key'] === '') delete d['tls.key'];
    const r = inspectSecret(secret(d, type));
    expect(r.problems.join('; ')).toContain(problem);
  });

  it('a mismatched key is found', () => {
    const r = inspectSecret(secret({ 'tls.crt': chain, 'tls.key': otherKey }));
    expect(r.keyMatches).toBe(false);
    expect(r.problems).toContain('tls.key does not match the certificate');
  });

  it('an order in flight: a newer certificate is coming', () => {
    const r = inspectSecret(secret({ 'tls.crt': chain, 'tls.key': key }), {
      apiVersion: 'certroute.io/v1alpha1',
      kind: 'Certificate',
      metadata: { name: 'a' },
      spec: { dnsNames: ['a.example'], issuerRef: { name: 'le' }, secretName: 'a-tls' },
      status: {
        order: {
          url: 'https://ca/order/1',
          createdAt: '2030-07-01T00:00:00Z',
          dnsNames: ['a.example'],
          authorizations: [],
        },
      },
    });
    expect(r.inFlight).toBe('order https://ca/order/1 placed 2030-07-01T00:00:00Z for a.example');
  });
});
