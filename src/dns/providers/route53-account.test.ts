// Which account budget a Route53Provider takes from: resolved from its role or credentials,
// with no AWS call (the SDK's credential providers put the account id on the credentials).
import { Route53Client, type Route53ClientConfig } from '@aws-sdk/client-route-53';
import { describe, expect, it } from 'vitest';
import { AccountBudgets } from '../../aws/account-budget.js';
import type { Logger } from '../../observability/logger.js';
import { createMetrics } from '../../observability/metrics.js';
import { Route53Provider } from './route53.js';

function logger() {
  const lines: { obj: Record<string, unknown>; msg: string }[] = [];
  const log = {
    info: (obj: Record<string, unknown>, msg: string) => lines.push({ obj, msg }),
  } as unknown as Logger;
  return { log, lines };
}

const keys = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };

function provider(opts: {
  credentials?: Route53ClientConfig['credentials'];
  role?: string;
  budgets: AccountBudgets;
  log: Logger;
}) {
  const client = new Route53Client({
    region: 'us-east-1',
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
  });
  return new Route53Provider({
    metrics: createMetrics(),
    client,
    budgets: opts.budgets,
    log: opts.log,
    ...(opts.role ? { role: opts.role } : {}),
  });
}

describe('Route53Provider account budget', () => {
  it('keys by the account the credentials carry', async () => {
    const { log, lines } = logger();
    const budgets = new AccountBudgets();
    const p = provider({ credentials: { ...keys, accountId: '123456789012' }, budgets, log });
    expect(await p.account()).toBe('account:123456789012');
    expect(lines).toEqual([]);
  });

  it("keys a role by its ARN's account, the same budget as the default chain's account", async () => {
    const { log } = logger();
    const budgets = new AccountBudgets();
    const dns = provider({ credentials: { ...keys, accountId: '123456789012' }, budgets, log });
    const solver = provider({
      credentials: keys,
      role: 'arn:aws:iam::123456789012:role/dns01',
      budgets,
      log,
    });
    expect(await solver.account()).toBe(await dns.account());
  });

  it('falls back to the credentials source, logged once per key', async () => {
    const { log, lines } = logger();
    const budgets = new AccountBudgets();
    const a = provider({ credentials: keys, budgets, log });
    const b = provider({
      credentials: () => Promise.reject(new Error('no credentials')),
      budgets,
      log,
    });
    expect(await a.account()).toBe('default');
    expect(await b.account()).toBe('default');
    expect(await a.account()).toBe('default');
    expect(lines).toHaveLength(1);
    expect(lines[0]?.obj).toMatchObject({ budget: 'default' });
    const r = provider({ credentials: keys, role: 'dns01', budgets, log });
    expect(await r.account()).toBe('role:dns01');
    expect(lines).toHaveLength(2);
  });
});
