import type * as k8s from '@kubernetes/client-node';
import type { Certificate, ClusterIssuer, DNSEndpoint } from '../api/v1alpha1.js';
import { renewAnnotation, retryAnnotation } from '../certificates/manual.js';
import type { Parsed } from './args.js';
import {
  crdNames,
  crdStep,
  deploymentStep,
  issuerSteps,
  leaderStep,
  zoneSteps,
  type Found,
} from './check.js';
import { exitCodeOf, explainHost, type Step } from './explain.js';
import { snapshot, hostsOf, viewOf } from './gather.js';
import { inspectSecret, type SecretReport } from './inspect.js';
import { kinds, type Api, type Read } from './kube.js';
import { paint, paintState, serialize, table, type Style } from './render.js';
import { hostStatus, statusHeader, statusRow, type HostStatus } from './status.js';
import type { Claim } from './sources.js';

/** A command's result: what to print and the exit code. */
export interface Result {
  out: string;
  err?: string;
  code: 0 | 1 | 2;
}

function scopeOf(a: Parsed, api: Api, host: boolean): string | undefined {
  if (a.allNamespaces) return undefined;
  if (a.namespace) return a.namespace;
  return host ? undefined : api.namespace;
}

function notes(unread: readonly string[], s: Style): string {
  return unread.length ? `\n${unread.map((u) => paint(s, 'yellow', `note: ${u}`)).join('\n')}` : '';
}

export function stepsTable(steps: readonly Step[], s: Style): string {
  const rows = steps.flatMap((st, i) => [
    [String(i + 1), st.step, paintState(s, st.state), st.detail],
    ...(st.todo && st.state !== 'passed' ? [['', '', '', paint(s, 'bold', `-> ${st.todo}`)]] : []),
  ]);
  return table(['#', 'STEP', 'STATE', 'DETAIL'], rows);
}

/** `[KIND/]NAME`: a source of that kind (case-insensitive; an Ingress when no kind is given). */
function splitSource(arg: string): [string, string] {
  const [kind = '', name = ''] = arg.includes('/') ? arg.split('/', 2) : ['Ingress', arg];
  return [kind, name];
}

function sourceNamed(claims: readonly Claim[], arg: string): Claim | undefined {
  const [kind, name] = splitSource(arg);
  return claims.find((c) => c.kind.toLowerCase() === kind.toLowerCase() && c.name === name);
}

const describeSource = (arg: string) => splitSource(arg).join(' ');

export async function status(api: Api, a: Parsed, s: Style): Promise<Result> {
  const [arg] = a.positionals;
  const isHost = arg !== undefined && arg.includes('.') && !arg.includes('/') && !a.namespace;
  const snap = await snapshot(api, scopeOf(a, api, isHost));
  let hosts = hostsOf(snap);
  if (arg !== undefined) {
    const source = isHost ? undefined : sourceNamed(snap.claims, arg);
    if (!isHost && !source)
      return {
        out: '',
        err: `no ${describeSource(arg)} in namespace ${snap.scope}${notes(snap.unread, s)}`,
        code: 1,
      };
    hosts = source ? [...source.managed] : [arg];
  }
  const rows: HostStatus[] = [];
  for (const h of hosts) rows.push(hostStatus(await viewOf(api, snap, h)));
  const code = rows.every((r) => r.ready) && (rows.length > 0 || arg === undefined) ? 0 : 1;
  if (a.output !== 'table')
    return {
      out: serialize(a.output, { scope: snap.scope, hosts: rows, unread: snap.unread }),
      code,
    };
  if (rows.length === 0) return { out: `no hosts in ${snap.scope}${notes(snap.unread, s)}`, code };
  return { out: `${statusTable(rows, s)}${notes(snap.unread, s)}`, code };
}

function statusTable(rows: readonly HostStatus[], s: Style): string {
  const body = table(
    statusHeader,
    rows.map((r) => {
      const row = statusRow(r);
      row[4] = r.certificate.ready.startsWith('Ready')
        ? paint(s, 'green', row[4] ?? '')
        : r.certificate.ready === '-'
          ? (row[4] ?? '')
          : paint(s, 'red', row[4] ?? '');
      return row;
    }),
  );
  const blocked = rows
    .filter((r) => r.blocked)
    .map((r) => `${r.host}: ${r.blocked?.step} ${r.blocked?.state}: ${r.blocked?.detail}`);
  return `${body}${blocked.length ? `\n\n${blocked.join('\n')}\n(kubectl certroute explain HOST says what to do)` : ''}`;
}

export async function explain(api: Api, a: Parsed, s: Style): Promise<Result> {
  const host = (a.positionals[0] ?? '').toLowerCase().replace(/\.$/, '');
  const snap = await snapshot(api, scopeOf(a, api, true));
  const steps = explainHost(await viewOf(api, snap, host));
  const code = exitCodeOf(steps);
  if (a.output !== 'table')
    return {
      out: serialize(a.output, {
        host,
        scope: snap.scope,
        steps,
        ready: code === 0,
        unread: snap.unread,
      }),
      code,
    };
  return {
    out: `${paint(s, 'bold', host)}\n${stepsTable(steps, s)}${notes(snap.unread, s)}`,
    code,
  };
}

/** A fresh token for a request: the time asked, which is also what people read. */
export const requestToken = (now = new Date()) => now.toISOString();

