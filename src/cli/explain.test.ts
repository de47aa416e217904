import { describe, expect, it } from 'vitest';
import type { Certificate, ClusterIssuer, DNSEndpoint } from '../api/v1alpha1.js';
import { compile } from '../tenancy/policy.js';
import { explainHost, exitCodeOf, pickSolver, type HostView, type StepState } from './explain.js';
import type { SecretReport } from './inspect.js';
import type { Claim } from './sources.js';

const host = 'www.shop.example';
const now = new Date('2030-06-10T00:00:00Z');
const claim: Claim = {
  kind: 'Ingress',
  namespace: 'shop',
  name: 'web',
  managed: [host],
  unmanaged: [],
  addresses: ['192.0.2.1'],
  className: 'traefik',
};
const cond = (type: string, status: 'True' | 'False', reason: string, message = reason) => ({
  type,
  status,
  reason,
  message,
  lastTransitionTime: '2030-06-01T00:00:00Z',
});

function endpoint(state?: string, extra: Record<string, string> = {}): DNSEndpoint {
  return {
    apiVersion: 'certroute.io/v1alpha1',
    kind: 'DNSEndpoint',
    metadata: { name: 'web', namespace: 'shop' },
    spec: { endpoints: [{ dnsName: host, recordType: 'A', targets: ['192.0.2.1'] }] },
    ...(state
      ? {
          status: {
            endpoints: [{ dnsName: host, recordType: 'A', state: state as 'Published', ...extra }],
          },
        }
      : {}),
  };
}

function certificate(status: Certificate['status']): Certificate {
  return {
    apiVersion: 'certroute.io/v1alpha1',
    kind: 'Certificate',
    metadata: { name: 'web-tls', namespace: 'shop' },
    spec: { dnsNames: [host], issuerRef: { name: 'le' }, secretName: 'web-tls' },
    ...(status ? { status } : {}),
  };
}

const acme = {
  server: 'https://ca/dir',
  privateKeySecretRef: { name: 'k' },
  solvers: [{ http01: {} }],
};
const issuer: ClusterIssuer = {
  apiVersion: 'certroute.io/v1alpha1',
  kind: 'ClusterIssuer',
  metadata: { name: 'le' },
  spec: { acme },
};

const goodSecret: SecretReport = {
  namespace: 'shop',
  name: 'web-tls',
  type: 'kubernetes.io/tls',
  chain: [],
  leaf: {
    subject: '',
    issuer: 'CN=CA',
    notBefore: '2030-06-01T00:00:00.000Z',
    notAfter: '2030-09-01T00:00:00.000Z',
    serialNumber: '0A',
    sans: [host],
    keyType: 'ECDSA prime256v1',
  },
  keyMatches: true,
  problems: [],
};

const ready = certificate({
  conditions: [cond('Ready', 'True', 'Issued'), cond('Issuing', 'False', 'UpToDate')],
  lastOrder: { url: 'o', result: 'valid', finishedAt: '2030-06-01T00:00:00Z' },
});

function view(o: Partial<HostView> = {}): HostView {
  return {
    host,
    claims: [claim],
    endpoints: [endpoint('Published', { zoneID: 'Z1', owner: 'this' })],
    certificates: [ready],
    policies: [],
    namespace: { name: 'shop', labels: {} },
    issuers: new Map([['ClusterIssuer//le', issuer]]),
    secrets: new Map([['shop/web-tls', goodSecret]]),
    unread: [],
    now,
    ...o,
  };
}

const states = (v: HostView) => Object.fromEntries(explainHost(v).map((s) => [s.step, s.state]));
const step = (v: HostView, name: string) => explainHost(v).find((s) => s.step === name);

