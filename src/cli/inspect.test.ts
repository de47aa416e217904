import * as x509 from '@peculiar/x509';
import { beforeAll, describe, expect, it } from 'vitest';
import type * as k8s from '@kubernetes/client-node';
import { inspectSecret } from './inspect.js';

const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
let chain = '';
let key = '';
let otherKey = '';

const pem = (label: string, der: ArrayBuffer) =>
  `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n')}\n-----END ${label}-----\n`;

beforeAll(async () => {
  const caKeys = await crypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=test CA',
    keys: caKeys,
    signingAlgorithm: alg,
    notBefore: new Date('2030-01-01T00:00:00Z'),
    notAfter: new Date('2032-01-01T00:00:00Z'),
  });
  const keys = await crypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: '0a',
    issuer: ca.subject,
    subject: '',
    publicKey: keys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: alg,
    notBefore: new Date('2030-06-01T00:00:00Z'),
    notAfter: new Date('2031-01-01T00:00:00Z'),
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'a.example' }])],
  });
  chain = `${leaf.toString('pem')}\n${ca.toString('pem')}\n`;
  key = pem('PRIVATE KEY', await crypto.subtle.exportKey('pkcs8', keys.privateKey));
  otherKey = pem('PRIVATE KEY', await crypto.subtle.exportKey('pkcs8', caKeys.privateKey));
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
