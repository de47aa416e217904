// Issuance at scale through the whole pipeline (Ingress → DNS records → HTTP-01 → Secret):
// 1. BENCH_CERTS (200) annotated Ingresses at once against Pebble (PEBBLE_VA_NOSLEEP=1):
//    time until every Certificate is Ready, ACME requests and Route53 calls made;
// 2. grow to BENCH_RESTART_CERTS (1,000) valid certificates, restart the operator: orders
//    placed after the restart (target 0), time to /readyz and to the last reconcile, peak RSS.
// Run: npm run bench -- issuance   (uses dist/, built first by the script)
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import {
  createClusterIssuer,
  failedValidations,
  labIssuer,
  ordersPlaced,
} from '../test/lab/acme-helpers.js';
import { writeAddress } from '../test/lab/ingress-router.js';
import { adminKubeConfig } from '../test/lab/kube.js';
import { route53For, startLab } from '../test/lab/lab.js';
import { ensureNamespace, labFlags, operatorEnv, operatorIdentity } from '../test/lab/operator.js';
import { freePort, spawnManaged, type ManagedProcess } from '../test/lab/process.js';
import { createZone } from '../test/lab/route53-helpers.js';
import type { LabEnv } from '../test/lab/types.js';
import {
  operatorArgv,
  operatorRuntimeEnv,
  orderAccount,
  pool,
  rssKb,
  scrape,
  sum,
  type Sample,
} from './lib.js';

const CERTS = Number(process.env.BENCH_CERTS ?? 200);
const RESTART_CERTS = Number(process.env.BENCH_RESTART_CERTS ?? 1000);
const NS = 'bench-certs';

interface Running {
  proc: ManagedProcess;
  metrics: string;
  probe: string;
}

async function runOperator(env: LabEnv, zone: string, label: string): Promise<Running> {
  const [probe, metrics] = [await freePort(), await freePort()];
  const flags = labFlags(env, [
    `--probe-address=127.0.0.1:${probe}`,
    `--metrics-address=127.0.0.1:${metrics}`,
    '--leader-election=false',
    '--namespace=certroute',
    `--domain-filter=${zone}`,
    `--watch-namespaces=${NS}`,
    '--owner-id=bench',
    // Pebble has no order limit, and phase 2 orders 1,000 at once: certroute's own count of
    // Let's Encrypt's 300 per 3 hours would hold the rest back for hours.
    '--acme-limit-new-orders=0',
  ])
    .filter((f) => !f.startsWith('--metrics-address=127.0.0.1:0'))
    .filter((f) => !f.startsWith('--probe-address=127.0.0.1:0'));
  const proc = spawnManaged('certroute', process.execPath, {
    args: operatorArgv(flags),
    logFile: join(env.dir, `operator-${label}.log`),
    env: {
      ...operatorEnv(env),
      CERTROUTE_LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
      ...operatorRuntimeEnv(),
    },
  });
  return {
    proc,
    metrics: `http://127.0.0.1:${metrics}/metrics`,
    probe: `http://127.0.0.1:${probe}/readyz`,
  };
}

