import { describe, expect, it } from 'vitest';
import {
  failedStatus,
  heldStatus,
  idleStep,
  isCurrent,
  issuedStatus,
  orderStep,
  orderTimedOut,
  pollDelayMs,
  sameNames,
  tokensOfOrder,
  type IdleInput,
  type IdleStep,
} from './machine.js';
import type { Order } from './types.js';
import type { CertInfo } from './x509.js';

const now = new Date('2030-06-10T00:00:00Z');
const info: CertInfo = {
  notBefore: new Date('2030-06-01T00:00:00Z'),
  notAfter: new Date('2030-08-30T00:00:00Z'),
  dnsNames: ['a.example', 'b.example'],
  serialNumber: '0a',
} as CertInfo;
const at = (iso: string) => ({ at: new Date(iso), reason: 'at 2/3 of the lifetime' });
const hour = 3_600_000;

describe('orderStep', () => {
  it.each([
    ['pending', 'authorize'],
    ['ready', 'finalize'],
    ['processing', 'poll'],
    ['valid', 'store'],
    ['invalid', 'fail'],
    ['expired', 'fail'],
    ['deactivated', 'fail'],
  ])('%s -> %s', (status, step) => {
    expect(orderStep(status)).toBe(step);
  });
});

describe('isCurrent', () => {
  it.each<[string, CertInfo | undefined, string[], boolean]>([
    ['no certificate', undefined, ['a.example'], false],
    ['covers exactly, valid', info, ['b.example', 'a.example'], true],
    ['a name missing', info, ['a.example'], false],
    ['a name more', info, ['a.example', 'b.example', 'c.example'], false],
    [
      'expired',
      { ...info, notAfter: new Date('2030-06-09T00:00:00Z') },
      ['a.example', 'b.example'],
      false,
    ],
  ])('%s -> %s', (_name, i, names, want) => {
    expect(isCurrent(i, names, now)).toBe(want);
  });
});

describe('idleStep', () => {
  const base: IdleInput = {
    info,
    dnsNames: ['a.example', 'b.example'],
    renewal: undefined,
    nextRetryTime: undefined,
    ariNextAt: undefined,
    now,
  };
  it.each<[string, Partial<IdleInput>, IdleStep]>([
    ['no certificate yet', { info: undefined }, { kind: 'order', why: 'no certificate yet' }],
    [
      'names changed',
      { dnsNames: ['a.example'] },
      { kind: 'order', why: 'the certificate does not cover spec.dnsNames' },
    ],
    ['expired (no renewal decision)', {}, { kind: 'order', why: 'the certificate has expired' }],
    [
      'renewal in the future: wait until just after it',
      { renewal: at('2030-06-10T01:00:00Z') },
      { kind: 'up-to-date', requeueAfterMs: hour + 250 },
    ],
    [
      'renewal far away: look again within 12 hours',
      { renewal: at('2030-07-30T00:00:00Z') },
      { kind: 'up-to-date', requeueAfterMs: 12 * hour },
    ],
    [
      'ARI may be asked sooner than that',
      { renewal: at('2030-07-30T00:00:00Z'), ariNextAt: now.getTime() + 2 * hour },
      { kind: 'up-to-date', requeueAfterMs: 2 * hour },
    ],
    [
      'never sooner than a second',
      { renewal: at('2030-06-10T00:00:00.100Z') },
      { kind: 'up-to-date', requeueAfterMs: 1000 },
    ],
    [
      'renewal due',
      { renewal: at('2030-06-09T00:00:00Z') },
      { kind: 'order', why: 'renewal due: at 2/3 of the lifetime' },
    ],
    [
      'renewal due, but a backoff runs',
      { renewal: at('2030-06-09T00:00:00Z'), nextRetryTime: '2030-06-10T00:10:00Z' },
      { kind: 'backoff', requeueAfterMs: 10 * 60_000 + 100 },
    ],
    [
      'a backoff that has run out',
      { info: undefined, nextRetryTime: '2030-06-09T23:00:00Z' },
      { kind: 'order', why: 'no certificate yet' },
    ],
  ])('%s', (_name, input, want) => {
    expect(idleStep({ ...base, ...input })).toEqual(want);
  });
});

