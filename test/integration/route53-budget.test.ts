// Route53 calls under faults and under load, counted by the lab AWS proxy (every call the
// operator makes goes through it; this file's own reads go to moto directly, uncounted):
// (a) throttled and failed changes are sent again without relisting the zone;
// (b) the records controller and a DNS-01 solver share one request budget per AWS account.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Operator } from '../../src/operator.js';
import { route53AccountRate } from '../../src/aws/account-budget.js';
import { callsSeen, injectFaults, maxInWindow, type SeenCall } from '../lab/aws-proxy.js';
import { createClusterIssuer, deleteClusterIssuer, labIssuer } from '../lab/acme-helpers.js';
import {
  adminConfig,
  createNamespace,
  deleteNamespace,
  eventually,
  labEnv,
} from '../lab/context.js';
import { conditionOf, createDnsEndpoint, getCertificate } from '../lab/k8s-helpers.js';
import { route53For } from '../lab/lab.js';
import { ensureNamespace, startOperator } from '../lab/operator.js';
import { createZone, records } from '../lab/route53-helpers.js';

const env = labEnv();
const kc = adminConfig(env);
const custom = kc.makeApiClient(k8s.CustomObjectsApi);
/** Straight to moto: the test's own reads are not the operator's calls. */
const moto = route53For(env.motoEndpoint);
const issuer = `budget-${Date.now().toString(36)}`;

let ns: string;
let faulty: { id: string; name: string };
let busy: { id: string; name: string }[];
let op: Operator;
let startedAt: number;

beforeAll(async () => {
  ns = await createNamespace(kc, 'r53budget');
  await ensureNamespace(kc, 'certroute');
  faulty = await createZone(moto, 'faults');
  busy = [];
  for (let i = 0; i < 10; i++) busy.push(await createZone(moto, `busy${i}`));
  await createClusterIssuer(
    kc,
    labIssuer(env, issuer, { solvers: [{ dns01: { route53: { region: env.awsRegion } } }] }),
  );
  startedAt = Date.now();
  op = await startOperator(env, [
    `--watch-namespaces=${ns}`,
    '--leader-election=false',
    '--namespace=certroute',
    '--owner-id=lab-budget',
    `--domain-filter=${[faulty, ...busy].map((z) => z.name).join(',')}`,
  ]);
});
afterAll(async () => {
  await op?.stop();
  await deleteClusterIssuer(kc, issuer);
  await deleteNamespace(kc, ns);
});

async function createCertificate(name: string, dnsNames: string[]): Promise<void> {
  await custom.createNamespacedCustomObject({
    group: 'certroute.io',
    version: 'v1alpha1',
    plural: 'certificates',
    namespace: ns,
    body: {
      apiVersion: 'certroute.io/v1alpha1',
      kind: 'Certificate',
      metadata: { name, namespace: ns },
      spec: { dnsNames, issuerRef: { name: issuer }, secretName: `${name}-tls` },
    },
  });
}

/** A DNSEndpoint with one A record. */
function aRecord(name: string, host: string, ip: string): Promise<void> {
  return createDnsEndpoint(kc, ns, name, [{ dnsName: host, recordType: 'A', targets: [ip] }]);
}

/** Polls moto until every host has its A record (in whichever zone it belongs to). */
async function landed(hosts: { zoneId: string; host: string }[], timeoutMs = 60_000) {
  await eventually(
    async () => {
      const byZone = new Map<string, Set<string>>();
      for (const zoneId of new Set(hosts.map((h) => h.zoneId)))
        byZone.set(
          zoneId,
          new Set(
            (await records(moto, zoneId))
              .filter((r) => r.Type === 'A')
              .map((r) => (r.Name ?? '').replace(/\.$/, '')),
          ),
        );
      return hosts.every((h) => byZone.get(h.zoneId)?.has(h.host));
    },
    { timeoutMs, intervalMs: 250 },
  );
}

const count = (calls: SeenCall[], operation: string, zone?: string, refused?: string) =>
  calls.filter(
    (c) =>
      c.operation === operation &&
      (zone === undefined || c.zone === zone) &&
      (refused === undefined ? true : c.refused === refused),
  ).length;