async function until(what: string, fn: () => Promise<boolean>, proc: ManagedProcess) {
  for (;;) {
    if (proc.exitCode !== undefined) throw new Error(`operator exited; see ${proc.logFile}`);
    if (await fn().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function readyCount(custom: k8s.CustomObjectsApi): Promise<number> {
  const list = (await custom.listNamespacedCustomObject({
    group: 'certroute.io',
    version: 'v1alpha1',
    plural: 'certificates',
    namespace: NS,
  })) as { items: { status?: { conditions?: { type: string; status: string }[] } }[] };
  return list.items.filter((c) =>
    c.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'),
  ).length;
}

async function createIngresses(
  env: LabEnv,
  net: k8s.NetworkingV1Api,
  zone: string,
  from: number,
  to: number,
) {
  await pool(
    [...Array(to - from).keys()].map((i) => i + from),
    16,
    async (i) => {
      const host = `app-${i}.${zone}`;
      await net.createNamespacedIngress({
        namespace: NS,
        body: {
          metadata: {
            name: `app-${i}`,
            namespace: NS,
            annotations: { 'certroute.io/issuer': 'bench', 'certroute.io/dns': 'true' },
          },
          spec: {
            tls: [{ secretName: `app-${i}-tls`, hosts: [host] }],
            rules: [
              {
                host,
                http: {
                  paths: [
                    {
                      path: '/',
                      pathType: 'Prefix',
                      backend: { service: { name: 'web', port: { number: 80 } } },
                    },
                  ],
                },
              },
            ],
          },
        },
      });
      await writeAddress(net, NS, `app-${i}`, [{ ip: env.ingressAddress }]);
    },
  );
}

function calls(s: Sample[]) {
  return {
    acmeRequests: sum(s, 'certroute_acme_requests_total'),
    newOrders: sum(s, 'certroute_acme_requests_total', { action: 'newOrder' }),
    route53Calls: sum(s, 'certroute_aws_api_calls_total', { service: 'route53' }),
    route53Changes: sum(s, 'certroute_aws_api_calls_total', {
      operation: 'ChangeResourceRecordSetsCommand',
    }),
  };
}

async function main(): Promise<void> {
  const lab = await startLab();
  const env = lab.env;
  console.log(`operator identity: ${operatorIdentity(env).describe}`);
  try {
    const kc = adminKubeConfig(env.kubeconfig);
    const net = kc.makeApiClient(k8s.NetworkingV1Api);
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    await ensureNamespace(kc, 'certroute');
    await ensureNamespace(kc, NS);
    await createClusterIssuer(kc, labIssuer(env, 'bench'));
    const zone = (await createZone(route53For(env.awsEndpoint), 'bench')).name;

    // 1. CERTS certificates from nothing.
    let op = await runOperator(env, zone, 'issue');
    await until('ready', async () => (await fetch(op.probe)).status === 200, op.proc);
    const ordersBefore = ordersPlaced(env);
    const failedBefore = failedValidations(env);
    const t0 = performance.now();
    await createIngresses(env, net, zone, 0, CERTS);
    const createdMs = performance.now() - t0;
    await until('all Ready', async () => (await readyCount(custom)) === CERTS, op.proc);
    const allReadyMs = performance.now() - t0;
    const issue = calls(await scrape(op.metrics));
    const issueResult = {
      certificates: CERTS,
      ingressesCreatedMs: Math.round(createdMs),
      allReadyMs: Math.round(allReadyMs),
      ...orderAccount(
        ordersPlaced(env) - ordersBefore,
        CERTS,
        failedValidations(env) - failedBefore,
      ),
      ...issue,
      peakRssMb: Math.round(rssKb(op.proc.pid, 'VmHWM') / 1024),
    };
    console.log(JSON.stringify({ bench: 'issuance', ...issueResult }));

    // 2. Grow to RESTART_CERTS, then restart.
    if (RESTART_CERTS > CERTS) {
      const ordersAtGrowth = ordersPlaced(env);
      const failedAtGrowth = failedValidations(env);
      await createIngresses(env, net, zone, CERTS, RESTART_CERTS);
      await until('all Ready', async () => (await readyCount(custom)) === RESTART_CERTS, op.proc);
      const growth = orderAccount(
        ordersPlaced(env) - ordersAtGrowth,
        RESTART_CERTS - CERTS,
        failedValidations(env) - failedAtGrowth,
      );
      console.log(
        JSON.stringify({ bench: 'issuance-growth', certificates: RESTART_CERTS, ...growth }),
      );
    }
    await op.proc.stop();
    const ordersAtRestart = ordersPlaced(env);
    const failedAtRestart = failedValidations(env);
    const t1 = performance.now();
    op = await runOperator(env, zone, 'restart');
    await until('ready', async () => (await fetch(op.probe)).status === 200, op.proc);
    const readyMs = performance.now() - t1;
    // Settled: every Certificate reconciled (queue empty) and nothing reconciling.
    await until(
      'settled',
      async () => {
        const s = await scrape(op.metrics);
        const reconciles = sum(s, 'certroute_reconcile_duration_seconds_count', {
          controller: 'certificates',
        });
        return (
          reconciles >= RESTART_CERTS &&
          sum(s, 'certroute_workqueue_depth', { controller: 'certificates' }) === 0
        );
      },
      op.proc,
    );
    const settledMs = performance.now() - t1;
    await new Promise((r) => setTimeout(r, 3000));
    const after = await scrape(op.metrics);
    const restart = {
      certificates: RESTART_CERTS,
      readyMs: Math.round(readyMs),
      settledMs: Math.round(settledMs),
      // Nothing is due after a restart: any order is a wasted one.
      ...orderAccount(
        ordersPlaced(env) - ordersAtRestart,
        0,
        failedValidations(env) - failedAtRestart,
      ),
      acmeRequests: sum(after, 'certroute_acme_requests_total'),
      stillReady: await readyCount(custom),
      peakRssMb: Math.round(rssKb(op.proc.pid, 'VmHWM') / 1024),
    };
    console.log(JSON.stringify({ bench: 'issuance-restart', ...restart }));
    await op.proc.stop();
  } finally {
    await lab.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
