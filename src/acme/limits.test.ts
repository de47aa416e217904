import { describe, expect, it } from 'vitest';
import {
  CaLimits,
  failedValidationWindowMs,
  inScope,
  letsEncryptCeilings,
  newOrderWindowMs,
  rateLimitScope,
  registeredDomainGuess,
  type RateLimitScope,
} from './limits.js';

const a = { ca: 'https://ca.test/dir', account: 'https://ca.test/acct/1' };
const b = { ca: 'https://ca.test/dir', account: 'https://ca.test/acct/2' };
const t0 = Date.parse('2026-01-01T00:00:00Z');

describe('rateLimitScope', () => {
  it.each<[string, string, string[], RateLimitScope]>([
    [
      'new orders per account',
      'too many new orders (300) from this account in the last 3h0m0s',
      ['a.example.com'],
      { kind: 'account', names: [] },
    ],
    ['no words at all', 'slow down', ['a.example.com'], { kind: 'account', names: [] }],
    [
      'certificates per registered domain, named',
      'too many certificates (50) already issued for "example.com" in the last 168h: see /docs/rate-limits/#new-certificates-per-registered-domain',
      ['a.example.com'],
      { kind: 'registered-domain', names: ['example.com'] },
    ],
    [
      'registered domain, unnamed: guessed from the first name',
      'registered domain limit reached',
      ['x.y.example.org'],
      { kind: 'registered-domain', names: ['example.org'] },
    ],
    [
      'failed authorizations per hostname',
      'too many failed authorizations (5) for "www.example.com" in the last 1h0m0s',
      ['www.example.com', 'example.com'],
      { kind: 'hostname', names: ['www.example.com'] },
    ],
    [
      "failed validations, no name: the order's names",
      'too many failed validations recently',
      ['B.example.com', 'a.example.com'],
      { kind: 'identifier-set', names: ['a.example.com', 'b.example.com'] },
    ],
    [
      'exact set of identifiers',
      'too many certificates (5) already issued for this exact set of identifiers',
      ['b.example.com', 'a.example.com'],
      { kind: 'identifier-set', names: ['a.example.com', 'b.example.com'] },
    ],
  ])('%s', (_, detail, names, want) => {
    expect(rateLimitScope(detail, names)).toEqual(want);
  });
});

describe('inScope', () => {
  it.each<[RateLimitScope, string[], boolean]>([
    [{ kind: 'account', names: [] }, ['anything.org'], true],
    [{ kind: 'registered-domain', names: ['example.com'] }, ['a.example.com'], true],
    [{ kind: 'registered-domain', names: ['example.com'] }, ['*.example.com'], true],
    [{ kind: 'registered-domain', names: ['example.com'] }, ['example.com'], true],
    [{ kind: 'registered-domain', names: ['example.com'] }, ['notexample.com'], false],
    [{ kind: 'registered-domain', names: ['example.com'] }, ['a.other.org'], false],
    [{ kind: 'hostname', names: ['a.example.com'] }, ['A.example.com', 'b.example.com'], true],
    [{ kind: 'hostname', names: ['a.example.com'] }, ['b.example.com'], false],
    [{ kind: 'identifier-set', names: ['a.x.com', 'b.x.com'] }, ['b.x.com', 'a.x.com'], true],
    [{ kind: 'identifier-set', names: ['a.x.com', 'b.x.com'] }, ['a.x.com'], false],
  ])('%j covers %j: %s', (scope, names, want) => {
    expect(inScope(scope, names)).toBe(want);
  });
});

describe('registeredDomainGuess', () => {
  it.each([
    ['a.b.example.com', 'example.com'],
    ['*.example.com', 'example.com'],
    ['example.com', 'example.com'],
  ])('%s -> %s', (name, want) => expect(registeredDomainGuess(name)).toBe(want));
});

describe('CaLimits: new orders per account in 3 hours', () => {
  it('allows the ceiling, refuses the next until the oldest leaves the window', () => {
    const l = new CaLimits({ newOrders: 3, failedValidations: 0 });
    for (const dt of [0, 1000, 2000]) expect(l.take(a, ['x.test'], t0 + dt).ok).toBe(true);
    const v = l.take(a, ['y.test'], t0 + 3000);
    expect(v).toMatchObject({ ok: false, limit: 'new-orders', untilMs: t0 + newOrderWindowMs });
    expect(!v.ok && v.message).toMatch(/^local limit: 3 new orders from this account/);
    // A refused attempt is not counted; another account has its own count.
    expect(l.take(b, ['y.test'], t0 + 3000).ok).toBe(true);
    expect(l.take(a, ['y.test'], t0 + newOrderWindowMs - 1).ok).toBe(false);
    expect(l.take(a, ['y.test'], t0 + newOrderWindowMs).ok).toBe(true);
    // The window now holds 1000, 2000 and the new one.
    expect(l.take(a, ['y.test'], t0 + newOrderWindowMs + 1)).toMatchObject({
      ok: false,
      untilMs: t0 + 1000 + newOrderWindowMs,
    });
  });

  it('a ceiling of 0 counts nothing', () => {
    const l = new CaLimits({ newOrders: 0, failedValidations: 0 });
    for (let i = 0; i < 1000; i++) expect(l.take(a, ['x.test'], t0 + i).ok).toBe(true);
  });

  it("defaults to Let's Encrypt's published ceilings", () => {
    expect(letsEncryptCeilings).toEqual({ newOrders: 300, failedValidations: 5 });
    const l = new CaLimits(letsEncryptCeilings);
    for (let i = 0; i < 300; i++) expect(l.take(a, [`h${i}.test`], t0 + i).ok).toBe(true);
    expect(l.take(a, ['h.test'], t0 + 300).ok).toBe(false);
  });
});

