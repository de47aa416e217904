import { describe, expect, it } from 'vitest';
import {
  acmeAction,
  newOrderPayload,
  parseRenewalInfo,
  parseRetryAfter,
  problemType,
} from './client.js';

describe('acmeAction', () => {
  it.each([
    ['https://ca.test/dir', 'get', 'directory'],
    ['https://ca.test/nonce-plz', 'head', 'newNonce'],
    ['https://ca.test/sign-me-up', 'post', 'account'],
    ['https://acme-v02.example/acme/new-acct', 'post', 'account'],
    ['https://ca.test/order-plz', 'post', 'newOrder'],
    ['https://acme-v02.example/acme/new-order', 'post', 'newOrder'],
    ['https://ca.test/my-order/abc', 'post', 'order'],
    ['https://ca.test/finalize-order/abc', 'post', 'finalize'],
    ['https://ca.test/authZ/abc', 'post', 'authorization'],
    ['https://ca.test/chalZ/abc', 'post', 'challenge'],
    ['https://ca.test/certZ/abc', 'post', 'certificate'],
    ['https://ca.test/draft-ietf-acme-ari-03/renewalInfo/a.b', 'get', 'renewalInfo'],
    ['https://ca.test/something', 'post', 'other'],
  ])('%s (%s) is %s', (url, method, want) => {
    expect(acmeAction(url, method)).toBe(want);
  });
});

describe('parseRenewalInfo', () => {
  it('reads the suggested window and Retry-After', () => {
    const info = parseRenewalInfo(
      {
        suggestedWindow: { start: '2026-01-01T00:00:00Z', end: '2026-01-02T00:00:00Z' },
        explanationURL: 'https://ca.test/why',
      },
      '3600',
    );
    expect(info?.start.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(info?.end.toISOString()).toBe('2026-01-02T00:00:00.000Z');
    expect(info?.explanationURL).toBe('https://ca.test/why');
    expect(info?.retryAfterMs).toBe(3_600_000);
  });

  it.each([
    ['no window', {}],
    [
      'end before start',
      { suggestedWindow: { start: '2026-01-02T00:00:00Z', end: '2026-01-01T00:00:00Z' } },
    ],
    ['not dates', { suggestedWindow: { start: 'soon', end: 'later' } }],
    ['not an object', 'x'],
  ])('rejects %s', (_, body) => {
    expect(parseRenewalInfo(body, undefined)).toBeUndefined();
  });

  it('defaults Retry-After to 6 hours and reads HTTP dates', () => {
    expect(parseRetryAfter(undefined)).toBe(6 * 3_600_000);
    expect(parseRetryAfter('junk')).toBe(6 * 3_600_000);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:01:00 GMT', now)).toBe(60_000);
  });
});

describe('newOrderPayload', () => {
  it('adds profile and replaces only when set', () => {
    expect(newOrderPayload({ dnsNames: ['a.test'] })).toEqual({
      identifiers: [{ type: 'dns', value: 'a.test' }],
    });
    expect(
      newOrderPayload({ dnsNames: ['a.test'], profile: 'shortlived', replaces: 'x.y' }),
    ).toEqual({
      identifiers: [{ type: 'dns', value: 'a.test' }],
      profile: 'shortlived',
      replaces: 'x.y',
    });
  });
});

describe('problemType', () => {
  it('reads the type certroute prefixes to problem details', () => {
    expect(problemType(new Error('[invalidContact] bad email'))).toBe('invalidContact');
    expect(problemType(new Error('plain'))).toBeUndefined();
  });
});
