// The image, built and run (ADR 0016). scripts/image.sh builds the Dockerfile with buildah on the
// lab's local base, or reuses the image when nothing the build reads has changed; the operator
// then runs from it as the Helm chart runs it in a pod: `buildah run` of the image's ENTRYPOINT
// as user 65532, with no capabilities, a read-only root filesystem, the chart's nodeOptions, and
// the in-cluster identity (KUBERNETES_SERVICE_HOST/PORT; token, ca.crt and namespace at
// /var/run/secrets/kubernetes.io/serviceaccount) of the chart's ServiceAccount under the chart's
// RBAC. It must lead, publish the Ingress's record, issue its certificate and stop on SIGTERM.
//
// The certificate is issued through DNS-01 (Route53), not HTTP-01: what is under test is the
// image and its identity, and DNS-01 needs nothing of the lab's ingress routing (the stand-in,
// being replaced by Traefik), only moto and Pebble through the lab DNS. The A record still goes
// through the DNS controller, as in the bundle test.
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { serviceAccountDir } from '../../src/kube/kubeconfig.js';
import { createClusterIssuer, deleteClusterIssuer, labIssuer } from '../lab/acme-helpers.js';
import {
  adminConfig,
  createNamespace,
  deleteNamespace,
  eventually,
  labEnv,
  labRoute53,
  uniqueName,
} from '../lab/context.js';
import { writeAddress } from '../lab/ingress-router.js';
import { eventsFor, ingress } from '../lab/k8s-helpers.js';
import { podIdentityFor, type PodIdentityHandle } from '../lab/identity.js';
import { logLines, rbacDenials } from '../lab/operator.js';
import { repoRoot } from '../lab/paths.js';
import { isAlive, spawnManaged, type ManagedProcess } from '../lab/process.js';
import { createZone, record } from '../lab/route53-helpers.js';
import { labEnvVars } from '../lab/types.js';