describe('CaLimits: failed validations per account per hostname in an hour', () => {
  it('holds back orders naming the host, not others, until the window frees', () => {
    const l = new CaLimits({ newOrders: 0, failedValidations: 2 });
    l.failedValidation(a, 'Bad.test', t0);
    expect(l.take(a, ['bad.test'], t0 + 1).ok).toBe(true);
    l.failedValidation(a, 'bad.test', t0 + 10);
    const v = l.take(a, ['ok.test', 'bad.test'], t0 + 20);
    expect(v).toMatchObject({
      ok: false,
      limit: 'failed-validations',
      untilMs: t0 + failedValidationWindowMs,
    });
    expect(!v.ok && v.message).toMatch(/2 failed validations for bad\.test/);
    expect(l.take(a, ['ok.test'], t0 + 20).ok).toBe(true);
    expect(l.take(b, ['bad.test'], t0 + 20).ok).toBe(true);
    expect(l.take(a, ['bad.test'], t0 + failedValidationWindowMs - 1).ok).toBe(false);
    expect(l.take(a, ['bad.test'], t0 + failedValidationWindowMs).ok).toBe(true);
  });
});

describe("CaLimits: the CA's rateLimited answers, per scope", () => {
  it('an account-scoped answer holds every order of that account until Retry-After', () => {
    const l = new CaLimits({ newOrders: 0, failedValidations: 0 });
    l.rateLimited(a, ['x.test'], 'too many new orders from this account', 8000, t0);
    const v = l.take(a, ['other.org'], t0 + 1);
    expect(v).toMatchObject({ ok: false, limit: 'ca-account', untilMs: t0 + 8000 });
    expect(!v.ok && v.message).toMatch(/^local limit: the CA refused orders for this account/);
    expect(l.take(b, ['other.org'], t0 + 1).ok).toBe(true);
    expect(l.take(a, ['other.org'], t0 + 8000).ok).toBe(true);
  });

  it('a registered-domain answer holds that domain (for every account), not another', () => {
    const l = new CaLimits({ newOrders: 0, failedValidations: 0 });
    const s = l.rateLimited(
      a,
      ['a.example.com'],
      'too many certificates already issued for "example.com" (registered domain)',
      60_000,
      t0,
    );
    expect(s).toEqual({ kind: 'registered-domain', names: ['example.com'] });
    expect(l.take(a, ['b.example.com'], t0 + 1)).toMatchObject({
      ok: false,
      limit: 'ca-registered-domain',
    });
    expect(l.take(b, ['c.example.com'], t0 + 1).ok).toBe(false);
    expect(l.take(a, ['b.example.org'], t0 + 1).ok).toBe(true);
  });

  it('a hostname answer holds that hostname for that account only', () => {
    const l = new CaLimits({ newOrders: 0, failedValidations: 0 });
    l.rateLimited(a, ['h.test'], 'too many failed authorizations for "h.test"', 5000, t0);
    expect(l.take(a, ['h.test', 'i.test'], t0 + 1).ok).toBe(false);
    expect(l.take(a, ['i.test'], t0 + 1).ok).toBe(true);
    expect(l.take(b, ['h.test'], t0 + 1).ok).toBe(true);
  });

  it('a newer answer for the same scope replaces the older; the longest wait is reported', () => {
    const l = new CaLimits({ newOrders: 1, failedValidations: 0 });
    l.rateLimited(a, ['x.test'], 'account limit', 60_000, t0);
    l.rateLimited(a, ['x.test'], 'account limit', 5000, t0 + 1);
    expect(l.take(a, ['x.test'], t0 + 10)).toMatchObject({ ok: false, untilMs: t0 + 5001 });
    expect(l.take(a, ['x.test'], t0 + 5001).ok).toBe(true);
    // Now the new-orders ceiling (1) and a fresh CA answer both hold: the later one is said.
    l.rateLimited(a, ['x.test'], 'account limit', 10_000, t0 + 5002);
    expect(l.take(a, ['x.test'], t0 + 5003)).toMatchObject({
      ok: false,
      limit: 'new-orders',
      untilMs: t0 + 5001 + newOrderWindowMs,
    });
  });
});
