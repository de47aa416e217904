// The DNS tools the peer benchmark compares, started as their own processes against the lab:
// certroute as the other benchmarks run it (bench/dns.ts), and external-dns v0.23.0 (built by
// scripts/lab-install.sh external-dns) with the Route53 provider and the TXT registry.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { operatorEnv, operatorIdentity } from '../../test/lab/operator.js';
import { componentDirs, repoRoot } from '../../test/lab/paths.js';
import { freePort, spawnManaged, waitFor, type ManagedProcess } from '../../test/lab/process.js';
import type { LabEnv } from '../../test/lab/types.js';
import { operatorArgv, operatorRuntimeEnv } from '../lib.js';

/** The tools (and external-dns's two modes) the benchmark can run. */
export const toolIds = ['certroute', 'external-dns-1m', 'external-dns-events'] as const;
export type ToolId = (typeof toolIds)[number];

/**
 * The tools BENCH_TOOLS asks for: "certroute", "external-dns" (both of its modes), or any
 * ids from toolIds, comma-separated; every tool when unset.
 */
export function selectTools(spec: string | undefined): ToolId[] {
  if (!spec) return [...toolIds];
  const out = new Set<ToolId>();
  for (const word of spec.split(',').map((w) => w.trim())) {
    if (word === 'external-dns') {
      out.add('external-dns-1m');
      out.add('external-dns-events');
    } else if ((toolIds as readonly string[]).includes(word)) out.add(word as ToolId);
    else if (word) throw new Error(`BENCH_TOOLS: unknown tool "${word}" (${toolIds.join(', ')})`);
  }
  return toolIds.filter((t) => out.has(t));
}

export interface LaunchOptions {
  env: LabEnv;
  /** Zones the tool may manage; undefined: no domain filter (every zone in the account). */
  domains: string[] | undefined;
  ownerId: string;
  /** Log file name inside the lab directory. */
  logName: string;
}

export interface RunningTool {
  id: ToolId;
  pid: number;
  /** The process: waits on the tool fail at once if it exits. */
  proc: ManagedProcess;
  /** certroute's or external-dns's Prometheus endpoint. */
  metricsUrl: string;
  /** Resolves once the tool says it is ready (certroute /readyz, external-dns /healthz). */
  ready(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function launch(id: ToolId, opts: LaunchOptions): Promise<RunningTool> {
  const metricsPort = await freePort();
  const probePort = await freePort();
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  const proc =
    id === 'certroute'
      ? startCertroute(opts, metricsPort, probePort, await freePort())
      : startExternalDns(opts, metricsPort, id === 'external-dns-events');
  const readyUrl =
    id === 'certroute'
      ? `http://127.0.0.1:${probePort}/readyz`
      : `http://127.0.0.1:${metricsPort}/healthz`;
  return {
    id,
    pid: proc.pid,
    metricsUrl,
    proc,
    ready: (timeoutMs = 300_000) =>
      waitFor(
        `${id} ready`,
        async () => (await fetch(readyUrl).catch(() => undefined))?.ok === true,
        { timeoutMs, intervalMs: 50, proc },
      ),
    stop: () => proc.stop(),
  };
}

function startCertroute(
  opts: LaunchOptions,
  metricsPort: number,
  probePort: number,
  solverPort: number,
) {
  const { env } = opts;
  return spawnManaged('certroute', process.execPath, {
    args: operatorArgv([
      ...operatorIdentity(env).flags,
      `--metrics-address=127.0.0.1:${metricsPort}`,
      `--probe-address=127.0.0.1:${probePort}`,
      // Its HTTP-01 solver is not used here; a port of its own, off the default (8089), which
      // other operators on the machine may hold.
      `--solver-address=127.0.0.1:${solverPort}`,
      '--leader-election=false',
      `--owner-id=${opts.ownerId}`,
      ...(opts.domains ? [`--domain-filter=${opts.domains.join(',')}`] : []),
    ]),
    logFile: join(env.dir, opts.logName),
    env: {
      ...operatorEnv(env),
      CERTROUTE_LOG_LEVEL: process.env.BENCH_LOG ?? 'warn',
      ...operatorRuntimeEnv(),
    },
  });
}

/** The external-dns binary, built (once, cached) by scripts/lab-install.sh external-dns. */
export function externalDnsBinary(): string {
  const dirs = componentDirs() as unknown as Record<string, string | undefined>;
  const dir = dirs['external-dns'];
  if (!dir) throw new Error('scripts/lab-install.sh --print-dirs does not list external-dns');
  const bin = join(dir, 'bin', 'external-dns');
  if (!existsSync(join(dir, '.complete'))) {
    console.error('[peers] building external-dns (first run only, several minutes)');
    execFileSync('bash', [join(repoRoot, 'scripts', 'lab-install.sh'), 'external-dns'], {
      stdio: 'inherit',
    });
  }
  return bin;
}

function startExternalDns(opts: LaunchOptions, metricsPort: number, events: boolean) {
  const { env } = opts;
  const args = [
    '--source=ingress',
    '--provider=aws',
    '--registry=txt',
    `--txt-owner-id=${opts.ownerId}`,
    '--policy=sync',
    '--aws-zone-type=public',
    ...(opts.domains ?? []).map((d) => `--domain-filter=${d}`),
    `--kubeconfig=${env.kubeconfig}`,
    `--metrics-address=127.0.0.1:${metricsPort}`,
    '--interval=1m',
    ...(events ? ['--events'] : []),
    `--log-level=${process.env.BENCH_EXTERNAL_DNS_LOG ?? 'info'}`,
  ];
  return spawnManaged(events ? 'external-dns-events' : 'external-dns', externalDnsBinary(), {
    args,
    logFile: join(env.dir, opts.logName),
    // The lab's AWS proxy, region and dummy credentials, as certroute gets them; no kubeconfig
    // in the environment (the flag names it), no instance metadata.
    env: {
      AWS_ENDPOINT_URL: env.awsEndpoint,
      AWS_REGION: env.awsRegion,
      AWS_ACCESS_KEY_ID: env.awsAccessKeyId,
      AWS_SECRET_ACCESS_KEY: env.awsSecretAccessKey,
      AWS_EC2_METADATA_DISABLED: 'true',
      KUBECONFIG: undefined,
    },
  });
}
