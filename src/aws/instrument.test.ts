import { describe, expect, it } from 'vitest';
import { createMetrics } from '../observability/metrics.js';
import { route53Priority } from '../dns/providers/route53.js';
import { instrumentAwsClient } from './instrument.js';

type Middleware = (
  next: (args: unknown) => Promise<unknown>,
  context: { commandName?: string },
) => (args: unknown) => Promise<unknown>;

describe('instrumentAwsClient', () => {
  it('passes each attempt’s operation to `before`, ahead of the call', async () => {
    let mw: Middleware | undefined;
    const client = { middlewareStack: { add: (m: Middleware) => (mw = m) } };
    const seen: string[] = [];
    instrumentAwsClient(client, 'route53', createMetrics(), (op) => {
      seen.push(`before ${op}`);
      return Promise.resolve();
    });
    const next = () => {
      seen.push('call');
      return Promise.resolve({});
    };
    await mw?.(next, { commandName: 'GetChangeCommand' })({});
    await mw?.(next, {})({});
    expect(seen).toEqual(['before GetChangeCommand', 'call', 'before unknown', 'call']);
  });
});

describe('route53Priority', () => {
  it('puts changes first, then listings, then GetChange polls', () => {
    const change = route53Priority('ChangeResourceRecordSetsCommand');
    const list = route53Priority('ListResourceRecordSetsCommand');
    const zones = route53Priority('ListHostedZonesCommand');
    const poll = route53Priority('GetChangeCommand');
    expect(change).toBeLessThan(list);
    expect(zones).toBe(list);
    expect(list).toBeLessThan(poll);
    expect(route53Priority('SomethingElseCommand')).toBe(list);
  });

  it('puts a background listing behind every other call, GetChange polls included', () => {
    const background = route53Priority('ListResourceRecordSetsCommand', true);
    for (const op of [
      'ChangeResourceRecordSetsCommand',
      'ListResourceRecordSetsCommand',
      'GetChangeCommand',
    ])
      expect(route53Priority(op)).toBeLessThan(background);
  });
});