async function request(api: Api, a: Parsed, annotation: string, what: string): Promise<Result> {
  const ns = a.namespace ?? api.namespace;
  let names = a.positionals.slice(0, 1);
  if (a.all) {
    const l = await api.list<Certificate>(kinds.certificate, ns);
    if (!l.ok) return { out: '', err: l.why, code: 1 };
    names = l.items.map((c) => c.metadata.name ?? '');
  }
  const token = requestToken();
  const lines: string[] = [];
  let failed = false;
  for (const name of names) {
    const r = await api.annotate(kinds.certificate, name, ns, { [annotation]: token });
    if (r.ok) lines.push(`Certificate ${ns}/${name}: ${what} requested (${annotation}=${token})`);
    else {
      failed = true;
      lines.push(`Certificate ${ns}/${name}: ${r.notFound ? 'not found' : r.why}`);
    }
  }
  if (names.length === 0) lines.push(`no Certificates in namespace ${ns}`);
  return { out: lines.join('\n'), code: failed ? 1 : 0 };
}

export const renew = (api: Api, a: Parsed) => request(api, a, renewAnnotation, 'renewal');
export const retry = (api: Api, a: Parsed) => request(api, a, retryAnnotation, 'retry');

export function secretTable(r: SecretReport, s: Style): string {
  const lines = [
    `Secret ${r.namespace}/${r.name} (${r.type})${r.certificate ? `, written for Certificate ${r.certificate}` : ''}`,
    r.leaf ? `SANs:      ${r.leaf.sans.join(', ')}` : 'SANs:      -',
    r.leaf ? `valid:     ${r.leaf.notBefore} .. ${r.leaf.notAfter}` : 'valid:     -',
    `key:       ${r.keyType ?? '-'}; ${r.keyMatches === undefined ? 'not checked' : r.keyMatches ? paint(s, 'green', 'matches the certificate') : paint(s, 'red', 'does NOT match the certificate')}`,
    `in flight: ${r.inFlight ?? 'nothing: no newer certificate is being ordered'}`,
    'chain:',
    table(
      ['#', 'SUBJECT', 'ISSUER', 'NOT AFTER', 'KEY'],
      r.chain.map((c, i) => [String(i), c.subject, c.issuer, c.notAfter, c.keyType]),
    ),
    ...r.problems.map((p) => paint(s, 'red', `problem: ${p}`)),
  ];
  return lines.join('\n');
}

export async function inspect(api: Api, a: Parsed, s: Style): Promise<Result> {
  const ns = a.namespace ?? api.namespace;
  const name = a.positionals[1] ?? '';
  const r = await api.get<k8s.V1Secret>(kinds.secret, name, ns);
  if (!r.ok) return { out: '', err: r.why, code: 1 };
  const owner = r.item.metadata?.annotations?.['certroute.io/certificate-name'];
  const cert = owner ? await api.get<Certificate>(kinds.certificate, owner, ns) : undefined;
  const report = inspectSecret(r.item, cert?.ok ? cert.item : undefined);
  const unread =
    cert && !cert.ok && !cert.notFound
      ? [`${cert.why}: cannot tell whether a newer certificate is in flight`]
      : [];
  const code = report.problems.length === 0 && report.keyMatches === true ? 0 : 1;
  if (a.output !== 'table') return { out: serialize(a.output, { ...report, unread }), code };
  return { out: `${secretTable(report, s)}${notes(unread, s)}`, code };
}

const found = <T>(r: Read<T>): Found<T[]> =>
  r.ok ? { ok: true, value: r.items } : { ok: false, why: r.why };

export async function check(api: Api, a: Parsed, s: Style, now = new Date()): Promise<Result> {
  const steps: Step[] = [];
  for (const name of crdNames) {
    const r = await api.get(kinds.crd, name);
    steps.push(
      crdStep(
        name,
        r.ok
          ? { ok: true, value: r.item }
          : { ok: false, why: r.why, ...(r.notFound ? { notFound: true } : {}) },
      ),
    );
  }
  const ns = a.operatorNamespace;
  const lease = await api.get<k8s.V1Lease>(kinds.lease, 'certroute-leader', ns);
  steps.push(
    leaderStep(
      ns,
      lease.ok
        ? { ok: true, value: lease.item }
        : { ok: false, why: lease.why, ...(lease.notFound ? { notFound: true } : {}) },
      now,
    ),
  );
  const deps = await api.list<k8s.V1Deployment>(
    kinds.deployment,
    ns,
    'app.kubernetes.io/name=certroute',
  );
  steps.push(deploymentStep(ns, found(deps)));
  steps.push(
    ...issuerSteps('ClusterIssuer', found(await api.list<ClusterIssuer>(kinds.clusterIssuer))),
  );
  const scope = a.namespace;
  const issuers = await api.list<ClusterIssuer>(kinds.issuer, scope);
  if (!issuers.ok || issuers.items.length > 0) steps.push(...issuerSteps('Issuer', found(issuers)));
  steps.push(...zoneSteps(found(await api.list<DNSEndpoint>(kinds.dnsEndpoint, scope))));
  const code = exitCodeOf(steps.filter((x) => x.state !== 'unknown'));
  if (a.output !== 'table') return { out: serialize(a.output, { steps, ready: code === 0 }), code };
  return { out: stepsTable(steps, s), code };
}