describe('Route53 errors per call', () => {
  it('throttled and refused changes land later, with no relist of the zone', async () => {
    // The next two changes to the zone fail as the SDK does not retry (an access error), then
    // one in every two is throttled (the SDK retries those), three times.
    const rrset = `/hostedzone/${faulty.id}/rrset`;
    await injectFaults(env.awsEndpoint, {
      count: 2,
      match: rrset,
      method: 'POST',
      code: 'AccessDenied',
      status: 403,
    });
    await injectFaults(env.awsEndpoint, { count: 3, match: rrset, method: 'POST', every: 2 });
    const hosts: { zoneId: string; host: string }[] = [];
    for (let wave = 0; wave < 3; wave++) {
      const batch = [0, 1, 2].map((i) => ({
        zoneId: faulty.id,
        host: `w${wave}-${i}.${faulty.name}`,
      }));
      for (const [i, h] of batch.entries())
        await aRecord(`w${wave}-${i}`, h.host, `192.0.2.${wave * 10 + i + 1}`);
      await landed(batch);
      hosts.push(...batch);
    }
    await landed(hosts);
    const calls = (await callsSeen(env.awsEndpoint, startedAt)).filter((c) => c.zone === faulty.id);
    // Every fault was met...
    expect(count(calls, 'ChangeResourceRecordSets', faulty.id, 'AccessDenied')).toBe(2);
    expect(count(calls, 'ChangeResourceRecordSets', faulty.id, 'Throttling')).toBe(3);
    // ...and the zone was listed once: its first sync. Faults never dropped the cache.
    expect(count(calls, 'ListResourceRecordSets', faulty.id)).toBe(1);
  });
});

describe('one request budget per AWS account', () => {
  it('DNS records and DNS-01 certificates together stay within the account rate', async () => {
    const since = Date.now();
    // Two rounds, each: a Certificate validated over DNS-01 (two names, in two zones) and 20
    // records in 10 zones, all at once; the second round starts when the first has landed.
    for (const round of [0, 1]) {
      const cert = `both-${round}`;
      await createCertificate(cert, [
        `cert${round}.${busy[round]?.name}`,
        `cert${round}.${busy[round + 2]?.name}`,
      ]);
      const hosts = busy.flatMap((z, zi) =>
        [0, 1].map((i) => ({
          zoneId: z.id,
          host: `r${round}-${i}.${z.name}`,
          ip: `198.51.${100 + round}.${zi * 10 + i + 1}`,
        })),
      );
      await Promise.all(hosts.map((h, i) => aRecord(`busy-${round}-${i}`, h.host, h.ip)));
      await landed(hosts, 90_000);
      await eventually(
        async () => conditionOf(await getCertificate(kc, ns, cert), 'Ready')?.status === 'True',
        { timeoutMs: 90_000, intervalMs: 250 },
      );
    }
    const calls = await callsSeen(env.awsEndpoint, since);
    const burst = route53AccountRate; // the bucket holds up to one second's tokens
    const most = maxInWindow(calls, 1000);
    console.log(
      `[route53-budget] ${calls.length} Route53 calls, at most ${most} in one second; by operation: ${JSON.stringify(
        Object.fromEntries(
          [...new Set(calls.map((c) => c.operation))].map((o) => [o, count(calls, o)]),
        ),
      )}`,
    );
    // Both kinds of work were there, and several seconds' worth of calls...
    expect(count(calls, 'ChangeResourceRecordSets')).toBeGreaterThan(2 * busy.length);
    expect(count(calls, 'GetChange')).toBeGreaterThan(0);
    expect(calls.length).toBeGreaterThan(4 * (route53AccountRate + burst));
    // ...yet no one-second window holds more than the rate plus the burst: one budget.
    expect(most).toBeLessThanOrEqual(route53AccountRate + burst);
    // One budget key for both: the lab's credentials carry no account id (the fallback key).
    const keys = (await op.metrics.awsBudgetWaiting.get()).values.map((v) => v.labels.account);
    expect([...new Set(keys)]).toEqual(['default']);
  });
});
