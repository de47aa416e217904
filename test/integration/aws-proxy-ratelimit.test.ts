// The lab AWS proxy's account-wide Route53 rate limit (POST /__lab/ratelimit): with 5 requests
// a second, a 6th call in the same second is refused as Route53 refuses it (HTTP 400,
// Throttling, "Rate exceeded"), the refusal is in the call log, and a call a second later passes.
import { ListHostedZonesCommand, Route53Client } from '@aws-sdk/client-route-53';
import { afterAll, describe, expect, it } from 'vitest';
import { callsSeen, setRateLimit } from '../lab/aws-proxy.js';
import { labEnv } from '../lab/context.js';

const env = labEnv();
// No retries: the SDK retries Throttling by itself, which would hide the refusal.
const r53 = new Route53Client({
  endpoint: env.awsEndpoint,
  region: env.awsRegion,
  maxAttempts: 1,
  credentials: { accessKeyId: env.awsAccessKeyId, secretAccessKey: env.awsSecretAccessKey },
});
const list = () => r53.send(new ListHostedZonesCommand({}));

afterAll(async () => {
  await setRateLimit(env.awsEndpoint, 0);
});

describe('the proxy rate limit', () => {
  it('refuses the 6th call within a second with Throttling, and lets one through a second later', async () => {
    await list(); // the client's first call loads what it needs, outside the measured second
    const since = Date.now();
    await setRateLimit(env.awsEndpoint, 5);
    // Sent together, so all six arrive long before the bucket earns another token (200 ms).
    const answers = await Promise.allSettled(Array.from({ length: 6 }, list));
    expect(answers.filter((a) => a.status === 'fulfilled')).toHaveLength(5);
    const refused = answers.flatMap((a) => (a.status === 'rejected' ? [a.reason as unknown] : []));
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({
      name: 'Throttling',
      message: 'Rate exceeded',
      $metadata: { httpStatusCode: 400 },
    });
    // The SDK read name and message from the answer's <ErrorResponse> document, as from Route53.
    const seen = (await callsSeen(env.awsEndpoint, since)).filter(
      (c) => c.operation === 'ListHostedZones',
    );
    expect(seen).toHaveLength(6);
    expect(seen.filter((c) => c.refused === 'Throttling')).toHaveLength(1);

    await new Promise((r) => setTimeout(r, 1000));
    await expect(list()).resolves.toBeDefined();
  });

  it('passes every call again once turned off', async () => {
    await setRateLimit(env.awsEndpoint, 1);
    await setRateLimit(env.awsEndpoint, 0);
    const answers = await Promise.allSettled(Array.from({ length: 8 }, list));
    expect(answers.every((a) => a.status === 'fulfilled')).toBe(true);
  });

  it('refuses a rate it cannot enforce', async () => {
    const res = await fetch(`${env.awsEndpoint}/__lab/ratelimit?rps=-1`, { method: 'POST' });
    expect(res.status).toBe(400);
  });
});
