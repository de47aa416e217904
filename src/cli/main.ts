import { parse, usage } from './args.js';
import { check, explain, inspect, renew, retry, status, type Result } from './commands.js';
import { completion } from './completion.js';
import { kubeApi, loadKubeConfig, UsageError } from './kube.js';
import { useColour } from './render.js';

/**
 * kubectl-certroute: status, explain, renew, retry, inspect secret, check, completion. It reads
 * the API with the user's kubeconfig and rights; it never calls AWS or the CA (ADR 0030).
 */
export async function run(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  isTTY: boolean | undefined,
): Promise<Result> {
  const p = parse(argv);
  if (!p.ok)
    return { out: '', err: `error: ${p.message}\n\n${usage[p.command ?? 'help']}`, code: 2 };
  const a = p.args;
  if (a.command === 'help') {
    const topic = a.positionals[0];
    return topic && topic in usage
      ? { out: usage[topic as keyof typeof usage], code: 0 }
      : { out: usage.help, code: 0 };
  }
  if (a.help) return { out: usage[a.command], code: 0 };
  if (a.command === 'completion')
    return { out: completion(a.positionals[0] === 'zsh' ? 'zsh' : 'bash'), code: 0 };
  const style = { colour: useColour(isTTY, env) };
  let api;
  try {
    api = kubeApi(
      loadKubeConfig({
        ...(a.kubeconfig ? { kubeconfig: a.kubeconfig } : {}),
        ...(a.context ? { context: a.context } : {}),
      }),
    );
  } catch (err) {
    return {
      out: '',
      err: `error: ${(err as Error).message}`,
      code: err instanceof UsageError ? 2 : 1,
    };
  }
  switch (a.command) {
    case 'status':
      return status(api, a, style);
    case 'explain':
      return explain(api, a, style);
    case 'renew':
      return renew(api, a);
    case 'retry':
      return retry(api, a);
    case 'inspect':
      return inspect(api, a, style);
    case 'check':
      return check(api, a, style);
  }
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
