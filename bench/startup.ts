// Start-up and memory with a large cluster, as PRODUCT.md sets it: 5,000 annotated Ingresses,
// 5,000 managed TLS Secrets (a valid certificate for each Ingress, labelled as certroute's) and
// 5,000 unrelated Secrets with data. The first start creates the Certificates and DNSEndpoints
// and takes the Secrets over; the restarts are the steady state.
// Reports time from process start to /readyz 200, and peak RSS (VmHWM) once the operator has
// settled. Run: npm run bench -- startup   (uses dist/, built first by the script)
// BENCH_INGRESSES, BENCH_SECRETS (unrelated), BENCH_MANAGED_SECRETS, BENCH_RESTARTS,
// BENCH_OPERATOR_NODE_OPTIONS (default: the chart's nodeOptions; e.g. to compare V8 settings).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import * as x509 from '@peculiar/x509';
import { adminKubeConfig } from '../test/lab/kube.js';
import { startLab } from '../test/lab/lab.js';
import { ensureNamespace, logLines, operatorEnv, operatorIdentity } from '../test/lab/operator.js';
import type { LabEnv } from '../test/lab/types.js';
import { repoRoot } from '../test/lab/paths.js';
import { freePort, spawnManaged, type ManagedProcess } from '../test/lab/process.js';
import {
  cpuMs,
  operatorArgv,
  operatorRuntimeEnv,
  orderAccount,
  pool,
  rssKb,
  scrape,
  sum,
} from './lib.js';
import { failedValidations, ordersPlaced } from '../test/lab/acme-helpers.js';

const INGRESSES = Number(process.env.BENCH_INGRESSES ?? 5000);
const SECRETS = Number(process.env.BENCH_SECRETS ?? 5000);
const MANAGED = Number(process.env.BENCH_MANAGED_SECRETS ?? INGRESSES);
const RESTARTS = Number(process.env.BENCH_RESTARTS ?? 2);
const NAMESPACES = 10;

const pem = (label: string, der: ArrayBuffer) =>
  `-----BEGIN ${label}-----\n${(
    Buffer.from(der)
      .toString('base64')
      .match(/.{1,64}/g) ?? []
  ).join('\n')}\n-----END ${label}-----\n`;

/** A bench CA and one leaf per host (leaf + CA in tls.crt, like an ACME chain). */
async function tlsSecrets(hosts: string[]): Promise<{ crt: string; key: string }[]> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const caKeys = await crypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=certroute bench CA',
    notBefore: new Date(Date.now() - 86400_000),
    notAfter: new Date(Date.now() + 365 * 86400_000),
    keys: caKeys,
    signingAlgorithm: alg,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
  });
  // One leaf key for all (generation is not what is measured); each certificate is unique.
  const leafKeys = await crypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const key = pem('PRIVATE KEY', await crypto.subtle.exportKey('pkcs8', leafKeys.privateKey));
  const out: { crt: string; key: string }[] = [];
  for (const [i, host] of hosts.entries()) {
    const leaf = await x509.X509CertificateGenerator.create({
      serialNumber: (i + 1).toString(16).padStart(8, '0'),
      issuer: ca.subject,
      subject: '',
      notBefore: new Date(Date.now() - 3600_000),
      notAfter: new Date(Date.now() + 90 * 86400_000),
      publicKey: leafKeys.publicKey,
      signingKey: caKeys.privateKey,
      signingAlgorithm: alg,
      extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: host }], true)],
    });
    out.push({ crt: leaf.toString('pem') + '\n' + ca.toString('pem') + '\n', key });
  }
  return out;
}