const env = labEnv();
const kc = adminConfig(env);
const script = join(repoRoot, 'scripts', 'image.sh');
// Where the operator reads its ServiceAccount: /var/run/secrets/kubernetes.io/serviceaccount.
// In Debian /var/run is a symlink to /run, and buildah 1.28 resolves a volume's target through
// such a symlink on the host, not in the image: the files are mounted at the same directory by
// its real path.
const saPath = '/run/secrets/kubernetes.io/serviceaccount';
/** A cold build takes about 2 minutes on 2 busy cores (10 with buildah's layer cache). */
const buildTimeoutMs = 40 * 60_000;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** scripts/image.sh with `args`; never rejects (the exit code is in the result). */
function imageSh(args: string[], timeoutMs = 120_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      [script, ...args],
      { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

async function ok(args: string[], timeoutMs?: number): Promise<string> {
  const r = await imageSh(args, timeoutMs);
  expect(r.code, `scripts/image.sh ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout.trim();
}

function buildahVersion(): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('buildah', ['--version'], { encoding: 'utf8' }, (err, stdout) =>
      resolve(err ? undefined : stdout.trim()),
    );
  });
}

interface ImageConfig {
  User?: string;
  Env?: string[];
  Entrypoint?: string[];
  WorkingDir?: string;
}

let image = '';
let config: ImageConfig = {};
const containers: string[] = [];

/** A working container of the image with a read-only root (removed in afterAll). */
async function container(mountPoints: string[] = []): Promise<string> {
  const ctr = await ok(['container', image, ...mountPoints]);
  containers.push(ctr);
  return ctr;
}

beforeAll(async () => {
  // No silent skip: where buildah is missing, this fails and says so.
  if (!(await buildahVersion()))
    throw new Error(
      'buildah is not installed: the image test builds and runs the image with it ' +
        '(Debian package; `bash scripts/image.sh build` installs it with apt-get as root)',
    );
  image = (await ok(['build'], buildTimeoutMs)).split('\n').pop() ?? '';
  const inspect = JSON.parse(await ok(['buildah', 'inspect', '--type', 'image', image])) as {
    OCIv1: { config: ImageConfig };
  };
  config = inspect.OCIv1.config;
}, buildTimeoutMs + 60_000);

afterAll(async () => {
  for (const ctr of containers) await imageSh(['rm', ctr]);
});

describe('the image', () => {
  it('runs the bundle as user 65532 with the allocator and compile-cache settings, and no npm', async () => {
    expect(image).toMatch(/^localhost\/certroute:ctx-[0-9a-f]{16}$/);
    expect(config.User).toBe('65532:65532');
    expect(config.Entrypoint).toEqual(['node', 'dist/main.cjs']);
    expect(config.WorkingDir).toBe('/app');
    expect(config.Env).toEqual(
      expect.arrayContaining([
        'NODE_ENV=production',
        'MALLOC_ARENA_MAX=2',
        'MALLOC_MMAP_THRESHOLD_=65536',
        'MALLOC_TRIM_THRESHOLD_=65536',
        'NODE_COMPILE_CACHE=/app/compile-cache',
      ]),
    );
    const root = await ok(['buildah', 'mount', await container()]);
    expect(readdirSync(join(root, 'usr', 'local', 'bin')).sort()).toEqual([
      'kubectl-certroute',
      'node',
    ]);
    expect(readdirSync(join(root, 'app')).sort()).toEqual(['compile-cache', 'dist']);
    expect(readdirSync(join(root, 'app', 'dist'))).toEqual(
      expect.arrayContaining(['main.cjs', 'cli.mjs']),
    );
    expect(readdirSync(join(root, 'app', 'compile-cache')).length).toBeGreaterThan(0);
  });

  it('is reused, not built again, when nothing the build reads has changed', async () => {
    const again = await imageSh(['build'], buildTimeoutMs);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout.trim()).toBe(image);
    expect(again.stderr).toContain('is up to date');
    expect(again.stderr).not.toContain('STEP');
  });

  it('gives a container whose root filesystem is read-only', async () => {
    const ctr = await container();
    const write = await imageSh([
      'buildah',
      'run',
      '--isolation=chroot',
      '--user=65532:65532',
      ctr,
      '--',
      'node',
      '-e',
      'try { require("fs").writeFileSync("/app/x", "") } catch (e) { console.log(e.code) }',
    ]);
    expect(write.stdout.trim()).toBe('EROFS');
  });
});

// ---------------------------------------------------------------- the operator, from the image

/** Processes below `pid` (by their parent PIDs in /proc), with their command names. */
function descendants(pid: number): { pid: number; comm: string }[] {
  const procs = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .flatMap((d) => {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        const close = stat.lastIndexOf(')');
        const ppid = Number(stat.slice(close + 2).split(' ')[1]);
        return [{ pid: Number(d), ppid, comm: stat.slice(stat.indexOf('(') + 1, close) }];
      } catch {
        return [];
      }
    });
  const out: { pid: number; comm: string }[] = [];
  const walk = (parent: number) => {
    for (const p of procs.filter((x) => x.ppid === parent)) {
      out.push({ pid: p.pid, comm: p.comm });
      walk(p.pid);
    }
  };
  walk(pid);
  return out;
}

/**
 * The pod's environment: the API server as a Service would give it, the chart's nodeOptions
 * (the compile cache was warmed for them), and the lab's AWS endpoint and credentials.
 */
function podEnv(): Record<string, string> {
  const aws = labEnvVars(env);
  const values = parse(
    readFileSync(join(repoRoot, 'charts', 'certroute', 'values.yaml'), 'utf8'),
  ) as { nodeOptions: string };
  const awsKeys = [
    'AWS_ENDPOINT_URL',
    'AWS_REGION',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_EC2_METADATA_DISABLED',
  ];
  return {
    KUBERNETES_SERVICE_HOST: '127.0.0.1',
    KUBERNETES_SERVICE_PORT: new URL(env.kubeApiServer).port,
    NODE_OPTIONS: values.nodeOptions,
    CERTROUTE_LOG_LEVEL: 'debug',
    ...Object.fromEntries(awsKeys.map((k) => [k, aws[k] ?? ''])),
  };
}

describe('the operator, run from the image as the chart runs it in a pod', () => {
  let op: ManagedProcess | undefined;
  let releaseNs = '';
  let appNs = '';
  let issuer = '';
  let pod: PodIdentityHandle | undefined;

  afterAll(async () => {
    await op?.stop();
    if (issuer) await deleteClusterIssuer(kc, issuer);
    pod?.stop();
    for (const ns of [releaseNs, appNs]) if (ns) await deleteNamespace(kc, ns);
  });

  it(
    'leads, publishes the record, issues the certificate (DNS-01) and stops on SIGTERM',
    { timeout: 180_000 },
    async () => {
      releaseNs = await createNamespace(kc, 'image-rel');
      appNs = await createNamespace(kc, 'image-app');
      // The chart's ServiceAccount and RBAC, released into releaseNs, and the files the kubelet
      // would mount for it (a bound token, the API server's CA, the namespace).
      pod = await podIdentityFor(env, releaseNs);
      const saDir = join(pod.identity.root, serviceAccountDir);
      const r53 = labRoute53(env);
      const zone = await createZone(r53, 'image');
      issuer = uniqueName('image');
      await createClusterIssuer(
        kc,
        labIssuer(env, issuer, { solvers: [{ dns01: { route53: { region: env.awsRegion } } }] }),
      );

      const ctr = await container([saPath]);
      // No --kubeconfig: the in-cluster config is the point. Servers on loopback (the host's
      // network), self-checks through the lab DNS.
      const flags = [
        '--metrics-address=127.0.0.1:0',
        '--probe-address=127.0.0.1:0',
        '--solver-address=127.0.0.1:0',
        `--recursive-nameservers=${env.dnsHost}:${env.dnsPort}`,
        `--namespace=${releaseNs}`,
        '--pod-name=image-op',
        `--watch-namespaces=${appNs}`,
        `--domain-filter=${zone.name}`,
        '--owner-id=image',
        '--lease-duration=4s',
      ];
      const logFile = join(env.dir, `${releaseNs}-image-operator.log`);
      op = spawnManaged('certroute-image', 'bash', {
        args: [
          script,
          'buildah',
          'run',
          '--isolation=chroot',
          '--network=host',
          '--user=65532:65532',
          '--cap-drop=ALL',
          `--volume=${saDir}:${saPath}:ro`,
          ...Object.entries(podEnv()).map(([k, v]) => `--env=${k}=${v}`),
          ctr,
          '--',
          ...(config.Entrypoint ?? []),
          ...flags,
        ],
        logFile,
      });

      // A process that exits fails the wait at once, with its log.
      const proc = op;
      const whileRunning = <T>(p: Promise<T>): Promise<T> =>
        Promise.race([
          p,
          proc.exited.then((code): never => {
            const tail = readFileSync(logFile, 'utf8').split('\n').slice(0, 20).join('\n');
            throw new Error(`the operator exited (${code}) under buildah:\n${tail}`);
          }),
        ]);

      // Leader election through the chart's Role, in the release namespace.
      await whileRunning(
        eventually(
          async () =>
            (
              await kc
                .makeApiClient(k8s.CoordinationV1Api)
                .readNamespacedLease({ namespace: releaseNs, name: 'certroute-leader' })
            ).spec?.holderIdentity === 'image-op',
          { timeoutMs: 60_000 },
        ),
      );

      const net = kc.makeApiClient(k8s.NetworkingV1Api);
      const host = `www.${zone.name}`;
      await net.createNamespacedIngress({
        namespace: appNs,
        body: ingress({
          name: 'web',
          namespace: appNs,
          hosts: [host],
          tls: [{ secretName: 'web-tls', hosts: [host] }],
          annotations: { 'certroute.io/dns': 'true', 'certroute.io/issuer': issuer },
        }),
      });
      await writeAddress(net, appNs, 'web', [{ ip: env.ingressAddress }]);

      await whileRunning(
        eventually(
          async () =>
            (await record(r53, zone.id, host, 'A'))?.ResourceRecords?.[0]?.Value ===
            env.ingressAddress,
          { timeoutMs: 45_000 },
        ),
      );
      await eventually(async () =>
        (await eventsFor(kc, appNs, 'web')).some((e) => e.reason === 'RecordPublished'),
      );
      const secret = await whileRunning(
        eventually(
          async () => {
            const s = await kc
              .makeApiClient(k8s.CoreV1Api)
              .readNamespacedSecret({ namespace: appNs, name: 'web-tls' });
            return s.type === 'kubernetes.io/tls' && s;
          },
          { timeoutMs: 90_000 },
        ),
      );
      const leaf = new X509Certificate(Buffer.from(secret.data?.['tls.crt'] ?? '', 'base64'));
      expect(leaf.subjectAltName).toContain(`DNS:${host}`);

      // Its caches came from watch lists, and nothing went wrong on the way.
      const lines = logLines(logFile);
      expect(lines.filter((l) => l.msg === 'cache synced').length).toBeGreaterThanOrEqual(4);
      expect(lines.filter((l) => /watch list/.test(String(l.msg)))).toEqual([]);
      expect(lines.filter((l) => l.level === 'error' || l.level === 'fatal')).toEqual([]);
      expect(rbacDenials(logFile)).toEqual([]);
      expect(op.exitCode).toBeUndefined();

      // SIGTERM to the operator itself, as the kubelet sends it (buildah, sent one, kills its
      // process): it shuts down, and hands its Lease back.
      const node = descendants(op.pid).find((p) => p.comm === 'node');
      expect(node, 'the node process under buildah').toBeDefined();
      process.kill(node?.pid ?? 0, 'SIGTERM');
      await eventually(() => !isAlive(node?.pid ?? 0), { timeoutMs: 15_000 });
      expect(logLines(logFile).some((l) => l.msg === 'shutting down')).toBe(true);
      const lease = await kc
        .makeApiClient(k8s.CoordinationV1Api)
        .readNamespacedLease({ namespace: releaseNs, name: 'certroute-leader' });
      expect(lease.spec?.holderIdentity ?? '').toBe('');
    },
  );
});
