// kubectl certroute as the lab tests run it: the bundle (scripts/bundle.mjs) built into a
// directory of the test's own, then run as a user runs it, in its own process with only
// PATH and KUBECONFIG (no terminal, so no colour).
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Explained {
  steps: { step: string; state: string; detail: string; todo?: string }[];
  ready: boolean;
}

export const stepOf = (e: Explained, step: string) => e.steps.find((s) => s.step === step);

export interface LabCli {
  run(...args: string[]): Promise<Run>;
  /** `-o json`, parsed; throws with the output when it is not JSON. */
  json<T>(...args: string[]): Promise<{ code: number | null; body: T }>;
  /** Removes the bundle's directory. */
  remove(): void;
}

/** Builds the CLI bundle into a temporary directory; `prefix` names the directory. */
export function buildCli(kubeconfig: string, prefix: string): LabCli {
  const out = mkdtempSync(join(tmpdir(), prefix));
  const built = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'bundle.mjs'), out], {
    encoding: 'utf8',
  });
  if (built.status !== 0) throw new Error(`the CLI bundle did not build: ${built.stderr}`);
  const cli = join(out, 'cli.mjs');
  const run = (...args: string[]): Promise<Run> =>
    new Promise((resolve) => {
      execFile(
        cli,
        args,
        { env: { PATH: process.env.PATH ?? '', KUBECONFIG: kubeconfig }, timeout: 60_000 },
        (err, stdout, stderr) => {
          const code = err ? ((err as { code?: number }).code ?? null) : 0;
          resolve({ code: typeof code === 'number' ? code : null, stdout, stderr });
        },
      );
    });
  return {
    run,
    async json<T>(...args: string[]) {
      const r = await run(...args, '-o', 'json');
      try {
        return { code: r.code, body: JSON.parse(r.stdout) as T };
      } catch {
        throw new Error(`not JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
      }
    },
    remove: () => rmSync(out, { recursive: true, force: true }),
  };
}