async function waitReady(url: string, proc: ManagedProcess): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if (proc.exitCode !== undefined) {
      // The lab directory goes with a fresh lab: show why here.
      const tail = readFileSync(proc.logFile, 'utf8').trimEnd().split('\n').slice(-15).join('\n');
      throw new Error(`operator exited (${proc.exitCode}) before ready; its log ends:\n${tail}`);
    }
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
  const hosts = [...Array(MANAGED).keys()].map((i) => `app-${i}.bench.example.test`);
  const pairs = await tlsSecrets(hosts);
  await pool([...Array(MANAGED).keys()], 32, (i) => {
    const ns = nss[i % NAMESPACES] ?? 'bench-0';
    const pair = pairs[i] ?? { crt: '', key: '' };
    return core.createNamespacedSecret({
      namespace: ns,
      body: {
        metadata: {
          name: `app-${i}-tls`,
          labels: { 'app.kubernetes.io/managed-by': 'certroute' },
          annotations: { 'certroute.io/certificate-name': `app-${i}-tls` },
        },
        type: 'kubernetes.io/tls',
        data: {
          'tls.crt': Buffer.from(pair.crt).toString('base64'),
          'tls.key': Buffer.from(pair.key).toString('base64'),
        },
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
    `seeded ${INGRESSES} Ingresses, ${MANAGED} managed TLS Secrets and ${SECRETS} unrelated Secrets (4 KiB each) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
}

function runningLab(): { env: LabEnv; stop: () => Promise<void> } {
  const state = JSON.parse(readFileSync(join(repoRoot, '.lab', 'current.json'), 'utf8')) as {
    env: LabEnv;
  };
  return { env: state.env, stop: () => Promise.resolve() };
}

interface Run {
  label: string;
  readyMs: number;
  /** CPU time certroute used until ready (user + system). */
  readyCpuMs: number;
  hwmMb: number;
  /** After settling: RSS now, and V8's heap used (from /metrics). */
  rssMb: number;
  heapUsedMb: number;
  created: number;
  proc: ManagedProcess;
}

/**
 * runOperator, again with other ports when the operator could not bind the ones freePort() found
 * (another process took one between the check and the operator's listen).
 */
async function runOperator(env: LabEnv, dir: string, label: string): Promise<Run> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await runOperatorOnce(env, dir, label);
    } catch (err) {
      if (attempt === 3 || !String(err).includes('EADDRINUSE')) throw err;
      console.log(`${label}: a port was taken before the operator bound it; running it again`);
    }
  }
}

async function runOperatorOnce(env: LabEnv, dir: string, label: string): Promise<Run> {
  const probe = await freePort();
  const metrics = await freePort();
  const proc = spawnManaged('certroute', process.execPath, {
    args: operatorArgv([
      ...operatorIdentity(env).flags,
      `--probe-address=127.0.0.1:${probe}`,
      `--metrics-address=127.0.0.1:${metrics}`,
      '--solver-address=127.0.0.1:0',
      '--lease-duration=15s',
    ]),
    logFile: join(dir, `operator-${label}-${Date.now()}.log`),
    // moto through the lab proxy, never the real AWS or the instance metadata service.
    env: {
      ...operatorEnv(env),
      ...operatorRuntimeEnv(),
    },
  });
  const readyMs = await waitReady(`http://127.0.0.1:${probe}/readyz`, proc);
  const readyCpuMs = cpuMs(proc.pid);
  // Let it settle: reconcile everything once (creating children on the first run).
  let last = -1;
  for (;;) {
    await new Promise((r) => setTimeout(r, 2000));
    const n = logLines(proc.logFile).length;
    if (n === last) break;
    last = n;
  }
  const created = logLines(proc.logFile).filter((l) => l.msg === 'created').length;
  if (process.env.BENCH_HEAP_SNAPSHOT === '1') {
    // With --heapsnapshot-signal=SIGUSR2 in BENCH_OPERATOR_NODE_OPTIONS: a snapshot to analyse.
    process.kill(proc.pid, 'SIGUSR2');
    await new Promise((r) => setTimeout(r, 15_000));
  }
  const samples = await scrape(`http://127.0.0.1:${metrics}/metrics`);
  return {
    label,
    readyMs,
    readyCpuMs,
    hwmMb: rssKb(proc.pid, 'VmHWM') / 1024,
    rssMb: rssKb(proc.pid, 'VmRSS') / 1024,
    heapUsedMb: sum(samples, 'nodejs_heap_size_used_bytes') / 2 ** 20,
    created,
    proc,
  };
}

/** Certificates whose Ready condition is True: the managed Secrets were taken over. */
async function readyCertificates(kc: k8s.KubeConfig): Promise<number> {
  const api = kc.makeApiClient(k8s.CustomObjectsApi);
  const list = (await api.listClusterCustomObject({
    group: 'certroute.io',
    version: 'v1alpha1',
    plural: 'certificates',
  })) as { items: { status?: { conditions?: { type: string; status: string }[] } }[] };
  return list.items.filter((c) =>
    c.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'),
  ).length;
}

async function main(): Promise<void> {
  // BENCH_RUNNING_LAB=1 uses the lab of `npm run lab -- up` and seeds it only once, so
  // operator settings can be compared quickly on the same cluster.
  const lab = process.env.BENCH_RUNNING_LAB === '1' ? runningLab() : await startLab();
  const dir = lab.env.dir;
  console.log(`operator identity: ${operatorIdentity(lab.env).describe}`);
  try {
    const kc = adminKubeConfig(lab.env.kubeconfig);
    await ensureNamespace(kc, 'certroute');
    const net = kc.makeApiClient(k8s.NetworkingV1Api);
    const seeded = await net.listNamespacedIngress({ namespace: 'bench-0', limit: 1 }).then(
      (l) => l.items.length > 0,
      () => false,
    );
    if (!seeded) await seed(kc);
    const runs: Run[] = [];
    const orders0 = ordersPlaced(lab.env);
    const failed0 = failedValidations(lab.env);
    for (let i = 0; i <= RESTARTS; i++) {
      // The first run on a fresh lab creates every child; on a seeded running lab it restarts.
      const label = i === 0 && !seeded ? 'first' : `restart-${i}`;
      const run = await runOperator(lab.env, dir, label);
      await run.proc.stop();
      runs.push(run);
      console.log(
        `${run.label}: ready ${run.readyMs.toFixed(0)} ms (CPU ${run.readyCpuMs.toFixed(0)} ms), created ${run.created} objects, peak RSS ${run.hwmMb.toFixed(0)} MB (settled: RSS ${run.rssMb.toFixed(0)} MB, heap used ${run.heapUsedMb.toFixed(0)} MB)`,
      );
    }
    const ready = await readyCertificates(kc);
    console.log(`Certificates Ready: ${ready} of ${INGRESSES}`);
    // Every certificate is valid and taken over: any order is a wasted one.
    const orders = orderAccount(
      ordersPlaced(lab.env) - orders0,
      0,
      failedValidations(lab.env) - failed0,
    );
    console.log(
      JSON.stringify({
        bench: 'startup',
        ingresses: INGRESSES,
        managedSecrets: MANAGED,
        unrelatedSecrets: SECRETS,
        runtimeEnv: operatorRuntimeEnv(),
        certificatesReady: ready,
        ...orders,
        runs: runs.map((r) => ({
          label: r.label,
          readyMs: Math.round(r.readyMs),
          readyCpuMs: Math.round(r.readyCpuMs),
          peakRssMb: Math.round(r.hwmMb),
          settledRssMb: Math.round(r.rssMb),
          heapUsedMb: Math.round(r.heapUsedMb),
          created: r.created,
        })),
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
