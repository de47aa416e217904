import { waitFor } from '../test/lab/process.js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from '../test/lab/paths.js';

/**
 * The operator's command line as the image runs it: node, the V8 flags of the Dockerfile's
 * ENTRYPOINT (or BENCH_OPERATOR_NODE_FLAGS; empty for none), the bundle (or
 * BENCH_OPERATOR_BUNDLE, to compare builds), then `args`.
 */
export function operatorArgv(args: string[]): string[] {
  return [...imageNodeFlags(), operatorBundle(), ...args];
}

function operatorBundle(): string {
  return process.env.BENCH_OPERATOR_BUNDLE ?? join(repoRoot, 'dist', 'main.cjs');
}

/** The node flags of the image's ENTRYPOINT ["node", <flags>…, "dist/main.cjs"]. */
export function imageNodeFlags(): string[] {
  const override = process.env.BENCH_OPERATOR_NODE_FLAGS;
  if (override !== undefined) return override.split(/\s+/).filter(Boolean);
  const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
  const entry = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1];
  const argv = entry ? (JSON.parse(entry) as string[]) : [];
  return argv.slice(1, argv.indexOf('dist/main.cjs'));
}

/**
 * The operator's runtime environment as a default install has it: NODE_OPTIONS from the chart,
 * the allocator settings and the warmed compile cache from the image.
 */
export function operatorRuntimeEnv(): Record<string, string> {
  return { NODE_OPTIONS: operatorNodeOptions(), ...imageMallocEnv(), ...imageCompileCacheEnv() };
}

let compileCache: string | undefined;

/**
 * NODE_COMPILE_CACHE as the image has it (when the Dockerfile sets it): a cache directory
 * warmed for the bundle under benchmark by the image's own script, once per benchmark run.
 * BENCH_COMPILE_CACHE=0 leaves it out, to compare.
 */
export function imageCompileCacheEnv(): Record<string, string> {
  const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
  if (process.env.BENCH_COMPILE_CACHE === '0' || !/^ENV NODE_COMPILE_CACHE=/m.test(dockerfile))
    return {};
  if (!compileCache) {
    const dir = mkdtempSync(join(tmpdir(), 'certroute-bench-cache-'));
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    const script = join(repoRoot, 'scripts', 'warm-compile-cache.mjs');
    execFileSync(process.execPath, [script, operatorBundle(), dir], { stdio: 'inherit' });
    compileCache = dir;
  }
  return { NODE_COMPILE_CACHE: compileCache };
}

/** The MALLOC_* variables the image sets (the Dockerfile's `ENV MALLOC_…=` lines). */
export function imageMallocEnv(): Record<string, string> {
  const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
  const env: Record<string, string> = {};
  for (const m of dockerfile.matchAll(/^ENV (MALLOC_[A-Z_]+)=(\S+)$/gm))
    env[m[1] ?? ''] = m[2] ?? '';
  return env;
}

/**
 * NODE_OPTIONS for the operator under benchmark: the Helm chart's default (values.yaml
 * `nodeOptions`), so benchmarks measure what a default install runs, unless
 * BENCH_OPERATOR_NODE_OPTIONS says otherwise (set it empty for V8's defaults).
 */
export function operatorNodeOptions(): string {
  const override = process.env.BENCH_OPERATOR_NODE_OPTIONS;
  if (override !== undefined) return override;
  const values = parse(
    readFileSync(join(repoRoot, 'charts', 'certroute', 'values.yaml'), 'utf8'),
  ) as { nodeOptions?: string };
  return values.nodeOptions ?? '';
}

/**
 * CPU time (user + system) a process has used so far, in ms, from /proc/<pid>/stat. Start-up
 * time on a shared machine also waits on the API server; this is certroute's own part.
 */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start at ") ".
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

/** Runs `fn` over items with at most `n` in flight. */
export async function pool<T>(
  items: T[],
  n: number,
  fn: (t: T) => Promise<unknown>,
): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (i < items.length) await fn(items[i++] as T);
    }),
  );
}

export function rssKb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0);
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus text exposition into samples. */
export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1] ?? ''] = l[2] ?? '';
    out.push({ name: m[1] ?? '', labels, value: Number(m[4]) });
  }
  return out;
}

export async function scrape(url: string): Promise<Sample[]> {
  return parseMetrics(await (await fetch(url)).text());
}

export function sum(samples: Sample[], name: string, match: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((n, s) => n + s.value, 0);
}

/** Bucket counts of `after` minus `before`: the histogram of what happened in between. */
export function histogramDelta(after: Sample[], before: Sample[], name: string): Sample[] {
  const key = (x: Sample) => `${x.name}|${x.labels.le ?? ''}`;
  const prior = new Map(
    before.filter((x) => x.name === `${name}_bucket`).map((x) => [key(x), x.value]),
  );
  return after
    .filter((x) => x.name === `${name}_bucket`)
    .map((x) => ({ ...x, value: x.value - (prior.get(key(x)) ?? 0) }));
}

/** A quantile from a Prometheus histogram, interpolating linearly inside the bucket. */
export function histogramQuantile(samples: Sample[], name: string, q: number): number {
  const buckets = samples
    .filter((s) => s.name === `${name}_bucket`)
    .map((s) => ({ le: s.labels.le === '+Inf' ? Infinity : Number(s.labels.le), count: s.value }))
    .sort((a, b) => a.le - b.le);
  const total = buckets.at(-1)?.count ?? 0;
  if (total === 0) return NaN;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of buckets) {
    if (b.count >= rank) {
      if (b.le === Infinity) return prevLe;
      return prevLe + ((b.le - prevLe) * (rank - prevCount)) / Math.max(1, b.count - prevCount);
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe;
}

/** The lab's poller (test/lab/process.ts) with the benchmarks' longer defaults. */
export function waitUntil(
  what: string,
  fn: () => Promise<boolean>,
  timeoutMs = 300_000,
  intervalMs = 200,
): Promise<void> {
  return waitFor(what, fn, { timeoutMs, intervalMs });
}

/**
 * What a benchmark phase cost the CA, from Pebble's log: orders placed per certificate issued
 * and failed validations. Both must be 1.0 and 0 (issue 22); anything else is `wasted`, and the
 * benchmark exits non-zero so nobody reads its timings as a success.
 */
export interface OrderAccount {
  ordersPlaced: number;
  certificatesIssued: number;
  ordersPerCertificate: number | null;
  failedValidations: number;
  wasted: boolean;
}

export function orderAccount(
  orders: number,
  issued: number,
  failedValidations: number,
): OrderAccount {
  const perCert = issued > 0 ? Math.round((orders / issued) * 1000) / 1000 : null;
  const wasted = failedValidations > 0 || (issued > 0 ? orders !== issued : orders > 0);
  if (wasted) process.exitCode = 1;
  return {
    ordersPlaced: orders,
    certificatesIssued: issued,
    ordersPerCertificate: perCert,
    failedValidations,
    wasted,
  };
}
