import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  acmeAction,
  loadAcme,
  newOrderPayload,
  parseRenewalInfo,
  parseRetryAfter,
  problemType,
  retryAfterOf,
  retryInPlace,
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

describe('rate limits (RFC 8555 §6.6)', () => {
  it.each([
    [undefined, true],
    ['', true],
    ['2', true],
    ['5', true],
    ['6', false],
    ['3600', false],
    [new Date(Date.now() + 3_600_000).toUTCString(), false],
  ])('Retry-After %s: retried in place %s', (v, want) => {
    expect(retryInPlace(v)).toBe(want);
  });

  it.each([
    ['[rateLimited] too many new orders (Retry-After: 3600 s)', 3_600_000],
    ['newOrder: [rateLimited] x (Retry-After: 7 s)', 7000],
    ['[rateLimited] no header', undefined],
  ])('retryAfterOf(%s) = %s', (msg, want) => {
    expect(retryAfterOf(new Error(msg))).toBe(want);
  });

  // A real HTTP server, not a fake: acme-client's own retry interceptor and certroute's run
  // against actual 429 answers.
  let server: Server;
  let hits = 0;
  let url = '';
  beforeAll(async () => {
    server = createServer((req, res) => {
      hits++;
      const wait = new URL(req.url ?? '/', 'http://x').searchParams.get('wait') ?? '';
      res.writeHead(429, {
        'content-type': 'application/problem+json',
        ...(wait ? { 'retry-after': wait } : {}),
      });
      res.end(
        JSON.stringify({
          type: 'urn:ietf:params:acme:error:rateLimited',
          detail: 'too many new orders recently',
        }),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/new-order`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('a long Retry-After fails at once, carrying the wait; a short one is retried in place', async () => {
    const { axios } = await loadAcme();
    hits = 0;
    const long = await axios.get(`${url}?wait=3600`).catch((e: unknown) => e);
    expect(hits).toBe(1);
    const data = (long as { response?: { data?: { detail?: string } } }).response?.data;
    expect(data?.detail).toBe('[rateLimited] too many new orders recently (Retry-After: 3600 s)');
    expect(retryAfterOf(data?.detail)).toBe(3_600_000);

    hits = 0;
    await axios.get(`${url}?wait=1`).catch(() => undefined);
    expect(hits).toBe(4); // the first try and acme-client's three retries
  });
});
