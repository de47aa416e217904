import type { TestProject } from 'vitest/node';
import { startLab, type Lab } from './lab.js';
import { labNetnsNames } from './netns.js';
import { operatorIdentity } from './operator.js';
import { isAlive } from './process.js';
import type { LabEnv } from './types.js';

declare module 'vitest' {
  export interface ProvidedContext {
    lab: LabEnv;
  }
}

let lab: Lab | undefined;

/** One lab for the whole integration run; test files isolate themselves by namespace and zone. */
export async function setup(project: TestProject): Promise<void> {
  const t0 = Date.now();
  lab = await startLab({ log: (m) => console.log(`[lab] ${m}`) });
  console.log(`[lab] up in ${Date.now() - t0} ms (${lab.env.dir})`);
  console.log(`[lab] operators run with the ${operatorIdentity(lab.env).describe}`);
  project.provide('lab', lab.env);
}

export async function teardown(): Promise<void> {
  if (!lab) return;
  const pids = lab.pids();
  const netns = lab.env.netns;
  await lab.stop();
  const leaked = pids.filter(isAlive);
  if (leaked.length > 0)
    throw new Error(`[lab] processes still running after stop: ${leaked.join(' ')}`);
  if (labNetnsNames().includes(netns))
    throw new Error(`[lab] network namespace ${netns} still there after stop`);
}
