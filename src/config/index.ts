import { flags, type Config, type FlagSpec } from './flags.js';

export type { Config } from './flags.js';
export { parseDuration } from './flags.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Source = 'flag' | 'env' | 'default';

/**
 * Parses argv (`--name=value`, `--name value`, bare `--bool`) and the environment into one
 * frozen Config. Flags beat environment variables, which beat defaults. Every problem is
 * reported at once, each naming its flag.
 */
export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv): Config {
  const given = parseArgv(argv);
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, spec] of Object.entries(flags) as [string, FlagSpec][]) {
    const [raw, source] = rawValue(spec, given, env);
    const res = spec.schema.safeParse(raw);
    if (res.success) out[key] = res.data;
    else
      problems.push(
        `--${spec.flag} (${describeSource(spec, source)}): ${issueText(res.error, raw)}`,
      );
    given.delete(spec.flag);
  }
  for (const unknown of given.keys()) problems.push(`--${unknown}: unknown flag (see --help)`);
  if (problems.length > 0)
    throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  return Object.freeze(out) as Config;
}

function parseArgv(argv: readonly string[]): Map<string, string> {
  const given = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument "${arg}" (see --help)`);
    const eq = arg.indexOf('=');
    if (eq > 0) {
      given.set(arg.slice(2, eq), arg.slice(eq + 1));
      continue;
    }
    const name = arg.slice(2);
    const next = argv[i + 1];
    if (next !== undefined && !next.startsWith('--')) {
      given.set(name, next);
      i++;
    } else {
      given.set(name, 'true');
    }
  }
  return given;
}

function rawValue(
  spec: FlagSpec,
  given: Map<string, string>,
  env: NodeJS.ProcessEnv,
): [string, Source] {
  const fromFlag = given.get(spec.flag);
  if (fromFlag !== undefined) return [fromFlag, 'flag'];
  const fromEnv = env[spec.env];
  if (fromEnv !== undefined) return [fromEnv, 'env'];
  return [spec.default ?? '', 'default'];
}

function describeSource(spec: FlagSpec, source: Source): string {
  return source === 'env'
    ? `from ${spec.env}`
    : source === 'flag'
      ? 'from the command line'
      : 'default';
}

function issueText(err: { issues: { message: string }[] }, raw: string): string {
  const messages = [...new Set(err.issues.map((i) => i.message))].join('; ');
  return `${messages} (got "${raw}")`;
}

export function helpText(): string {
  const lines = [
    'Usage: certroute [--flag=value ...]',
    '',
    'Every flag can also be set by its environment variable.',
    '',
  ];
  for (const spec of Object.values(flags) as FlagSpec[]) {
    lines.push(`  --${spec.flag}  (${spec.env}, default "${spec.default ?? ''}")`);
    lines.push(`      ${spec.description}`);
  }
  return lines.join('\n');
}
