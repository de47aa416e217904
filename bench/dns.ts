// DNS at scale: 2,000 Ingress hosts across 2 zones, against the lab (real kube-apiserver,
// moto behind the lab AWS proxy). The operator runs as its own process from dist/.
// Three phases:
// 1. burst: every Ingress gets its address at once; change/list calls, time until every
//    record is created, and latency from "address seen" to "change sent" (operator histogram);
// 2. idle: a full resync interval with nothing changing: change and list calls;
// 3. cold start: records absent, every DNSEndpoint already has its address (first install
//    into a busy cluster): change calls against the target.
// Run: npm run bench -- dns
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import {
  CreateHostedZoneCommand,
  ListResourceRecordSetsCommand,
  type RRType,
  type ResourceRecordSet,
} from '@aws-sdk/client-route-53';
import { route53For, startLab } from '../test/lab/lab.js';
import { resetMoto } from '../test/lab/moto.js';
import { ensureNamespace, operatorEnv, operatorIdentity } from '../test/lab/operator.js';
import { freePort, spawnManaged, type ManagedProcess } from '../test/lab/process.js';
import { createZone } from '../test/lab/route53-helpers.js';
import type { LabEnv } from '../test/lab/types.js';
import {
  histogramDelta,
  histogramQuantile,
  operatorArgv,
  operatorRuntimeEnv,
  pool,
  scrape,
  sum,
  waitUntil,
  type Sample,
} from './lib.js';

const HOSTS = Number(process.env.BENCH_HOSTS ?? 2000);
const ZONES = 2;
const RESYNC_S = 20;
const TRICKLE = Number(process.env.BENCH_SINGLE ?? 30);
const TRICKLE_GAP_MS = Number(process.env.BENCH_SINGLE_GAP_MS ?? 1000);
type R53 = ReturnType<typeof route53For>;

async function listAll(r53: R53, zoneId: string): Promise<ResourceRecordSet[]> {
  const all: ResourceRecordSet[] = [];
  let start: { StartRecordName?: string; StartRecordType?: RRType } = {};
  for (;;) {
    const res = await r53.send(
      new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, ...start }),
    );
    all.push(...(res.ResourceRecordSets ?? []));
    if (!res.IsTruncated) return all;
    start = { StartRecordName: res.NextRecordName, StartRecordType: res.NextRecordType };
  }
}

function startOperator(
  env: LabEnv,
  metricsPort: number,
  probePort: number,
  zoneNames: string[],
  log: string,
): ManagedProcess {
  return spawnManaged('certroute', process.execPath, {
    args: operatorArgv([
      ...operatorIdentity(env).flags,
      `--metrics-address=127.0.0.1:${metricsPort}`,
      `--probe-address=127.0.0.1:${probePort}`,
      '--leader-election=false',
      '--owner-id=bench',
      `--resync-interval=${RESYNC_S}s`,
      `--domain-filter=${zoneNames.join(',')}`,
    ]),
    logFile: join(env.dir, log),
    env: {
      ...operatorEnv(env),
      CERTROUTE_LOG_LEVEL: process.env.BENCH_LOG ?? 'warn',
      ...operatorRuntimeEnv(),
    },
  });
}

const calls = (s: Sample[], op: string) =>
  sum(s, 'certroute_aws_api_calls_total', { operation: op });
const creates = (s: Sample[]) => sum(s, 'certroute_dns_changes_total', { action: 'CREATE' });

