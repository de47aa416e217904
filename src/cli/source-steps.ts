import type { SourceProblem } from '../dns/endpoints.js';
import { controllerOf } from '../kube/ownership.js';
import { recordsFor, ref, type HostView, type Step } from './model.js';
import { covers, type Claim } from './sources.js';

/** The source half of explain: which source claims the host, and whether it can be served. */

const managing = (v: HostView) => v.claims.filter((c) => c.managed.some((h) => covers(h, v.host)));

/**
 * The claim the host's steps speak of: the one whose DNSEndpoint holds the record, else one
 * that asks a record (a Gateway only asks certificates), else any that manages or names it.
 */
export function primaryClaim(v: HostView): Claim | undefined {
  const all = managing(v);
  const owners = recordsFor(v.host, v.endpoints).map((r) => controllerOf(r.endpoint));
  return (
    all.find((c) => owners.some((o) => o?.kind === c.kind && o.name === c.name)) ??
    all.find((c) => c.kind !== 'Gateway') ??
    all[0] ??
    v.claims.find((c) => c.unmanaged.includes(v.host))
  );
}

/**
 * The problems that keep this host from being served: no Gateway accepted the route (and so
 * no record for it), or none of its listeners allows this hostname.
 */
function blocking(v: HostView, c: Claim): SourceProblem[] {
  const hasRecord = recordsFor(v.host, v.endpoints).length > 0;
  return (c.problems ?? []).filter(
    (p) =>
      (p.reason === 'RouteNotAccepted' && !hasRecord) ||
      (p.reason === 'HostnameNotAllowed' && p.message.includes(`"${v.host}"`)),
  );
}

const routeTodo = (c: Claim) =>
  `its parent Gateway's controller must accept it: read status.parents (kubectl describe ${c.kind.toLowerCase()} -n ${c.namespace} ${c.name}); check its parentRefs and the listener's allowedRoutes`;

function problemStep(v: HostView, c: Claim, problems: SourceProblem[]): Step {
  const whose = c.problemsFrom === 'operator' ? ' (the operator says)' : '';
  const notAllowed = problems.every((p) => p.reason === 'HostnameNotAllowed');
  return {
    step: 'source',
    state: 'failed',
    detail: `${ref(c)} claims ${v.host}, but${whose}: ${problems.map((p) => `${p.reason}: ${p.message}`).join('; ')}`,
    todo: notAllowed
      ? `give a listener of its parent Gateway a hostname matching ${v.host}, or change the route's hostnames`
      : routeTodo(c),
  };
}

/** What to annotate, by kind, when a source names the host and asks for nothing. */
function askTodo(c: Claim): string {
  if (c.kind === 'Gateway')
    return 'annotate it with certroute.io/issuer (a certificate for its listener Secrets); a record comes from a route through it; see docs/annotations.md';
  if (c.kind === 'Service')
    return 'its certroute.io/dns: "false" turns the record off; remove it; see docs/annotations.md';
  if (c.parents)
    return 'annotate it with certroute.io/dns: "true" (a record); its certificate comes from the Gateway (certroute.io/issuer on the Gateway); see docs/annotations.md';
  return 'annotate it with certroute.io/dns: "true" (a record) and/or certroute.io/issuer (a certificate); see docs/annotations.md';
}

export function sourceStep(v: HostView): Step {
  const claims = managing(v);
  const primary = primaryClaim(v);
  if (claims.length > 0 && primary) {
    const problems = blocking(v, primary);
    if (problems.length > 0) return problemStep(v, primary, problems);
    const recordClaims = claims.filter((c) => c.kind !== 'Gateway');
    return {
      step: 'source',
      state: 'passed',
      detail: `${claims.map(ref).join(', ')} claims ${v.host}${recordClaims.length > 1 ? ' (more than one source: the first created wins the record)' : ''}`,
    };
  }
  const naming = v.claims.filter((c) => c.unmanaged.includes(v.host));
  const [first] = naming;
  if (first)
    return {
      step: 'source',
      state: 'failed',
      detail: `${naming.map(ref).join(', ')} names ${v.host} but asks certroute for nothing`,
      todo: askTodo(first),
    };
  return {
    step: 'source',
    state: v.unread.length > 0 ? 'unknown' : 'failed',
    detail: `no source you may read claims ${v.host}${v.unread.length ? ` (${v.unread.join('; ')})` : ''}`,
    todo: 'check the host name and the namespace (-n, or -A for all)',
  };
}
