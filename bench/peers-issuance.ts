// Issuance side by side with cert-manager (issue 23): BENCH_CERTS (20) Certificates of two names
// each, issued by certroute and by cert-manager v1.20.3 in turn, BENCH_RUNS (3) times each, on
// one lab. Prints every run, then the medians and certroute ÷ cert-manager.
// BENCH_CHALLENGES: dns01,http01 (default both); BENCH_TOOLS: certroute,cert-manager.
// Run: npm run bench -- peers-issuance   (builds dist/ and the lab's cert-manager first:
//      scripts/lab-install.sh cert-manager, which needs CERT_MANAGER_GIT on a fresh machine)
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { startLab } from '../test/lab/lab.js';
import { operatorIdentity } from '../test/lab/operator.js';
import { repoRoot } from '../test/lab/paths.js';
import { closeHttp01Front } from './peers/front.js';
import {
  runIssuance,
  type Challenge,
  type IssuanceResult,
  type IssuanceTool,
} from './peers/issuance.js';
import { medians, ratios } from './peers/summary.js';

const CERTS = Number(process.env.BENCH_CERTS ?? 20);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const CHALLENGES = (process.env.BENCH_CHALLENGES ?? 'dns01,http01').split(',') as Challenge[];
const TOOLS = (process.env.BENCH_TOOLS ?? 'certroute,cert-manager').split(',') as IssuanceTool[];

async function main(): Promise<void> {
  execFileSync('bash', [join(repoRoot, 'scripts', 'lab-install.sh'), 'cert-manager'], {
    stdio: 'inherit',
  });
  const lab = await startLab();
  console.log(`certroute identity: ${operatorIdentity(lab.env).describe}`);
  const results: IssuanceResult[] = [];
  try {
    for (const challenge of CHALLENGES)
      for (let run = 1; run <= RUNS; run++)
        // Interleaved, so a slow stretch of the shared machine hits both tools.
        for (const tool of TOOLS) {
          const r = await runIssuance(lab, { tool, certs: CERTS, challenge });
          results.push(r);
          console.log(JSON.stringify({ bench: 'peers-issuance', run, ...r }));
        }
    for (const challenge of CHALLENGES) {
      const of = (tool: IssuanceTool) =>
        medians(results.filter((r) => r.tool === tool && r.challenge === challenge));
      const summary: Record<string, unknown> = {
        bench: 'peers-issuance-medians',
        challenge,
        certs: CERTS,
        runs: RUNS,
      };
      for (const tool of TOOLS) summary[tool] = of(tool);
      if (TOOLS.includes('certroute') && TOOLS.includes('cert-manager'))
        summary['certroute÷cert-manager'] = ratios(of('certroute'), of('cert-manager'));
      console.log(JSON.stringify(summary));
    }
  } finally {
    await closeHttp01Front(lab);
    await lab.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
