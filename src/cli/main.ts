import { parse, usage, type CommandName, type Parsed } from './args.js';
import { check, explain, inspect, renew, retry, status, type Result } from './commands.js';
import { completion } from './completion.js';
import { kubeApi, loadKubeConfig, UsageError, type Api } from './kube.js';
import { useColour } from './render.js';

/**
 * kubectl-certroute: status, explain, renew, retry, inspect secret, check, completion. It reads
 * the API with the user's kubeconfig and rights; it never calls AWS or the CA (ADR 0030).
 */
const commands = { status, explain, renew, retry, inspect, check } as const;

/** help, --help and completion: no kubeconfig needed. */
function offline(a: Parsed): Result | undefined {
  if (a.command === 'help') {
    const topic = a.positionals[0];
    return { out: topic && topic in usage ? usage[topic as CommandName] : usage.help, code: 0 };
  }
  if (a.help) return { out: usage[a.command], code: 0 };
  if (a.command === 'completion')
    return { out: completion(a.positionals[0] === 'zsh' ? 'zsh' : 'bash'), code: 0 };
  return undefined;
}

export async function run(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  isTTY: boolean | undefined,
): Promise<Result> {
  const p = parse(argv);
  if (!p.ok)
    return { out: '', err: `error: ${p.message}\n\n${usage[p.command ?? 'help']}`, code: 2 };
  const a = p.args;
  const done = offline(a);
  if (done) return done;
  let api: Api;
  try {
    const o = { kubeconfig: a.kubeconfig, context: a.context };
    api = kubeApi(loadKubeConfig(o));
  } catch (err) {
    const code = err instanceof UsageError ? 2 : 1;
    return { out: '', err: `error: ${(err as Error).message}`, code };
  }
  const command = commands[a.command as keyof typeof commands];
  return command(api, a, { colour: useColour(isTTY, env) });
}

const isMain =
  process.argv[1] !== undefined && /(main\.[cm]?[jt]s|cli\.mjs|certroute)$/.test(process.argv[1]);
if (isMain)
  run(process.argv.slice(2), process.env, process.stdout.isTTY).then(
    (r) => {
      if (r.out) process.stdout.write(`${r.out}\n`);
      if (r.err) process.stderr.write(`${r.err}\n`);
      process.exitCode = r.code;
    },
    (err: unknown) => {
      process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
