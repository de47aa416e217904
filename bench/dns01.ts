// DNS-01 at scale: BENCH_CERTS (50) Certificates, each for a host and its wildcard, issued
// through Route53 (moto) and Pebble at once. Reports the time until all are Ready, the
// Route53 calls by operation, and that no challenge TXT record is left behind.
// Run: npm run bench -- dns01   (uses dist/, built first by the script)
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import {
  createClusterIssuer,
  failedValidations,
  labIssuer,
  ordersPlaced,
} from '../test/lab/acme-helpers.js';
import { adminKubeConfig } from '../test/lab/kube.js';
import { route53For, startLab } from '../test/lab/lab.js';
import { ensureNamespace, labFlags, operatorEnv, operatorIdentity } from '../test/lab/operator.js';
import { freePort, spawnManaged } from '../test/lab/process.js';
import { createZone, records } from '../test/lab/route53-helpers.js';
import { operatorArgv, operatorRuntimeEnv, orderAccount, pool, scrape, sum } from './lib.js';

const CERTS = Number(process.env.BENCH_CERTS ?? 50);
const NS = 'bench-dns01';

async function main(): Promise<void> {
  const lab = await startLab();
  const env = lab.env;
  console.log(`operator identity: ${operatorIdentity(env).describe}`);
  try {
    const kc = adminKubeConfig(env.kubeconfig);
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    await ensureNamespace(kc, 'certroute');
    await ensureNamespace(kc, NS);
    await createClusterIssuer(
      kc,
      labIssuer(env, 'bench-dns', { solvers: [{ dns01: { route53: { region: env.awsRegion } } }] }),
    );
    const r53 = route53For(env.awsEndpoint);
    const zone = await createZone(r53, 'benchdns');
    const [probe, metrics] = [await freePort(), await freePort()];
    const proc = spawnManaged('certroute', process.execPath, {
      args: operatorArgv([
        ...labFlags(env, [
          '--leader-election=false',
          '--namespace=certroute',
          `--watch-namespaces=${NS}`,
        ]).filter((f) => !/^--(metrics|probe)-address=/.test(f)),
        `--probe-address=127.0.0.1:${probe}`,
        `--metrics-address=127.0.0.1:${metrics}`,
      ]),
      logFile: join(env.dir, 'operator-dns01.log'),
      env: { ...operatorEnv(env), CERTROUTE_LOG_LEVEL: 'warn', ...operatorRuntimeEnv() },
    });
    for (;;) {
      if ((await fetch(`http://127.0.0.1:${probe}/readyz`).catch(() => undefined))?.ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const orders0 = ordersPlaced(env);
    const failed0 = failedValidations(env);
    const t0 = performance.now();
    await pool([...Array(CERTS).keys()], 16, (i) =>
      custom.createNamespacedCustomObject({
        group: 'certroute.io',
        version: 'v1alpha1',
        plural: 'certificates',
        namespace: NS,
        body: {
          apiVersion: 'certroute.io/v1alpha1',
          kind: 'Certificate',
          metadata: { name: `c${i}`, namespace: NS },
          spec: {
            dnsNames: [`h${i}.${zone.name}`, `*.h${i}.${zone.name}`],
            issuerRef: { name: 'bench-dns' },
            secretName: `c${i}-tls`,
          },
        },
      }),
    );
    for (;;) {
      if (proc.exitCode !== undefined) throw new Error(`operator exited; see ${proc.logFile}`);
      const list = (await custom.listNamespacedCustomObject({
        group: 'certroute.io',
        version: 'v1alpha1',
        plural: 'certificates',
        namespace: NS,
      })) as { items: { status?: { conditions?: { type: string; status: string }[] } }[] };
      const ready = list.items.filter((c) =>
        c.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'),
      ).length;
      if (ready === CERTS) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const allReadyMs = performance.now() - t0;
    const s = await scrape(`http://127.0.0.1:${metrics}/metrics`);
    const op = (operation: string) =>
      sum(s, 'certroute_aws_api_calls_total', { service: 'route53', operation });
    const leftovers = (await records(r53, zone.id)).filter((r) =>
      (r.Name ?? '').startsWith('_acme-challenge'),
    ).length;
    console.log(
      JSON.stringify({
        bench: 'dns01',
        certificates: CERTS,
        namesPerCertificate: 2,
        allReadyMs: Math.round(allReadyMs),
        ...orderAccount(ordersPlaced(env) - orders0, CERTS, failedValidations(env) - failed0),
        route53Calls: sum(s, 'certroute_aws_api_calls_total', { service: 'route53' }),
        changes: op('ChangeResourceRecordSetsCommand'),
        lists: op('ListResourceRecordSetsCommand'),
        getChange: op('GetChangeCommand'),
        listZones: op('ListHostedZonesCommand'),
        throttled: sum(s, 'certroute_aws_throttles_total'),
        challengeRecordsLeft: leftovers,
      }),
    );
    await proc.stop();
  } finally {
    await lab.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
