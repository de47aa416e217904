/**
 * certroute's own account of a CA's limits, so it stops before the CA says no (issue 22).
 *
 * Two counters, in sliding windows, per ACME account: new orders (3 hours) and failed
 * validations per hostname (1 hour); their ceilings default to Let's Encrypt's published ones.
 * And the CA's own `rateLimited` answers (RFC 8555 §6.6), each remembered with its scope (the
 * account, a registered domain, a hostname, or an exact set of names, as far as the problem's
 * detail says) until its Retry-After: an order in that scope waits, others go ahead.
 *
 * In memory only: a restart, or a new leader, forgets every count and backoff (the CA's next
 * answer teaches them again). Pure: every method takes the time; no I/O.
 */

import { issuerKeyString, type IssuerKey } from './issuer-ref.js';

export interface LimitCeilings {
  /** New orders per account in a sliding 3 hours; 0: not counted. */
  newOrders: number;
  /** Failed validations per account per hostname in a sliding hour; 0: not counted. */
  failedValidations: number;
}

/** Let's Encrypt's published defaults. */
export const letsEncryptCeilings: LimitCeilings = { newOrders: 300, failedValidations: 5 };

export const newOrderWindowMs = 3 * 3_600_000;
export const failedValidationWindowMs = 3_600_000;

/** Which limit held an order back: the metric's `limit` label (bounded). */
export type LimitName = 'new-orders' | 'failed-validations' | `ca-${ScopeKind}`;

export type ScopeKind = 'account' | 'registered-domain' | 'hostname' | 'identifier-set';

export interface RateLimitScope {
  kind: ScopeKind;
  /** The registered domain or hostname; the sorted names for an identifier set. */
  names: string[];
}

export type Verdict =
  { ok: true } | { ok: false; limit: LimitName; untilMs: number; message: string };

/** Who orders: the CA (its directory URL) and the account on it. */
export interface Orderer {
  ca: string;
  account: string;
}

interface Backoff {
  scope: RateLimitScope;
  untilMs: number;
  detail: string;
}

/**
 * The scope of a rateLimited problem, from its detail. Let's Encrypt's details name the limit
 * (and link to its documentation); other CAs' may say nothing, which is read as the account.
 */
export function rateLimitScope(detail: string, dnsNames: readonly string[]): RateLimitScope {
  const d = detail.toLowerCase();
  const quoted = /"([a-z0-9*][a-z0-9.*-]*\.[a-z0-9-]+)"/i.exec(detail)?.[1]?.toLowerCase();
  const names = [...new Set(dnsNames.map((n) => n.toLowerCase()))].sort();
  if (/exact[ -]set|duplicate[ -]certificate|same set of/.test(d))
    return { kind: 'identifier-set', names };
  if (/registered[ -]domain|per[ -]domain|for (the )?domain/.test(d))
    return { kind: 'registered-domain', names: [quoted ?? registeredDomainGuess(names[0] ?? '')] };
  if (
    /hostname|failed[ -]authori[sz]ation|authori[sz]ation[ -]failures|failed[ -]validation/.test(d)
  )
    return quoted ? { kind: 'hostname', names: [quoted] } : { kind: 'identifier-set', names };
  return { kind: 'account', names: [] };
}

/**
 * The last two labels: a guess at the registered domain when the CA names none. Wrong under a
 * multi-label public suffix (co.uk), where it scopes wider than the CA, never narrower.
 */
export function registeredDomainGuess(name: string): string {
  return name.replace(/^\*\./, '').split('.').slice(-2).join('.').toLowerCase();
}

/** Does an order for these names fall in this scope? */
export function inScope(scope: RateLimitScope, dnsNames: readonly string[]): boolean {
  const names = dnsNames.map((n) => n.toLowerCase().replace(/^\*\./, ''));
  switch (scope.kind) {
    case 'account':
      return true;
    case 'registered-domain': {
      const [d = ''] = scope.names;
      return names.some((n) => n === d || n.endsWith(`.${d}`));
    }
    case 'hostname':
      return dnsNames.some((n) => n.toLowerCase() === scope.names[0]);
    case 'identifier-set': {
      const mine = [...new Set(dnsNames.map((n) => n.toLowerCase()))].sort();
      return mine.length === scope.names.length && mine.every((n, i) => n === scope.names[i]);
    }
  }
}

export function describeScope(scope: RateLimitScope): string {
  switch (scope.kind) {
    case 'account':
      return 'this account';
    case 'registered-domain':
      return `registered domain ${scope.names[0]}`;
    case 'hostname':
      return `hostname ${scope.names[0]}`;
    case 'identifier-set':
      return `the names ${scope.names.join(', ')}`;
  }
}

export class CaLimits {
  /** Order times per account key. */
  private readonly orders = new Map<string, number[]>();
  /** Failed validation times per account key and hostname. */
  private readonly failures = new Map<string, number[]>();
  /** The CA's rateLimited answers, by account key (account and hostname scopes) or CA key. */
  private readonly backoffs = new Map<string, Backoff[]>();