describe('pollDelayMs', () => {
  it.each([
    [false, 60_000, 500, 500],
    [true, 1_000, 500, 500],
    [true, 30_000, 500, 3_000],
    [true, 600_000, 500, 10_000],
  ])('waiting %s, order age %i ms, poll %i ms -> %i ms', (waiting, age, poll, want) => {
    expect(pollDelayMs(waiting, age, poll)).toBe(want);
  });
});

const order: Order = {
  url: 'https://ca/order/1',
  finalizeURL: 'https://ca/finalize/1',
  createdAt: '2030-06-09T23:00:00Z',
  dnsNames: ['a.example'],
  replaces: 'aki.serial',
  authorizations: [
    {
      url: 'https://ca/authz/1',
      identifier: 'a.example',
      challenge: { type: 'http-01', url: 'u1', token: 't1', keyAuthorization: 't1.k' },
    },
    {
      url: 'https://ca/authz/2',
      identifier: 'b.example',
      challenge: { type: 'dns-01', url: 'u2', token: 't2', keyAuthorization: 'digest' },
    },
    { url: 'https://ca/authz/3', identifier: 'c.example' },
  ],
};

describe('failedStatus', () => {
  it.each([
    ['a Retry-After longer than the backoff wins', 3_600_000, '2030-06-10T01:00:00.000Z'],
    ['a shorter one leaves the backoff', 10_000, '2030-06-10T00:01:00.000Z'],
    ['none: the backoff', 0, '2030-06-10T00:01:00.000Z'],
  ])('%s', (_name, retryAfterMs, want) => {
    const s = failedStatus({}, 'RateLimited', 'x', undefined, now, 60_000, retryAfterMs);
    expect(s.nextRetryTime).toBe(want);
  });

  it('doubles the backoff, records the order, and says why', () => {
    const s = failedStatus(
      { failedAttempts: 2 },
      'OrderInvalid',
      'dns said no',
      order,
      now,
      60_000,
    );
    expect(s.failedAttempts).toBe(3);
    expect(s.nextRetryTime).toBe('2030-06-10T00:04:00.000Z');
    expect(s.fields).toEqual({
      order: null,
      lastOrder: {
        url: order.url,
        result: 'invalid',
        finishedAt: now.toISOString(),
        message: 'dns said no',
        replaces: 'aki.serial',
      },
      failedAttempts: 3,
      lastFailure: 'OrderInvalid: dns said no',
      nextRetryTime: '2030-06-10T00:04:00.000Z',
    });
    expect(s.conditions).toEqual([
      { type: 'Ready', status: 'False', reason: 'OrderInvalid', message: 'dns said no' },
      {
        type: 'Issuing',
        status: 'False',
        reason: 'Failed',
        message: 'OrderInvalid: dns said no; attempt 3, next retry at 2030-06-10T00:04:00.000Z',
      },
    ]);
  });

  it('keeps Ready while the current certificate is valid, and records no order it never had', () => {
    const s = failedStatus(
      { notAfter: '2030-08-30T00:00:00.000Z' },
      'NoSolver',
      'no solver for a.example',
      undefined,
      now,
      60_000,
    );
    expect(s.fields).not.toHaveProperty('lastOrder');
    expect(s.conditions[0]).toEqual({
      type: 'Ready',
      status: 'True',
      reason: 'Issued',
      message: 'current certificate valid until 2030-08-30T00:00:00.000Z; renewal failing',
    });
  });
});

