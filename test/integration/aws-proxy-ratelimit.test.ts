// The lab AWS proxy's account-wide Route53 rate limit (POST /__lab/ratelimit): with 5 requests
// a second, a 6th call in the same second is refused as Route53 refuses it (HTTP 400,
// Throttling, "Rate exceeded"), the refusal is in the call log, and a call a second later passes.
import { ListHostedZonesCommand } from '@aws-sdk/client-route-53';
import { afterAll, describe, expect, it } from 'vitest';
import { callsSeen, setRateLimit } from '../lab/aws-proxy.js';
import { labEnv } from '../lab/context.js';

const env = labEnv();
const url = `${env.awsEndpoint}/2013-04-01/hostedzone`;

afterAll(async () => {
  await setRateLimit(env.awsEndpoint, 0);
});

describe('the proxy rate limit', () => {
  it('refuses the 6th call within a second with Throttling, and lets one through a second later', async () => {
    const since = Date.now();
    await setRateLimit(env.awsEndpoint, 5);
    // Sent together, so all six arrive long before the bucket earns another token (200 ms).
    const answers = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const res = await fetch(url);
        return { status: res.status, body: await res.text() };
      }),
    );
    const refused = answers.filter((a) => a.status !== 200);
    expect(answers.filter((a) => a.status === 200)).toHaveLength(5);
    expect(refused).toHaveLength(1);
    expect(refused[0]?.status).toBe(400);
    expect(refused[0]?.body).toMatch(/<ErrorResponse[\s\S]*<Code>Throttling<\/Code>/);
    expect(refused[0]?.body).toContain('<Message>Rate exceeded</Message>');
    const seen = (await callsSeen(env.awsEndpoint, since)).filter(
      (c) => c.operation === 'ListHostedZones',
    );
    expect(seen.filter((c) => c.refused === 'Throttling')).toHaveLength(1);

    await new Promise((r) => setTimeout(r, 1000));
    expect((await fetch(url)).status).toBe(200);
  });

  it('passes every call again once turned off', async () => {
    await setRateLimit(env.awsEndpoint, 1);
    await setRateLimit(env.awsEndpoint, 0);
    const statuses = await Promise.all(
      Array.from({ length: 8 }, async () => (await fetch(url)).status),
    );
    expect(statuses.every((s) => s === 200)).toBe(true);
  });

  it('is what the AWS SDK sees as a throttling error', async () => {
    // The SDK retries Throttling itself; with a burst of 1 and no retries it surfaces.
    const { Route53Client } = await import('@aws-sdk/client-route-53');
    const r53 = new Route53Client({
      endpoint: env.awsEndpoint,
      region: env.awsRegion,
      maxAttempts: 1,
      credentials: { accessKeyId: env.awsAccessKeyId, secretAccessKey: env.awsSecretAccessKey },
    });
    await setRateLimit(env.awsEndpoint, 1);
    try {
      await r53.send(new ListHostedZonesCommand({}));
      await expect(r53.send(new ListHostedZonesCommand({}))).rejects.toMatchObject({
        name: 'Throttling',
        $metadata: { httpStatusCode: 400 },
      });
    } finally {
      await setRateLimit(env.awsEndpoint, 0);
    }
  });
});
