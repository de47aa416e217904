import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Format } from './render.js';

/** The command line, pure: argv in, a command and its options out, or a usage error. */
export const commandNames = [
  'status',
  'explain',
  'renew',
  'retry',
  'inspect',
  'check',
  'completion',
  'help',
] as const;
export type CommandName = (typeof commandNames)[number];

export interface Parsed {
  command: CommandName;
  positionals: string[];
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  allNamespaces: boolean;
  output: Format;
  all: boolean;
  operatorNamespace: string;
  help: boolean;
}

export type ParseResult =
  { ok: true; args: Parsed } | { ok: false; message: string; command?: CommandName };

const common = {
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  namespace: { type: 'string', short: 'n' },
  'all-namespaces': { type: 'boolean', short: 'A' },
  output: { type: 'string', short: 'o' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

const extra: Partial<Record<CommandName, ParseArgsConfig['options']>> = {
  renew: { all: { type: 'boolean' } },
  check: { 'operator-namespace': { type: 'string' } },
};

/** Positionals each command takes: [min, max]. */
const arity: Record<CommandName, [number, number]> = {
  status: [0, 1],
  explain: [1, 1],
  renew: [0, 1],
  retry: [1, 1],
  inspect: [2, 2],
  check: [0, 0],
  completion: [1, 1],
  help: [0, 1],
};

export const usage: Record<CommandName, string> = {
  status: `Usage: kubectl certroute status [HOST | [KIND/]NAME] [-n NS | -A] [-o table|json|yaml]

One line per host: its record (type, targets, state, owner), its certificate (Ready, notAfter,
renewal time or ARI window, the order step in flight), its issuer and the DomainPolicy verdict.
  status                 every host in the context's namespace
  status HOST            that host, wherever you may read it
  status -n NS INGRESS   the hosts of one Ingress
  status -n NS KIND/NAME the hosts of one source of another kind (httproute/web, service/db,
                         grpcroute/x, tlsroute/x, gateway/public)
  status -A              every host in every namespace`,
  explain: `Usage: kubectl certroute explain HOST [-n NS] [-o table|json|yaml]

The decision trail for one host, one line per step, each passed, failed, waiting, unknown
(you may not read what it needs) or skipped (does not apply), with what to do: the source that
claims it, the DomainPolicy, the zone, the owner TXT, the source's address, the record, the
solver, the order (with the CA's own error), the Secret or ACM.`,
  renew: `Usage: kubectl certroute renew CERTIFICATE [-n NS]
       kubectl certroute renew --all [-n NS]

Asks the operator to renew now: sets the annotation certroute.io/renew on the Certificate (the
value is a fresh token; the operator acts on each token once and records it in
status.requests.renew). Needs patch on certificates.certroute.io.`,
  retry: `Usage: kubectl certroute retry CERTIFICATE [-n NS]

Ends the backoff after failed orders: sets certroute.io/retry; the operator resets
failedAttempts and orders now if a backoff was running.`,
  inspect: `Usage: kubectl certroute inspect secret NAME [-n NS] [-o table|json|yaml]

What a kubernetes.io/tls Secret holds: the chain, SANs, validity, key type, whether the key
matches the certificate, and whether a newer certificate is in flight.`,
  check: `Usage: kubectl certroute check [--operator-namespace NS] [-o table|json|yaml]

A preflight: the CRDs are installed, the operator has a leader (Lease certroute-leader in
--operator-namespace, default certroute) and its Deployment is Ready, each issuer has an ACME
account, and each zone is reachable as the operator reports it (DNSEndpoint status).`,
  completion: `Usage: kubectl certroute completion bash|zsh

Prints a completion script, e.g.  source <(kubectl certroute completion bash)`,
  help: `Usage: kubectl certroute COMMAND [options]

Commands:
  status     one line per host: record, certificate, issuer, policy
  explain    the decision trail of one host, step by step
  renew      renew a Certificate now (or --all in a namespace)
  retry      end a Certificate's backoff after failed orders
  inspect    inspect secret NAME: chain, SANs, validity, key
  check      preflight: CRDs, operator and leader, issuers, zones
  completion bash|zsh

Options for every command:
  --kubeconfig FILE   kubeconfig (default: $KUBECONFIG, then ~/.kube/config)
  --context NAME      context in the kubeconfig
  -n, --namespace NS  namespace (default: the context's)
  -A, --all-namespaces
  -o, --output FMT    table (default), json or yaml
  -h, --help          help for a command

Exit codes: 0 all good, 1 something is not ready (or a read or write failed), 2 usage.`,
};

export function parse(argv: readonly string[]): ParseResult {
  const [first, ...rest] = argv;
  if (first === undefined || first === '-h' || first === '--help')
    return { ok: true, args: defaults('help', []) };
  if (!(commandNames as readonly string[]).includes(first))
    return { ok: false, message: `unknown command "${first}"` };
  const command = first as CommandName;
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...rest],
      options: { ...common, ...extra[command] },
      allowPositionals: true,
      strict: true,
    }));
  } catch (err) {
    return { ok: false, command, message: (err as Error).message };
  }
  const args = defaults(command, positionals);
  if (values.help) return { ok: true, args: { ...args, help: true } };
  const output = (values.output as string | undefined) ?? 'table';
  if (output !== 'table' && output !== 'json' && output !== 'yaml')
    return { ok: false, command, message: `-o must be table, json or yaml, not "${output}"` };
  const str = (k: string) => (typeof values[k] === 'string' ? values[k] : undefined);
  const given = {
    kubeconfig: str('kubeconfig'),
    context: str('context'),
    namespace: str('namespace'),
    operatorNamespace: str('operator-namespace'),
  };
  for (const [k, v] of Object.entries(given)) if (v !== undefined) Object.assign(args, { [k]: v });
  Object.assign(args, {
    output,
    allNamespaces: values['all-namespaces'] === true,
    all: values.all === true,
  });
  const problem = validate(args);
  return problem ? { ok: false, command, message: problem } : { ok: true, args };
}

/** What is wrong with a parsed command line, if anything. */
function validate(a: Parsed): string | undefined {
  const n = a.positionals.length;
  const [min, max] = arity[a.command];
  if (a.command === 'renew' && a.all === (n === 1))
    return 'give a Certificate name or --all, not both';
  if (n < min || n > max)
    return `expected ${min === max ? min : `${min} to ${max}`} argument(s), got ${n}`;
  if (a.command === 'inspect' && a.positionals[0] !== 'secret')
    return 'only "inspect secret NAME" exists';
  if (a.command === 'completion' && !['bash', 'zsh'].includes(a.positionals[0] ?? ''))
    return 'completion takes bash or zsh';
  if (a.namespace && a.allNamespaces) return '-n and -A exclude each other';
  return undefined;
}

function defaults(command: CommandName, positionals: string[]): Parsed {
  return {
    command,
    positionals,
    allNamespaces: false,
    output: 'table',
    all: false,
    operatorNamespace: 'certroute',
    help: false,
  };
}