describe('issuedStatus', () => {
  it('finishes the order, resets the backoff and bumps the revision', () => {
    const s = issuedStatus(
      { revision: 4, failedAttempts: 2 },
      order,
      info,
      at('2030-07-30T00:00:00Z'),
      'arn:acm:1',
      now,
    );
    expect(s.fields).toMatchObject({
      order: null,
      lastOrder: { url: order.url, result: 'valid', replaces: 'aki.serial' },
      notAfter: info.notAfter.toISOString(),
      renewalTime: '2030-07-30T00:00:00.000Z',
      ari: null,
      failedAttempts: 0,
      lastFailure: null,
      nextRetryTime: null,
      revision: 5,
      acm: { certificateArn: 'arn:acm:1' },
    });
    expect(s.conditions.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['Ready', 'True', 'Issued'],
      ['Issuing', 'False', 'Issued'],
    ]);
  });
});

describe('sameNames and tokensOfOrder', () => {
  it('compares names as sets', () => {
    expect(sameNames(['a', 'b'], ['b', 'a'])).toBe(true);
    expect(sameNames(['a', 'b'], ['a'])).toBe(false);
    expect(sameNames(['a'], ['a', 'c'])).toBe(false);
  });

  it('serves the HTTP-01 tokens of an order, not its DNS-01 values', () => {
    expect([...tokensOfOrder(order)]).toEqual([['t1', 't1.k']]);
    expect(tokensOfOrder(undefined).size).toBe(0);
  });
});

describe('heldStatus (a local CA limit holds the order back)', () => {
  const until = now.getTime() + 90 * 60_000;
  it.each([
    [
      'no certificate: Ready=False RateLimited',
      {},
      { type: 'Ready', status: 'False', reason: 'RateLimited', message: 'local limit: x' },
    ],
    [
      'a valid certificate: Ready stays True',
      { notAfter: '2030-08-30T00:00:00.000Z' },
      {
        type: 'Ready',
        status: 'True',
        reason: 'Issued',
        message: 'current certificate valid until 2030-08-30T00:00:00.000Z; renewal waiting',
      },
    ],
  ])('%s', (_name, status, ready) => {
    const s = heldStatus(
      { ...status, failedAttempts: 2 },
      'RateLimited',
      'local limit: x',
      now,
      until,
    );
    expect(s.failedAttempts).toBe(2);
    expect(s.nextRetryTime).toBe('2030-06-10T01:30:00.000Z');
    expect(s.fields).toEqual({
      lastFailure: 'RateLimited: local limit: x',
      nextRetryTime: '2030-06-10T01:30:00.000Z',
    });
    expect(s.conditions).toEqual([
      ready,
      {
        type: 'Issuing',
        status: 'False',
        reason: 'RateLimited',
        message: 'local limit: x; next attempt at 2030-06-10T01:30:00.000Z',
      },
    ]);
  });

  it('never sets the next attempt in the past', () => {
    expect(heldStatus({}, 'RateLimited', 'x', now, 0).nextRetryTime).toBe(now.toISOString());
  });

  it('the idle step then waits until the limit frees, with no order', () => {
    const s = heldStatus({}, 'RateLimited', 'x', now, until);
    expect(
      idleStep({
        info: undefined,
        dnsNames: ['a.example'],
        renewal: undefined,
        nextRetryTime: s.nextRetryTime,
        ariNextAt: undefined,
        now,
      }),
    ).toEqual({ kind: 'backoff', requeueAfterMs: 90 * 60_000 + 100 });
  });
});

describe('orderTimedOut', () => {
  const placed = '2026-12-07T10:00:00.000Z';
  const at = (s: number) => Date.parse(placed) + s * 1000;
  it.each([
    ['pending, before the bound', 'authorize', placed, at(59), false],
    ['pending, at the bound', 'authorize', placed, at(60), true],
    ['ready, past the bound', 'finalize', placed, at(61), true],
    ['processing, past the bound', 'poll', placed, at(3600), true],
    ['valid is stored however old', 'store', placed, at(3600), false],
    ['invalid fails on its own', 'fail', placed, at(3600), false],
    ['an unreadable creation time never times out', 'authorize', 'yesterday-ish', at(3600), false],
  ] as const)('%s', (_name, step, createdAt, now, expected) => {
    expect(orderTimedOut(step, createdAt, now, 60_000)).toBe(expected);
  });
});
