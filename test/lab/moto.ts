import { join } from 'node:path';
import { bin } from './paths.js';
import { freePort, spawnManaged, waitFor, type ManagedProcess } from './process.js';

export interface MotoLab {
  endpoint: string;
  proc: ManagedProcess;
}

/** Seconds moto's ACM keeps a requested certificate PENDING_VALIDATION. */
export const acmValidationWaitS = 6;

/** moto's server mode: one process serving Route53 and ACM (and more) on loopback. */
export async function startMoto(dir: string): Promise<MotoLab> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const proc = spawnManaged('moto', bin.motoPython(), {
    args: ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)],
    logFile: join(dir, 'moto.log'),
    // ACM "validates" a requested certificate this many seconds after the request (moto
    // checks the time only, not the validation CNAMEs): long enough to see it pending.
    env: {
      MOTO_ALLOW_NONEXISTENT_REGION: 'false',
      MOTO_ACM_VALIDATION_WAIT: String(acmValidationWaitS),
    },
  });
  await waitFor('moto server', async () => (await fetch(`${endpoint}/moto-api/data.json`)).ok, {
    proc,
    timeoutMs: 60_000,
  });
  return { endpoint, proc };
}

/** Clears every resource moto holds: a clean slate between benchmark runs. */
export async function resetMoto(endpoint: string): Promise<void> {
  const res = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
  if (!res.ok) throw new Error(`[lab] moto reset failed: ${res.status}`);
}
