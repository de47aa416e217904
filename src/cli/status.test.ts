import { describe, expect, it } from 'vitest';
import type { Certificate } from '../api/v1alpha1.js';
import { orderStepOf, renewalOf } from './status.js';

const cert = (status: Certificate['status']): Certificate => ({
  apiVersion: 'certroute.io/v1alpha1',
  kind: 'Certificate',
  metadata: { name: 'a' },
  spec: { dnsNames: ['a.example'], issuerRef: { name: 'le' }, secretName: 'a' },
  ...(status ? { status } : {}),
});

describe('status cells', () => {
  it.each<[string, Certificate['status'], string | undefined]>([
    ['no status', undefined, undefined],
    ['a renewal time', { renewalTime: '2030-07-01T00:00:00Z' }, '2030-07-01T00:00:00Z'],
    [
      'an ARI window wins',
      { renewalTime: 'x', ari: { certID: 'c', windowStart: 's', windowEnd: 'e' } },
      'ARI window s .. e',
    ],
  ])('renewal: %s', (_n, st, want) => {
    expect(renewalOf(cert(st))).toBe(want);
  });

  it.each<[string, Certificate['status'], string | undefined]>([
    [
      'nothing in flight',
      {
        conditions: [
          {
            type: 'Issuing',
            status: 'False',
            reason: 'UpToDate',
            message: '',
            lastTransitionTime: 't',
          },
        ],
      },
      undefined,
    ],
    [
      'a failure',
      {
        conditions: [
          {
            type: 'Issuing',
            status: 'False',
            reason: 'Failed',
            message: '',
            lastTransitionTime: 't',
          },
        ],
      },
      'Failed',
    ],
    [
      'a challenge',
      {
        order: {
          url: 'o',
          createdAt: 't',
          dnsNames: ['a.example'],
          authorizations: [
            {
              url: 'z',
              identifier: 'a.example',
              challenge: { type: 'http-01', url: 'c', token: 't' },
            },
          ],
        },
      },
      'order: http-01 a.example',
    ],
    [
      'finalizing',
      { order: { url: 'o', createdAt: 't', dnsNames: ['a.example'], authorizations: [] } },
      'order: finalizing',
    ],
  ])('in flight: %s', (_n, st, want) => {
    expect(orderStepOf(cert(st))).toBe(want);
  });
});