  constructor(private readonly ceilings: LimitCeilings) {}

  /**
   * Before newOrder: may `who` order `dnsNames` now? When it may, the order is counted (check
   * and count are one step, so parallel workers cannot both take the last one).
   */
  take(who: Orderer, dnsNames: readonly string[], now: number): Verdict {
    const blocks: Exclude<Verdict, { ok: true }>[] = [];
    for (const key of [accountKey(who), caKey(who)]) {
      const live = (this.backoffs.get(key) ?? []).filter((b) => b.untilMs > now);
      if (live.length > 0) this.backoffs.set(key, live);
      else this.backoffs.delete(key);
      for (const b of live)
        if (inScope(b.scope, dnsNames))
          blocks.push({
            ok: false,
            limit: `ca-${b.scope.kind}`,
            untilMs: b.untilMs,
            message: `local limit: the CA refused orders for ${describeScope(b.scope)} until ${iso(b.untilMs)} (${b.detail})`,
          });
    }
    const fv = this.ceilings.failedValidations;
    if (fv > 0)
      for (const host of new Set(dnsNames.map((n) => n.toLowerCase()))) {
        const times = this.window(
          this.failures,
          failureKey(who, host),
          now,
          failedValidationWindowMs,
        );
        if (times.length >= fv) {
          const untilMs = (times[times.length - fv] ?? now) + failedValidationWindowMs;
          blocks.push({
            ok: false,
            limit: 'failed-validations',
            untilMs,
            message: `local limit: ${times.length} failed validations for ${host} on this account in the last hour (ceiling ${fv}, --acme-limit-failed-validations); the next order is allowed at ${iso(untilMs)}`,
          });
        }
      }
    const no = this.ceilings.newOrders;
    const orders = this.window(this.orders, accountKey(who), now, newOrderWindowMs);
    if (no > 0 && orders.length >= no) {
      const untilMs = (orders[orders.length - no] ?? now) + newOrderWindowMs;
      blocks.push({
        ok: false,
        limit: 'new-orders',
        untilMs,
        message: `local limit: ${orders.length} new orders from this account in the last 3 h (ceiling ${no}, --acme-limit-new-orders); the next is allowed at ${iso(untilMs)}`,
      });
    }
    if (blocks.length > 0) return blocks.reduce((a, b) => (b.untilMs > a.untilMs ? b : a));
    if (no > 0) this.orders.set(accountKey(who), [...orders, now]);
    return { ok: true };
  }

  /** A validation of `hostname` failed (its authorization turned invalid). */
  failedValidation(who: Orderer, hostname: string, now: number): void {
    if (this.ceilings.failedValidations <= 0) return;
    const key = failureKey(who, hostname.toLowerCase());
    this.failures.set(key, [
      ...this.window(this.failures, key, now, failedValidationWindowMs),
      now,
    ]);
  }

  /**
   * The CA answered newOrder with rateLimited: no order in the problem's scope before
   * `now + retryAfterMs`. Returns the scope it was read as.
   */
  rateLimited(
    who: Orderer,
    dnsNames: readonly string[],
    detail: string,
    retryAfterMs: number,
    now: number,
  ): RateLimitScope {
    const scope = rateLimitScope(detail, dnsNames);
    // An account's limits, and a hostname's failed authorizations, are the account's; a
    // registered domain's certificates and an exact set's are counted across accounts.
    const key =
      scope.kind === 'account' || scope.kind === 'hostname' ? accountKey(who) : caKey(who);
    const list = (this.backoffs.get(key) ?? []).filter(
      (b) => b.untilMs > now && !sameScope(b.scope, scope),
    );
    list.push({ scope, untilMs: now + retryAfterMs, detail: detail.slice(0, 300) });
    this.backoffs.set(key, list);
    return scope;
  }

  /** The times in `map[key]` within the window ending now (pruned in place). */
  private window(map: Map<string, number[]>, key: string, now: number, ms: number): number[] {
    const times = (map.get(key) ?? []).filter((t) => t > now - ms);
    if (times.length > 0) map.set(key, times);
    else map.delete(key);
    return times;
  }
}

/** The orderer of an account: its CA, and its account URL once registered (else its issuer). */
export function orderer(account: {
  issuer: IssuerKey;
  directoryUrl: string;
  client: { getAccountUrl(): string };
}): Orderer {
  let id: string;
  try {
    id = account.client.getAccountUrl();
  } catch {
    id = `issuer:${issuerKeyString(account.issuer)}`;
  }
  return { ca: account.directoryUrl, account: id };
}

function accountKey(who: Orderer): string {
  return `${who.ca}\n${who.account}`;
}

function caKey(who: Orderer): string {
  return who.ca;
}

function failureKey(who: Orderer, host: string): string {
  return `${accountKey(who)}\n${host}`;
}

function sameScope(a: RateLimitScope, b: RateLimitScope): boolean {
  return a.kind === b.kind && a.names.join(',') === b.names.join(',');
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
