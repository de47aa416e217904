import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** A child process the lab started and will stop by PID. */
export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves with the exit code (or null for a signal) once the process has exited. */
  readonly exited: Promise<number | null>;
  /** The exit code once the process has exited (null for a signal), undefined while it runs. */
  readonly exitCode: number | null | undefined;
  stop(): Promise<void>;
}

export interface SpawnOptions {
  args: string[];
  logFile: string;
  env?: Record<string, string | undefined>;
  cwd?: string;
}

export function spawnManaged(name: string, command: string, opts: SpawnOptions): ManagedProcess {
  const log = createWriteStream(opts.logFile, { flags: 'a' });
  const child = spawn(command, opts.args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`[lab] ${name}: failed to start ${command}`);
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      log.end();
      resolve(code);
    });
    child.once('error', () => resolve(-1));
  });
  const pid = child.pid;
  live.add(pid);
  void exited.then(() => live.delete(pid));
  return {
    name,
    pid,
    logFile: opts.logFile,
    exited,
    get exitCode() {
      return child.exitCode ?? (child.signalCode ? null : undefined);
    },
    stop: () => stopPid(pid, exited),
  };
}

/**
 * Every child still running. If the process that started them exits without stopping them
 * (a killed benchmark, a crashed test runner), they are killed on the way out, by PID.
 */
const live = new Set<number>();
process.once('exit', () => {
  for (const pid of live) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
});
// A signal would otherwise end Node without running 'exit' handlers. A program with its own
// handler (the lab CLI stops gracefully) keeps control: this one acts only when it is alone.
for (const [sig, code] of [
  ['SIGTERM', 143],
  ['SIGINT', 130],
  ['SIGHUP', 129],
] as const) {
  process.on(sig, () => {
    if (process.listenerCount(sig) === 1) process.exit(code);
  });
}

/** SIGTERM, then SIGKILL if the process has not gone within the grace period. */
export async function stopPid(
  pid: number,
  exited?: Promise<unknown>,
  graceMs = 5000,
): Promise<void> {
  if (!isAlive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) {
    await Promise.race([exited ?? sleep(50), sleep(50)]);
  }
  if (isAlive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  await Promise.race([exited ?? Promise.resolve(), sleep(2000)]);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A free TCP port on loopback (bound and released; callers use it straight away). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Polls `check` until it returns true. Fails early, with the log tail, if the process dies.
 */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  opts: { timeoutMs?: number; proc?: ManagedProcess; intervalMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  let dead = false;
  void opts.proc?.exited.then(() => {
    dead = true;
  });
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (dead) throw new Error(`[lab] ${what}: process exited; see ${opts.proc?.logFile}`);
    try {
      if (await check()) return;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    await sleep(opts.intervalMs ?? 100);
  }
  // A process that never became ready is still ours to stop.
  await opts.proc?.stop();
  throw new Error(`[lab] timed out waiting for ${what}; see ${opts.proc?.logFile ?? 'logs'}`, {
    cause: lastError,
  });
}
