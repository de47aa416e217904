// Start-up and memory with a large cluster: 5,000 annotated Ingresses (with their derived
// objects already in place, as after a restart) and 5,000 unrelated Secrets with data.
// Reports time from process start to /readyz 200, and peak RSS (VmHWM) once the operator has
// settled. Run: npm run bench -- startup   (uses dist/, built first by the script)
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { adminKubeConfig } from '../test/lab/kube.js';
import { startLab } from '../test/lab/lab.js';
import { ensureNamespace, logLines } from '../test/lab/operator.js';
import { labEnvVars, type LabEnv } from '../test/lab/types.js';
import { repoRoot } from '../test/lab/paths.js';
import { freePort, spawnManaged, type ManagedProcess } from '../test/lab/process.js';
import { pool, rssKb } from './lib.js';

const INGRESSES = Number(process.env.BENCH_INGRESSES ?? 5000);
const SECRETS = Number(process.env.BENCH_SECRETS ?? 5000);
const NAMESPACES = 10;

async function waitReady(url: string, proc: ManagedProcess): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if (proc.exitCode !== undefined) throw new Error(`operator exited; see ${proc.logFile}`);
    try {
      if ((await fetch(url)).status === 200) return performance.now() - t0;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function seed(kc: k8s.KubeConfig): Promise<void> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const net = kc.makeApiClient(k8s.NetworkingV1Api);
  const nss = Array.from({ length: NAMESPACES }, (_, i) => `bench-${i}`);
  for (const ns of nss) await ensureNamespace(kc, ns);
  const t0 = performance.now();
  await pool([...Array(INGRESSES).keys()], 32, (i) => {
    const ns = nss[i % NAMESPACES] ?? 'bench-0';
    const host = `app-${i}.bench.example.test`;
    return net.createNamespacedIngress({
      namespace: ns,
      body: {
        metadata: {
          name: `app-${i}`,
          namespace: ns,
          annotations: { 'certroute.io/issuer': 'pebble' },
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
        status: { loadBalancer: { ingress: [{ ip: '192.0.2.10' }] } },
      },
    });
  });
  const blob = Buffer.alloc(4096, 7).toString('base64');
  await pool([...Array(SECRETS).keys()], 32, (i) => {
    const ns = nss[i % NAMESPACES] ?? 'bench-0';
    return core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: `unrelated-${i}` }, data: { blob } },
    });
  });
  console.log(
    `seeded ${INGRESSES} Ingresses and ${SECRETS} Secrets (4 KiB each) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
}

async function runOperator(
  env: LabEnv,
  dir: string,
  label: string,
): Promise<{ readyMs: number; hwmMb: number; created: number; proc: ManagedProcess }> {
  const probe = await freePort();
  const metrics = await freePort();
  const proc = spawnManaged('certroute', process.execPath, {
    args: [
      join(repoRoot, 'dist', 'main.js'),
      `--kubeconfig=${env.kubeconfig}`,
      `--probe-address=127.0.0.1:${probe}`,
      `--metrics-address=127.0.0.1:${metrics}`,
      '--solver-address=127.0.0.1:0',
      '--lease-duration=15s',
    ],
    logFile: join(dir, `operator-${label}.log`),
    // moto through the lab proxy, never the real AWS or the instance metadata service.
    env: labEnvVars(env),
  });
  const readyMs = await waitReady(`http://127.0.0.1:${probe}/readyz`, proc);
  // Let it settle: reconcile everything once (creating children on the first run).
  let last = -1;
  for (;;) {
    await new Promise((r) => setTimeout(r, 2000));
    const n = logLines(proc.logFile).length;
    if (n === last) break;
    last = n;
  }
  const created = logLines(proc.logFile).filter((l) => l.msg === 'created').length;
  return { readyMs, hwmMb: rssKb(proc.pid, 'VmHWM') / 1024, created, proc };
}

async function main(): Promise<void> {
  const lab = await startLab();
  const dir = lab.env.dir;
  try {
    const kc = adminKubeConfig(lab.env.kubeconfig);
    await ensureNamespace(kc, 'certroute');
    await seed(kc);
    const first = await runOperator(lab.env, dir, 'first');
    console.log(
      `first start (creates children): ready ${first.readyMs.toFixed(0)} ms, created ${first.created} objects, peak RSS ${first.hwmMb.toFixed(0)} MB`,
    );
    await first.proc.stop();
    const second = await runOperator(lab.env, dir, 'restart');
    console.log(
      `restart (steady state): ready ${second.readyMs.toFixed(0)} ms, created ${second.created} objects, peak RSS ${second.hwmMb.toFixed(0)} MB`,
    );
    await second.proc.stop();
    console.log(
      JSON.stringify({
        bench: 'startup',
        ingresses: INGRESSES,
        secrets: SECRETS,
        first: {
          readyMs: Math.round(first.readyMs),
          peakRssMb: Math.round(first.hwmMb),
          created: first.created,
        },
        restart: {
          readyMs: Math.round(second.readyMs),
          peakRssMb: Math.round(second.hwmMb),
          created: second.created,
        },
      }),
    );
  } finally {
    await lab.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
