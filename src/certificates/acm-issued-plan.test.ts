import { describe, expect, it } from 'vitest';
import { dnsEndpoint } from '../api/v1alpha1.js';
import {
  acmRenewalLeadMs,
  backoffMs,
  idempotencyToken,
  issuedStep,
  sameNameSet,
  validationEndpoints,
  validityOf,
  type IssuedInput,
} from './acm-issued-plan.js';
import type { IssuedView } from './stores/acm-client.js';

const arn = 'arn:aws:acm:us-east-1:123456789012:certificate/abc';
const names = ['a.example.com', 'b.example.com'];
const view = (status: string, extra: Partial<IssuedView> = {}): IssuedView => ({
  status,
  validation: [{ name: '_x.a.example.com.', type: 'CNAME', value: '_y.acm-validations.aws.' }],
  ...extra,
});
const base: IssuedInput = { arn, requestedNames: names, dnsNames: names, view: view('ISSUED') };

describe('issuedStep', () => {
  it.each<[string, Partial<IssuedInput>, string, string | undefined]>([
    ['no ARN yet', { arn: undefined, view: undefined }, 'request', undefined],
    ['the ARN is gone from ACM', { view: undefined }, 'gone', undefined],
    ['pending validation', { view: view('PENDING_VALIDATION') }, 'pending', 'ACMPendingValidation'],
    ['issued', {}, 'issued', 'Issued'],
    [
      'names in another order are the same',
      { requestedNames: [...names].reverse() },
      'issued',
      'Issued',
    ],
    ['names changed while issued', { dnsNames: ['a.example.com'] }, 'request', undefined],
    [
      'names changed while pending',
      { dnsNames: ['c.example.com'], view: view('PENDING_VALIDATION') },
      'request',
      undefined,
    ],
    ['no names recorded (status from before)', { requestedNames: undefined }, 'request', undefined],
    [
      'validation timed out',
      { view: view('VALIDATION_TIMED_OUT') },
      'failed',
      'ACMValidationTimedOut',
    ],
    [
      'failed, with ACM reason',
      { view: view('FAILED', { failureReason: 'CAA_ERROR' }) },
      'failed',
      'ACMRequestFailed',
    ],
    ['revoked', { view: view('REVOKED') }, 'failed', 'ACMRequestFailed'],
    ['expired', { view: view('EXPIRED') }, 'failed', 'ACMRequestFailed'],
  ])('%s', (_name, over, kind, readyReason) => {
    const step = issuedStep({ ...base, ...over });
    expect(step.kind).toBe(kind);
    if (readyReason === undefined) return;
    const conditions = 'conditions' in step ? step.conditions : [];
    expect(conditions.find((c) => c.type === 'Ready')?.reason).toBe(readyReason);
  });

  it("puts ACM's failure reason in the message", () => {
    const step = issuedStep({ ...base, view: view('FAILED', { failureReason: 'CAA_ERROR' }) });
    expect(step.kind === 'failed' && step.message).toBe(
      `ACM certificate ${arn} is FAILED (CAA_ERROR)`,
    );
  });

  it.each<[string | undefined, string]>([
    [undefined, 'UpToDate'],
    ['SUCCESS', 'UpToDate'],
    ['PENDING_AUTO_RENEWAL', 'UpToDate'],
    ['FAILED', 'ACMRenewalFailed'],
  ])('renewal %s → Issuing %s, Ready stays True', (renewalStatus, reason) => {
    const step = issuedStep({
      ...base,
      view: view('ISSUED', renewalStatus ? { renewalStatus, renewalReason: 'CAA_ERROR' } : {}),
    });
    if (step.kind !== 'issued') throw new Error(step.kind);
    expect(step.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(step.conditions.find((c) => c.type === 'Issuing')?.reason).toBe(reason);
    expect(step.renewalFailed !== undefined).toBe(reason === 'ACMRenewalFailed');
  });
});

describe('idempotencyToken', () => {
  it('is 32 word characters, the same for the same uid and names in any order', () => {
    const t = idempotencyToken('uid-1', names);
    expect(t).toMatch(/^\w{32}$/);
    expect(idempotencyToken('uid-1', [...names].reverse())).toBe(t);
  });
  it.each<[string, string[]]>([
    ['uid-2', names],
    ['uid-1', ['a.example.com']],
  ])('differs for %s %j', (uid, n) => {
    expect(idempotencyToken(uid, n)).not.toBe(idempotencyToken('uid-1', names));
  });
});

describe('sameNameSet', () => {
  it.each<[string[] | undefined, string[], boolean]>([
    [undefined, ['a'], false],
    [['a', 'b'], ['b', 'a'], true],
    [['a'], ['a', 'b'], false],
    [['a', 'c'], ['a', 'b'], false],
  ])('%j vs %j → %s', (a, b, same) => expect(sameNameSet(a, b)).toBe(same));
});

describe('validationEndpoints', () => {
  it('lower-cases, drops the trailing dot, one CNAME per name, sorted, schema-valid', () => {
    const eps = validationEndpoints([
      { name: '_B.example.com.', type: 'CNAME', value: '_v2.ACM-validations.aws.' },
      { name: '_a.example.com.', type: 'CNAME', value: '_v1.acm-validations.aws.' },
      // a wildcard and its base name share one record
      { name: '_a.example.com.', type: 'CNAME', value: '_v1.acm-validations.aws.' },
      { name: 'ignored.example.com.', type: 'TXT', value: 'x' },
    ]);
    expect(eps).toEqual([
      { dnsName: '_a.example.com', recordType: 'CNAME', targets: ['_v1.acm-validations.aws'] },
      { dnsName: '_b.example.com', recordType: 'CNAME', targets: ['_v2.acm-validations.aws'] },
    ]);
    const obj = {
      apiVersion: 'certroute.io/v1alpha1',
      kind: 'DNSEndpoint',
      metadata: { name: 'x' },
      spec: { endpoints: eps },
    };
    expect(dnsEndpoint.safeParse(obj).error).toBeUndefined();
  });
});

describe('backoffMs', () => {
  it.each<[number, number, number]>([
    [0, 500, 500],
    [1, 500, 1000],
    [4, 500, 8000],
    [20, 500, 300_000],
    [1000, 500, 300_000],
  ])('attempt %i from %i ms → %i ms', (n, b, ms) => expect(backoffMs(b, n)).toBe(ms));
});

describe('validityOf', () => {
  it('fills notBefore, notAfter, serial and a renewalTime 60 days before expiry', () => {
    const notAfter = new Date('2027-06-01T00:00:00Z');
    const v = validityOf(
      view('ISSUED', { notBefore: new Date('2026-12-01T00:00:00Z'), notAfter, serial: '0a:0b' }),
    );
    expect(v).toEqual({
      notBefore: '2026-12-01T00:00:00.000Z',
      notAfter: notAfter.toISOString(),
      renewalTime: new Date(notAfter.getTime() - acmRenewalLeadMs).toISOString(),
      renewalReason: 'ACM managed renewal (60 days before expiry)',
      serialNumber: '0a:0b',
    });
    expect(validityOf(view('PENDING_VALIDATION'))).toEqual({});
  });
});
