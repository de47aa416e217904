import { TokenBucket, type TokenBucketOptions } from './token-bucket.js';

/** Route53 allows 5 requests per second per AWS account, whoever makes them. */
export const route53AccountRate = 5;

/**
 * One request budget (a token bucket) per AWS account key, made on first use and shared by
 * every client that names the same key: the DNS records controller and every DNS-01 solver,
 * whatever their region or role, when they land in one account.
 */
export class AccountBudgets {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly fallbacks = new Set<string>();

  constructor(
    readonly rate: number = route53AccountRate,
    private readonly opts: TokenBucketOptions = {},
  ) {}

  /** The account's bucket, created once per key. */
  budgetFor(accountKey: string): TokenBucket {
    let b = this.buckets.get(accountKey);
    if (!b) this.buckets.set(accountKey, (b = new TokenBucket(this.rate, this.opts)));
    return b;
  }

  /** True the first time a fallback key is noted (so it is logged once per key). */
  firstFallback(accountKey: string): boolean {
    if (this.fallbacks.has(accountKey)) return false;
    this.fallbacks.add(accountKey);
    return true;
  }

  /** Calls waiting for a token, by account key (the metrics gauge, diagnostics). */
  waiting(): Map<string, number> {
    return new Map([...this.buckets].map(([k, b]) => [k, b.waiting]));
  }
}

/**
 * The account id in an ARN: `arn:<partition>:<service>:<region>:<account>:<resource>`,
 * e.g. `arn:aws:iam::123456789012:role/dns` or an STS assumed-role ARN. Undefined if the
 * text is not an ARN with a 12-digit account.
 */
export function accountOfArn(arn: string): string | undefined {
  const parts = arn.split(':');
  if (parts.length < 6 || parts[0] !== 'arn' || !parts[1] || !parts[2]) return undefined;
  const account = parts[4] ?? '';
  return /^\d{12}$/.test(account) ? account : undefined;
}

/** What is known about the credentials a client uses. */
export interface CredentialsSource {
  /** The IAM role assumed for this client (a DNS-01 solver's `role`), if any. */
  role?: string;
  /** The account id the resolved credentials carry, if the SDK knows it. */
  accountId?: string;
}

/**
 * The budget key of a client: `account:<id>` when the account is known (from the role's ARN,
 * else from the resolved credentials); otherwise a key by credentials source, `role:<arn>` or
 * `default` (the default credentials chain). `fallback` says the account was not found.
 */
export function accountKey(src: CredentialsSource): { key: string; fallback: boolean } {
  const fromRole = src.role ? accountOfArn(src.role) : undefined;
  const account = fromRole ?? (src.role ? undefined : validAccount(src.accountId));
  if (account) return { key: `account:${account}`, fallback: false };
  return { key: src.role ? `role:${src.role}` : 'default', fallback: true };
}

function validAccount(id: string | undefined): string | undefined {
  return id && /^\d{12}$/.test(id) ? id : undefined;
}
