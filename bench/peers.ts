// The peer benchmark (issue 23): certroute side by side with external-dns v0.23.0 on the same
// lab, one tool at a time, the tools alternating within each run so that noise hits both.
// DNS workloads (bench/peers/dns.ts): (a) first start with every Ingress there, (b) a burst of
// Ingresses written by 16 writers while the tool idles, (c) the burst under Route53's account
// limit of 5 requests a second, (d) single-host latency after the burst, (e) one change with
// 40 unrelated zones (30,000 records) in the account and no domain filter.
// Run: npm run bench -- peers
//   BENCH_RUNS (3), BENCH_HOSTS (2000), BENCH_TOOLS (certroute, external-dns, or ids from
//   bench/peers/tools.ts, comma-separated; all by default), BENCH_OPERATOR_BUNDLE (bench/lib.ts),
//   BENCH_WORKLOADS (first-start,burst,burst-limited,many-zones; all by default),
//   BENCH_ISSUANCE=0 to skip the issuance half (bench/peers-issuance.ts) that follows.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { route53For, startLab } from '../test/lab/lab.js';
import { ensureNamespace, operatorIdentity } from '../test/lab/operator.js';
import { repoRoot } from '../test/lab/paths.js';
import {
  burst,
  firstStart,
  manyZonesSample,
  seedManyZones,
  type PeerContext,
} from './peers/dns.js';
import { median } from './peers/observe.js';
import { markdownTable, medians, type RunResults } from './peers/report.js';
import { externalDnsBinary, selectTools, type ToolId } from './peers/tools.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const HOSTS = Number(process.env.BENCH_HOSTS ?? 2000);
const MANY_ZONE_SAMPLES = 3;
const workloads = new Set(
  (process.env.BENCH_WORKLOADS ?? 'first-start,burst,burst-limited,many-zones').split(','),
);
/** The tools measured under the rate limit: certroute and external-dns --events. */
const limited: ToolId[] = ['certroute', 'external-dns-events'];

function log(msg: string): void {
  console.error(`[peers ${new Date().toISOString().slice(11, 19)}] ${msg}`);
}

async function main(): Promise<void> {
  const tools = selectTools(process.env.BENCH_TOOLS);
  if (tools.some((t) => t !== 'certroute')) externalDnsBinary(); // builds it on a first run
  const lab = await startLab({ log });
  const results: RunResults = {};
  try {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(lab.env.kubeconfig);
    await ensureNamespace(kc, 'certroute');
    const ctx: PeerContext = { lab, kc, moto: route53For(lab.env.motoEndpoint), hosts: HOSTS };
    log(`certroute identity: ${operatorIdentity(lab.env).describe}`);
    log(`tools: ${tools.join(', ')}; ${HOSTS} hosts; ${RUNS} run(s)`);
    for (let run = 0; run < RUNS; run++) {
      // Alternate within the run, and start each run with the other end of the list.
      const order = run % 2 === 0 ? tools : [...tools].reverse();
      const m = Object.fromEntries(order.map((t) => [t, {}])) as Record<
        ToolId,
        Record<string, number>
      >;
      const add = (t: ToolId, prefix: string, x: Record<string, number>) => {
        for (const [k, v] of Object.entries(x)) m[t][`${prefix}.${k}`] = v;
      };
      if (workloads.has('first-start'))
        for (const t of order) {
          log(`run ${run + 1}: ${t}: first start`);
          add(t, 'firstStart', await firstStart(ctx, t, run));
        }
      if (workloads.has('burst'))
        for (const t of order) {
          log(`run ${run + 1}: ${t}: burst, then single changes`);
          add(t, 'burst', await burst(ctx, t, run, { rateLimit: 0, latency: true }));
        }
      if (workloads.has('burst-limited'))
        for (const t of order.filter((x) => limited.includes(x))) {
          log(`run ${run + 1}: ${t}: burst at 5 Route53 requests/s`);
          add(t, 'burstLimited', await burst(ctx, t, run, { rateLimit: 5, latency: false }));
        }
      if (workloads.has('many-zones')) {
        log(`run ${run + 1}: seeding unrelated zones`);
        const target = await seedManyZones(ctx);
        for (const t of order) {
          const samples: number[] = [];
          for (let s = 0; s < MANY_ZONE_SAMPLES; s++) {
            log(`run ${run + 1}: ${t}: many zones, sample ${s + 1}`);
            samples.push(await manyZonesSample(ctx, t, target, `m${run}-${s}-${t}`));
          }
          add(t, 'manyZones', {
            ...Object.fromEntries(samples.map((x, i) => [`sample${i + 1}Ms`, x])),
            medianMs: median(samples),
          });
        }
      }
      for (const t of order) (results[t] ??= []).push(m[t]);
      log(`run ${run + 1} done`);
    }
  } finally {
    await lab.stop();
  }

  const table = markdownTable(results, RUNS);
  console.log(table);
  const date = new Date().toISOString().slice(0, 10);
  const dir = join(repoRoot, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `peers-${date}.json`);
  writeFileSync(
    file,
    JSON.stringify(
      { bench: 'peers', date, hosts: HOSTS, runs: RUNS, results, medians: medians(results) },
      null,
      2,
    ),
  );
  log(`wrote ${file}`);
  runIssuanceHalf();
}

/**
 * The issuance half (bench/peers-issuance.ts: certroute and cert-manager, DNS-01 and HTTP-01)
 * on a lab of its own; BENCH_ISSUANCE=0 leaves it out (cert-manager's DNS-01 alone takes about
 * 8 minutes a run).
 */
function runIssuanceHalf(): void {
  if (process.env.BENCH_ISSUANCE === '0') return;
  const script = join(repoRoot, 'bench', 'peers-issuance.ts');
  execFileSync(process.execPath, [...process.execArgv, script], { stdio: 'inherit' });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
