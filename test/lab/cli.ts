/**
 * npm run lab -- up|down|env
 *   up    start the lab in the background (once) and print its environment
 *   env   print the environment of the running lab, as shell exports
 *   down  stop everything `up` started, by PID
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startLab } from './lab.js';
import { deleteNetns } from './netns.js';
import { repoRoot } from './paths.js';
import { isAlive, stopPid } from './process.js';
import { labEnvVars, type LabEnv } from './types.js';

interface State {
  servePid: number;
  pids: number[];
  env: LabEnv;
}

const stateDir = join(repoRoot, '.lab');
const stateFile = join(stateDir, 'current.json');

function readState(): State | undefined {
  if (!existsSync(stateFile)) return undefined;
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as State;
  return isAlive(state.servePid) ? state : undefined;
}

function printEnv(env: LabEnv): void {
  for (const [k, v] of Object.entries(labEnvVars(env))) console.log(`export ${k}=${v}`);
  console.log(`# logs: ${env.dir}`);
  console.log(`# kubectl --kubeconfig ${env.kubeconfig} get ns`);
  console.log(`# aws --endpoint-url ${env.awsEndpoint} route53 list-hosted-zones`);
  console.log(`# dig @${env.dnsHost} -p ${env.dnsPort} <name>`);
  console.log(
    `# Traefik (class ${env.ingressClass}): curl -H 'Host: <host>' http://${env.ingressAddress}:${env.http01Port}/`,
  );
  console.log(`# its logs: ${env.dir}/traefik.log, ${env.dir}/traefik-access.log`);
  console.log(`# the network namespace it runs in: ip netns exec ${env.netns} ip address`);
}

async function up(): Promise<void> {
  const running = readState();
  if (running) return printEnv(running.env);
  mkdirSync(stateDir, { recursive: true });
  const logFile = join(stateDir, 'serve.log');
  const out = openSync(logFile, 'w');
  const tsx = join(repoRoot, 'node_modules', '.bin', 'tsx');
  const child = spawn(tsx, [join(repoRoot, 'test', 'lab', 'cli.ts'), 'serve'], {
    detached: true,
    stdio: ['ignore', out, out],
  });
  child.unref();
  process.stderr.write('[lab] starting in the background\n');
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    const state = readState();
    if (state) return printEnv(state.env);
    if (child.pid !== undefined && !isAlive(child.pid)) break;
    await sleep(250);
  }
  throw new Error(`[lab] did not come up; see ${logFile}:\n${readFileSync(logFile, 'utf8')}`);
}

async function serve(): Promise<void> {
  const lab = await startLab({ log: (m) => console.log(`[lab] ${m}`) });
  writeFileSync(
    stateFile,
    JSON.stringify({ servePid: process.pid, pids: lab.pids(), env: lab.env }),
  );
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('[lab] stopping');
    await lab.stop();
    rmSync(stateFile, { force: true });
    process.exit(0);
  };
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => void stop());
}

async function down(): Promise<void> {
  if (!existsSync(stateFile)) {
    console.log('[lab] not running');
    return;
  }
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as State;
  await stopPid(state.servePid, undefined, 20_000);
  // If the serve process died without cleaning up, its children are still ours to stop.
  for (const pid of state.pids) await stopPid(pid);
  // Likewise its network namespace (a no-op when the serve process removed it).
  deleteNetns(state.env.netns);
  rmSync(stateFile, { force: true });
  console.log('[lab] stopped');
}

async function main(): Promise<void> {
  const cmd = process.argv[2];
  switch (cmd) {
    case 'up':
      return up();
    case 'serve':
      return serve();
    case 'down':
      return down();
    case 'env': {
      const state = readState();
      if (!state) throw new Error('[lab] not running; start it with: npm run lab -- up');
      return printEnv(state.env);
    }
    default:
      console.error('usage: npm run lab -- up|down|env');
      process.exitCode = 2;
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