describe('explainHost', () => {
  it('a ready host: every step passes, exit 0', () => {
    const steps = explainHost(view());
    expect(steps.map((s) => s.step)).toEqual([
      'source',
      'policy',
      'zone',
      'owner',
      'address',
      'record',
      'solver',
      'order',
      'secret',
    ]);
    expect(steps.every((s) => s.state === 'passed')).toBe(true);
    expect(exitCodeOf(steps)).toBe(0);
  });

  it.each<[string, Partial<HostView>, string, StepState, string]>([
    ['no source', { claims: [] }, 'source', 'failed', 'no source you may read claims'],
    [
      'no source, Ingresses unreadable',
      { claims: [], unread: ['forbidden: list ingresses'] },
      'source',
      'unknown',
      'forbidden',
    ],
    [
      'an Ingress naming the host without annotations',
      { claims: [{ ...claim, managed: [], unmanaged: [host] }] },
      'source',
      'failed',
      'asks certroute for nothing',
    ],
    [
      'denied, as the operator reports it',
      { endpoints: [endpoint('Denied', { message: 'A www denied: DomainPolicy p: no' })] },
      'policy',
      'failed',
      'DomainPolicy p: no',
    ],
    [
      'denied, as the CLI computes it',
      {
        policies: [compile('p', { namespaces: { names: ['other'] }, domains: [] })],
        endpoints: [endpoint()],
      },
      'policy',
      'failed',
      'no DomainPolicy selects namespace shop',
    ],
    [
      'policies unreadable',
      { policies: undefined, endpoints: [endpoint()] },
      'policy',
      'unknown',
      'could not be read',
    ],
    [
      'no zone',
      {
        endpoints: [endpoint('NoZone', { message: 'no managed Route53 hosted zone contains www' })],
      },
      'zone',
      'failed',
      'no managed Route53 hosted zone',
    ],
    [
      'another owner',
      { endpoints: [endpoint('OwnedByOther', { zoneID: 'Z1', owner: 'certroute owner "b"' })] },
      'owner',
      'failed',
      'TXT owner "certroute owner "b""',
    ],
    [
      'no address',
      { claims: [{ ...claim, addresses: [] }], endpoints: [endpoint('WaitingForAddress')] },
      'address',
      'waiting',
      'no load balancer address yet',
    ],
    [
      'Route53 refused',
      { endpoints: [endpoint('Error', { zoneID: 'Z1', message: 'InvalidChangeBatch' })] },
      'record',
      'failed',
      'InvalidChangeBatch',
    ],
    [
      'not synced yet',
      { endpoints: [endpoint('Pending', { zoneID: 'Z1' })] },
      'record',
      'waiting',
      'not yet in sync',
    ],
    [
      'the issuer is missing',
      { issuers: new Map([['ClusterIssuer//le', undefined]]) },
      'solver',
      'failed',
      'does not exist',
    ],
    ['the issuer is unreadable', { issuers: new Map() }, 'solver', 'unknown', 'could not be read'],
    [
      'a CA issuer needs no solver',
      {
        issuers: new Map([
          ['ClusterIssuer//le', { ...issuer, spec: { ca: { secretName: 'root-ca' } } }],
        ]),
      },
      'solver',
      'passed',
      'signs locally (CA): no challenge',
    ],
    [
      'no solver matches',
      {
        issuers: new Map([
          [
            'ClusterIssuer//le',
            {
              ...issuer,
              spec: {
                acme: {
                  ...acme,
                  solvers: [{ selector: { dnsZones: ['other.example'] }, http01: {} }],
                },
              },
            },
          ],
        ]),
      },
      'solver',
      'failed',
      'no solver of ClusterIssuer le matches',
    ],
    [
      'an order in flight',
      {
        certificates: [
          certificate({
            order: {
              url: 'o',
              createdAt: '2030-06-09T00:00:00Z',
              dnsNames: [host],
              authorizations: [
                {
                  url: 'a',
                  identifier: host,
                  solver: 0,
                  challenge: { type: 'http-01', url: 'c', token: 't' },
                },
              ],
            },
          }),
        ],
      },
      'order',
      'waiting',
      'http-01 challenge for www.shop.example',
    ],
    [
      "a failed order, with the CA's words",
      {
        certificates: [
          certificate({
            conditions: [
              cond('Ready', 'False', 'OrderInvalid', 'invalid'),
              cond('Issuing', 'False', 'Failed', 'OrderInvalid: connection refused; attempt 1'),
            ],
            lastFailure: 'OrderInvalid: connection refused',
            nextRetryTime: '2030-06-10T00:01:00Z',
            lastOrder: {
              url: 'o',
              result: 'invalid',
              finishedAt: '2030-06-10T00:00:00Z',
              message: 'connection refused',
            },
          }),
        ],
      },
      'order',
      'failed',
      'OrderInvalid: connection refused; attempt 1',
    ],
    [
      'held by the preflight',
      {
        certificates: [
          certificate({
            conditions: [
              cond('Ready', 'False', 'WaitingForDNS'),
              cond('Issuing', 'False', 'WaitingForDNS', 'www does not resolve'),
            ],
          }),
        ],
      },
      'order',
      'waiting',
      'www does not resolve',
    ],
    [
      'no status yet',
      { certificates: [certificate(undefined)] },
      'order',
      'waiting',
      'is the operator running?',
    ],
    [
      'no Secret yet',
      { secrets: new Map([['shop/web-tls', { unread: 'does not exist yet' }]]) },
      'secret',
      'unknown',
      'does not exist yet',
    ],
    [
      'a key that does not match',
      { secrets: new Map([['shop/web-tls', { ...goodSecret, keyMatches: false }]]) },
      'secret',
      'failed',
      'the key does not match',
    ],
    [
      'an expired Secret',
      { now: new Date('2031-01-01T00:00:00Z') },
      'secret',
      'waiting',
      'has expired',
    ],
    ['no record asked for', { endpoints: [] }, 'record', 'skipped', 'no record asked for'],
    [
      'no certificate asked for',
      { certificates: [] },
      'order',
      'skipped',
      'no certificate asked for',
    ],
  ])('%s: %s is %s', (_n, o, name, state, detail) => {
    const s = step(view(o), name);
    expect(s?.state).toBe(state);
    expect(`${s?.detail} ${s?.todo ?? ''}`).toContain(detail);
    if (state !== 'skipped')
      expect(exitCodeOf(explainHost(view(o)))).toBe(state === 'passed' ? 0 : 1);
  });

  it('a failed order says how to retry now', () => {
    const v = view({
      certificates: [
        certificate({
          conditions: [
            cond('Ready', 'False', 'OrderInvalid'),
            cond('Issuing', 'False', 'Failed', 'x'),
          ],
          lastFailure: 'OrderInvalid: x',
          nextRetryTime: '2030-06-10T00:01:00Z',
        }),
      ],
    });
    expect(step(v, 'order')?.todo).toContain('kubectl certroute retry web-tls -n shop');
    expect(step(v, 'order')?.todo).toContain('OrderInvalid (transient)');
  });

  it('skipped steps alone do not fail', () => {
    expect(states(view({ endpoints: [] }))).toMatchObject({
      zone: 'skipped',
      owner: 'skipped',
      record: 'skipped',
    });
    expect(exitCodeOf(explainHost(view({ endpoints: [] })))).toBe(0);
  });
});

describe('pickSolver', () => {
  const http = { http01: {} };
  it.each<[string, Parameters<typeof pickSolver>[0], string, number | undefined]>([
    ['one solver for all', [http], 'a.b.example', 0],
    [
      'exact name beats zone',
      [
        { ...http, selector: { dnsZones: ['b.example'] } },
        { ...http, selector: { dnsNames: ['a.b.example'] } },
      ],
      'a.b.example',
      1,
    ],
    [
      'longest zone wins',
      [
        { ...http, selector: { dnsZones: ['example'] } },
        { ...http, selector: { dnsZones: ['b.example'] } },
      ],
      'a.b.example',
      1,
    ],
    [
      'a zone beats no selector',
      [http, { ...http, selector: { dnsZones: ['example'] } }],
      'a.example',
      1,
    ],
    ['none matches', [{ ...http, selector: { dnsZones: ['other'] } }], 'a.example', undefined],
    [
      'a wildcard by its zone',
      [{ dns01: { route53: {} }, selector: { dnsZones: ['example'] } }],
      '*.example',
      0,
    ],
  ])('%s', (_n, solvers, h, want) => {
    expect(pickSolver(solvers, h)?.index).toBe(want);
  });
});
