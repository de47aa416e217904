import { describe, expect, it, vi } from 'vitest';
import {
  AccountBudgets,
  accountKey,
  accountOfArn,
  type CredentialsSource,
} from './account-budget.js';

describe('accountOfArn', () => {
  it.each([
    ['arn:aws:iam::123456789012:role/dns', '123456789012'],
    ['arn:aws:iam::123456789012:role/path/to/dns', '123456789012'],
    ['arn:aws-cn:iam::210987654321:role/dns', '210987654321'],
    ['arn:aws-us-gov:iam::111122223333:role/x', '111122223333'],
    ['arn:aws:sts::123456789012:assumed-role/dns/session', '123456789012'],
    ['arn:aws:iam::12345:role/short', undefined],
    ['arn:aws:iam::role/dns', undefined],
    ['arn:aws:iam::abcdefghijkl:role/x', undefined],
    ['not-an-arn', undefined],
    ['', undefined],
  ])('%s → %s', (arn, want) => {
    expect(accountOfArn(arn)).toBe(want);
  });
});

describe('accountKey', () => {
  const cases: [string, CredentialsSource, string, boolean][] = [
    [
      'role ARN names the account',
      { role: 'arn:aws:iam::123456789012:role/a' },
      'account:123456789012',
      false,
    ],
    [
      'two roles of one account share it',
      { role: 'arn:aws:iam::123456789012:role/b' },
      'account:123456789012',
      false,
    ],
    [
      'default chain with a known account',
      { accountId: '123456789012' },
      'account:123456789012',
      false,
    ],
    ['default chain, account unknown', {}, 'default', true],
    ['default chain, account not 12 digits', { accountId: 'x' }, 'default', true],
    ['a role that is no ARN', { role: 'dns' }, 'role:dns', true],
    [
      "a role's ARN wins over the credentials' account",
      { role: 'arn:aws:iam::111122223333:role/a', accountId: '123456789012' },
      'account:111122223333',
      false,
    ],
  ];
  it.each(cases)('%s', (_name, src, key, fallback) => {
    expect(accountKey(src)).toEqual({ key, fallback });
  });
});

describe('AccountBudgets', () => {
  it('makes one bucket per key, once', () => {
    const budgets = new AccountBudgets(5);
    const a = budgets.budgetFor('account:123456789012');
    expect(budgets.budgetFor('account:123456789012')).toBe(a);
    expect(budgets.budgetFor('default')).not.toBe(a);
  });

  it("a shared key shares the rate: two clients together get one account's grants", async () => {
    vi.useFakeTimers();
    try {
      const budgets = new AccountBudgets(5);
      // The records controller and a DNS-01 solver of one account ask at once; another
      // account asks too, and is not slowed by them.
      const granted: string[] = [];
      const ask = (key: string, who: string) =>
        void budgets
          .budgetFor(key)
          .take()
          .then(() => granted.push(who));
      for (let i = 0; i < 10; i++) {
        ask('account:123456789012', 'dns');
        ask('account:123456789012', 'dns01');
      }
      for (let i = 0; i < 5; i++) ask('account:111122223333', 'other');
      await vi.advanceTimersByTimeAsync(0);
      expect(granted.filter((g) => g !== 'other')).toHaveLength(5); // one burst for both
      expect(granted.filter((g) => g === 'other')).toHaveLength(5);
      expect(budgets.waiting().get('account:123456789012')).toBe(15);
      await vi.advanceTimersByTimeAsync(1000);
      expect(granted.filter((g) => g !== 'other')).toHaveLength(10); // + one second's rate
      await vi.advanceTimersByTimeAsync(2000);
      expect(budgets.waiting().get('account:123456789012')).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('notes each fallback key once', () => {
    const budgets = new AccountBudgets();
    expect(budgets.firstFallback('default')).toBe(true);
    expect(budgets.firstFallback('default')).toBe(false);
    expect(budgets.firstFallback('role:dns')).toBe(true);
  });
});
