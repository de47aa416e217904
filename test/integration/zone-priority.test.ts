// No head-of-line blocking (issue 23): with no domain filter, the operator starts in an account
// holding many zones it has nothing to write in. Those are listed in the background, one at a
// time and behind every other call, so a record asked for in another zone goes out without
// waiting for their listings. Calls are counted by the lab AWS proxy; this file writes to moto
// directly (uncounted).
import { ChangeResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Operator } from '../../src/operator.js';
import { callsSeen } from '../lab/aws-proxy.js';
import {
  adminConfig,
  createNamespace,
  deleteNamespace,
  eventually,
  labEnv,
} from '../lab/context.js';
import { createDnsEndpoint } from '../lab/k8s-helpers.js';
import { route53For } from '../lab/lab.js';
import { ensureNamespace, startOperator } from '../lab/operator.js';
import { createZone, record } from '../lab/route53-helpers.js';

const env = labEnv();
const kc = adminConfig(env);
const moto = route53For(env.motoEndpoint);
/** 12 zones of 900 records: 3 listing pages each, 36 calls, 7 s or more at 5 per second. */
const unrelatedZones = 12;
const recordsEach = 900;

let ns: string;
let unrelated: { id: string; name: string }[];
let target: { id: string; name: string };
let op: Operator;
let startedAt: number;

beforeAll(async () => {
  ns = await createNamespace(kc, 'zoneprio');
  await ensureNamespace(kc, 'certroute');
  unrelated = [];
  for (let i = 0; i < unrelatedZones; i++) {
    const z = await createZone(moto, `unrelated${i}`);
    await moto.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: z.id,
        ChangeBatch: {
          Changes: Array.from({ length: recordsEach }, (_, j) => ({
            Action: 'CREATE' as const,
            ResourceRecordSet: {
              Name: `r${j}.${z.name}`,
              Type: 'A' as const,
              TTL: 300,
              ResourceRecords: [{ Value: '192.0.2.9' }],
            },
          })),
        },
      }),
    );
    unrelated.push(z);
  }
  target = await createZone(moto, 'target');
  startedAt = Date.now();
  // No --domain-filter: every zone of the account is the operator's to look at.
  op = await startOperator(env, [
    `--watch-namespaces=${ns}`,
    '--leader-election=false',
    '--namespace=certroute',
    '--owner-id=lab-zoneprio',
  ]);
}, 180_000);
afterAll(async () => {
  await op?.stop();
  await deleteNamespace(kc, ns);
});

describe('zones listed by priority', () => {
  it('sends a change to one zone before the listings of unrelated zones are done', async () => {
    const host = `app.${target.name}`;
    await createDnsEndpoint(kc, ns, 'app', [
      { dnsName: host, recordType: 'A', targets: ['192.0.2.50'] },
    ]);
    await eventually(() => record(moto, target.id, host, 'A'), { timeoutMs: 60_000 });
    const unrelatedIds = new Set(unrelated.map((z) => z.id));
    // Every unrelated zone is still listed (for the cleanup of orphans), in the background.
    await eventually(
      async () => {
        const listed = new Set(
          (await callsSeen(env.awsEndpoint, startedAt))
            .filter((c) => c.operation === 'ListResourceRecordSets' && c.zone)
            .map((c) => c.zone),
        );
        return [...unrelatedIds].every((id) => listed.has(id));
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    const calls = await callsSeen(env.awsEndpoint, startedAt);
    const change = calls.findIndex(
      (c) => c.operation === 'ChangeResourceRecordSets' && c.zone === target.id,
    );
    const lastUnrelatedListing = calls.findLastIndex(
      (c) => c.operation === 'ListResourceRecordSets' && unrelatedIds.has(c.zone ?? ''),
    );
    expect(change).toBeGreaterThanOrEqual(0);
    expect(change).toBeLessThan(lastUnrelatedListing);
    // The change waited for no more than a few of those listings: each was put behind it.
    const listingsBefore = calls
      .slice(0, change)
      .filter((c) => c.operation === 'ListResourceRecordSets' && unrelatedIds.has(c.zone ?? ''));
    expect(listingsBefore.length).toBeLessThan((unrelatedZones * recordsEach) / 300 / 2);
  });
});