async function main(): Promise<void> {
  const lab = await startLab();
  try {
    const env = lab.env;
    console.log(`operator identity: ${operatorIdentity(env).describe}`);
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(env.kubeconfig);
    const net = kc.makeApiClient(k8s.NetworkingV1Api);
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    const r53 = route53For(env.motoEndpoint);
    await ensureNamespace(kc, 'certroute');
    await ensureNamespace(kc, 'bench-dns');
    const zones = [await createZone(r53, 'bench'), await createZone(r53, 'bench')];
    const zoneNames = zones.map((z) => z.name);
    const t0 = performance.now();
    await pool([...Array(HOSTS).keys()], 32, (i) =>
      net.createNamespacedIngress({
        namespace: 'bench-dns',
        body: {
          metadata: { name: `h${i}`, annotations: { 'certroute.io/dns': 'true' } },
          spec: { rules: [{ host: `h${i}.${zones[i % ZONES]?.name}` }] },
        },
      }),
    );
    console.log(`seeded ${HOSTS} Ingresses in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const metricsPort = await freePort();
    const metrics = `http://127.0.0.1:${metricsPort}/metrics`;
    const op = startOperator(env, metricsPort, await freePort(), zoneNames, 'operator.log');
    await waitUntil('all DNSEndpoints waiting for an address', async () => {
      const list = (await custom.listNamespacedCustomObject({
        group: 'certroute.io',
        version: 'v1alpha1',
        plural: 'dnsendpoints',
        namespace: 'bench-dns',
      })) as { items: { status?: { endpoints?: { state: string }[] } }[] };
      return (
        list.items.length === HOSTS &&
        list.items.every((d) => d.status?.endpoints?.[0]?.state === 'WaitingForAddress')
      );
    });
    const before = await scrape(metrics);

    // Phase 1: burst.
    const tStatus = performance.now();
    const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
    await pool([...Array(HOSTS).keys()], 32, (i) =>
      net.patchNamespacedIngressStatus(
        {
          namespace: 'bench-dns',
          name: `h${i}`,
          body: { status: { loadBalancer: { ingress: [{ ip: '192.0.2.100' }] } } },
        },
        mergePatch,
      ),
    );
    const writeS = (performance.now() - tStatus) / 1000;
    // Completion from the operator's own counter: polling moto's listings would slow moto itself.
    await waitUntil(
      'every record created',
      async () => creates(await scrape(metrics)) - creates(before) >= HOSTS * 2,
      600_000,
      100,
    );
    const burstS = (performance.now() - tStatus) / 1000;
    const after = await scrape(metrics);
    const inMoto = (
      await Promise.all(
        zones.map(async (z) => (await listAll(r53, z.id)).filter((r) => r.Type === 'A').length),
      )
    ).reduce((a, b) => a + b, 0);
    if (inMoto !== HOSTS) throw new Error(`expected ${HOSTS} A records in moto, found ${inMoto}`);

    // Let the operator drain (status writes of the burst) so phase 2 measures single changes.
    let quiet = 0;
    await waitUntil(
      'operator idle',
      async () => {
        quiet = sum(await scrape(metrics), 'certroute_workqueue_depth') === 0 ? quiet + 1 : 0;
        return quiet >= 5;
      },
      300_000,
      200,
    );

    // Phase 2: single address changes, one a second: the latency an app team sees.
    const trickle0 = await scrape(metrics);
    for (let i = 0; i < TRICKLE; i++) {
      await net.patchNamespacedIngressStatus(
        {
          namespace: 'bench-dns',
          name: `h${i}`,
          body: { status: { loadBalancer: { ingress: [{ ip: '192.0.2.101' }] } } },
        },
        mergePatch,
      );
      await new Promise((r) => setTimeout(r, TRICKLE_GAP_MS));
    }
    await waitUntil(
      'trickle upserts sent',
      async () =>
        sum(await scrape(metrics), 'certroute_dns_changes_total', { action: 'UPSERT' }) -
          sum(trickle0, 'certroute_dns_changes_total', { action: 'UPSERT' }) >=
        TRICKLE,
      120_000,
      100,
    );
    const trickle = histogramDelta(
      await scrape(metrics),
      trickle0,
      'certroute_dns_address_to_change_seconds',
    );

    // Phase 3: idle through a full resync interval.
    const rest0 = await scrape(metrics);
    await new Promise((r) => setTimeout(r, (RESYNC_S + 5) * 1000));
    const rest1 = await scrape(metrics);
    await op.stop();

    // Phase 4: cold start.
    // A fresh moto with zones of the same names: deleting and re-creating records in one moto
    // trips its CREATE duplicate check (a journal of past changes, not the current records).
    await resetMoto(env.motoEndpoint);
    for (const z of zones) {
      await r53.send(
        new CreateHostedZoneCommand({ Name: z.name, CallerReference: `${z.name}-cold` }),
      );
    }
    const op2 = startOperator(env, metricsPort, await freePort(), zoneNames, 'operator-cold.log');
    const tCold = performance.now();
    await waitUntil(
      'operator metrics',
      async () => (await fetch(metrics).catch(() => undefined))?.ok === true,
      60_000,
      50,
    );
    await waitUntil(
      'every record created again',
      async () => creates(await scrape(metrics)) >= HOSTS * 2,
      600_000,
      100,
    );
    const coldS = (performance.now() - tCold) / 1000;
    const cold = await scrape(metrics);
    await op2.stop();

    const target = Math.ceil((HOSTS * 2) / 1000) + ZONES; // each host: its A record and its ownership TXT
    console.log(
      JSON.stringify(
        {
          bench: 'dns',
          hosts: HOSTS,
          zones: ZONES,
          changeCallTarget: target,
          burst: {
            statusWritesSeconds: +writeS.toFixed(2),
            allRecordsCreatedSeconds: +burstS.toFixed(2),
            changeCalls:
              calls(after, 'ChangeResourceRecordSetsCommand') -
              calls(before, 'ChangeResourceRecordSetsCommand'),
            listPageCalls:
              calls(after, 'ListResourceRecordSetsCommand') -
              calls(before, 'ListResourceRecordSetsCommand'),
            latencyP50ms: Math.round(
              histogramQuantile(after, 'certroute_dns_address_to_change_seconds', 0.5) * 1000,
            ),
            latencyP95ms: Math.round(
              histogramQuantile(after, 'certroute_dns_address_to_change_seconds', 0.95) * 1000,
            ),
          },
          singleChanges: {
            count: TRICKLE,
            gapMs: TRICKLE_GAP_MS,
            latencyP50ms: Math.round(
              histogramQuantile(trickle, 'certroute_dns_address_to_change_seconds', 0.5) * 1000,
            ),
            latencyP95ms: Math.round(
              histogramQuantile(trickle, 'certroute_dns_address_to_change_seconds', 0.95) * 1000,
            ),
          },
          idleResync: {
            seconds: RESYNC_S + 5,
            changeCalls:
              calls(rest1, 'ChangeResourceRecordSetsCommand') -
              calls(rest0, 'ChangeResourceRecordSetsCommand'),
            listPageCalls:
              calls(rest1, 'ListResourceRecordSetsCommand') -
              calls(rest0, 'ListResourceRecordSetsCommand'),
            listHostedZonesCalls:
              calls(rest1, 'ListHostedZonesCommand') - calls(rest0, 'ListHostedZonesCommand'),
          },
          coldStart: {
            allRecordsCreatedSeconds: +coldS.toFixed(2),
            changeCalls: calls(cold, 'ChangeResourceRecordSetsCommand'),
            listPageCalls: calls(cold, 'ListResourceRecordSetsCommand'),
          },
        },
        null,
        2,
      ),
    );
  } finally {
    await lab.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
