import type { Certificate, ClusterIssuer, Solver } from '../api/v1alpha1.js';
import { adviceFor } from './advice.js';
import { condition, issuerKey, type HostView, type Step } from './model.js';
import type { SecretReport } from './inspect.js';
import { covers } from './sources.js';

/** The certificate half of explain: the solver, the order, the Secret or ACM. */
type Authz = NonNullable<NonNullable<Certificate['status']>['order']>['authorizations'][number];

/** The issuer's solver for a host: exact dnsNames beat the longest dnsZones match beat none. */
export function pickSolver(
  solvers: readonly Solver[],
  host: string,
): { index: number; solver: Solver } | undefined {
  const bare = host.replace(/^\*\./, '');
  const scoreOf = (sel: Solver['selector']): number => {
    if (sel?.dnsNames?.includes(host)) return 10_000;
    const zones = (sel?.dnsZones ?? []).filter((z) => bare === z || bare.endsWith(`.${z}`));
    if (zones.length > 0) return Math.max(...zones.map((z) => z.length + 1));
    return !sel || (!sel.dnsNames && !sel.dnsZones) ? 0 : -1;
  };
  let best: { index: number; solver: Solver; score: number } | undefined;
  solvers.forEach((solver, index) => {
    const score = scoreOf(solver.selector);
    if (score >= 0 && (!best || score > best.score)) best = { index, solver, score };
  });
  return best && { index: best.index, solver: best.solver };
}

const solverType = (s: Solver) => (s.http01 ? 'http-01' : 'dns-01');
const noCert = (step: string): Step => ({
  step,
  state: 'skipped',
  detail: 'no certificate asked for (no certroute.io/issuer or TLS entry)',
});
const solverReasons = new Set([
  'NoSolver',
  'WildcardNeedsDNS01',
  'NoZoneForChallenge',
  'Route53RegionMissing',
]);
/** Reasons that hold an order back before it is placed: waiting, not failed. */
const preflight = new Set([
  'WaitingForAddress',
  'WaitingForDNS',
  'SolverUnreachable',
  'SolverRouteNotAccepted',
  'OrderBudgetExhausted',
  'RateLimited',
  'DryRun',
]);

function chosenSolver(
  solvers: NonNullable<ClusterIssuer['spec']['acme']>['solvers'],
  host: string,
  authz: Authz | undefined,
) {
  const i = authz?.solver;
  const fromOrder = i !== undefined ? solvers[i] : undefined;
  return fromOrder && i !== undefined ? { index: i, solver: fromOrder } : pickSolver(solvers, host);
}

function solverStep(v: HostView, c: Certificate, authz: Authz | undefined): Step {
  const failed = [condition(c, 'Ready'), condition(c, 'Issuing')].find((x) =>
    solverReasons.has(x?.reason ?? ''),
  );
  if (failed)
    return {
      step: 'solver',
      state: 'failed',
      detail: failed.message,
      todo: adviceFor(failed.reason),
    };
  const name = `${c.spec.issuerRef.kind ?? 'ClusterIssuer'} ${c.spec.issuerRef.name}`;
  if (!v.issuers.has(issuerKey(c)))
    return { step: 'solver', state: 'unknown', detail: `${name} could not be read` };
  const issuer = v.issuers.get(issuerKey(c));
  if (!issuer)
    return {
      step: 'solver',
      state: 'failed',
      detail: `${name} does not exist`,
      todo: adviceFor('IssuerNotFound'),
    };
  const acme = issuer.spec.acme;
  // A CA or SelfSigned issuer signs in the operator: no challenge, so no solver to choose.
  if (!acme)
    return {
      step: 'solver',
      state: 'passed',
      detail: `${name} signs locally (${issuer.spec.ca ? 'CA' : 'SelfSigned'}): no challenge`,
    };
  const picked = chosenSolver(acme.solvers, v.host, authz);
  return picked
    ? {
        step: 'solver',
        state: 'passed',
        detail: `${name} solver #${picked.index} (${solverType(picked.solver)})`,
      }
    : {
        step: 'solver',
        state: 'failed',
        detail: `no solver of ${name} matches ${v.host}`,
        todo: adviceFor('NoSolver'),
      };
}

function inFlightStep(c: Certificate, authz: Authz | undefined): Step | undefined {
  const o = c.status?.order;
  if (!o) return undefined;
  const challenge = authz?.challenge
    ? `: ${authz.challenge.type} challenge for ${authz.identifier}`
    : '';
  const issuing = condition(c, 'Issuing')?.message;
  return {
    step: 'order',
    state: 'waiting',
    detail: `order in flight since ${o.createdAt}${challenge}${issuing ? ` (${issuing})` : ''}`,
  };
}

function retryHint(c: Certificate): string | undefined {
  const at = c.status?.nextRetryTime;
  return at
    ? `next attempt at ${at}; \`kubectl certroute retry ${c.metadata.name} -n ${c.metadata.namespace}\` tries now`
    : undefined;
}

/** The last attempt failed or is held back: Issuing says why, with the CA's words. */
function failingStep(c: Certificate): Step | undefined {
  const st = c.status ?? {};
  const issuing = condition(c, 'Issuing');
  if (!issuing || ['Issued', 'UpToDate'].includes(issuing.reason)) return undefined;
  const reason = issuing.reason === 'Failed' ? st.lastFailure?.split(':')[0] : issuing.reason;
  const said = st.lastOrder?.result === 'invalid' ? st.lastOrder.message : undefined;
  const detail =
    said && !issuing.message.includes(said)
      ? `${issuing.message}; the CA said: ${said}`
      : issuing.message;
  const todo = [adviceFor(reason), retryHint(c)].filter(Boolean).join('; ');
  return {
    step: 'order',
    state: preflight.has(reason ?? '') ? 'waiting' : 'failed',
    detail,
    ...(todo ? { todo } : {}),
  };
}

function orderStep(c: Certificate, authz: Authz | undefined): Step {
  const found = inFlightStep(c, authz) ?? failingStep(c);
  if (found) return found;
  const st = c.status ?? {};
  const ready = condition(c, 'Ready');
  if (ready?.status === 'True')
    return {
      step: 'order',
      state: 'passed',
      detail: st.lastOrder
        ? `last order ${st.lastOrder.result} at ${st.lastOrder.finishedAt}`
        : 'issued',
    };
  if (ready)
    return {
      step: 'order',
      state: preflight.has(ready.reason) ? 'waiting' : 'failed',
      detail: ready.message,
      todo: adviceFor(ready.reason),
    };
  return {
    step: 'order',
    state: 'waiting',
    detail: `Certificate ${c.metadata.namespace}/${c.metadata.name} has no status yet: is the operator running?`,
  };
}

function acmPart(c: Certificate): Step | undefined {
  if (!c.spec.acm) return undefined;
  const arn = c.status?.acm?.certificateArn;
  return arn
    ? { step: 'secret', state: 'passed', detail: `ACM ${arn}` }
    : {
        step: 'secret',
        state: 'waiting',
        detail: `not yet imported into ACM (${c.spec.acm.region})`,
      };
}

function leafPart(v: HostView, key: string, s: SecretReport): Step {
  const leaf = s.leaf;
  if (!leaf)
    return { step: 'secret', state: 'waiting', detail: `Secret ${key} holds no certificate yet` };
  const covering =
    leaf.sans.some((n) => covers(n, v.host)) && Date.parse(leaf.notAfter) > v.now.getTime();
  if (!covering)
    return {
      step: 'secret',
      state: 'waiting',
      detail: `Secret ${key} does not cover ${v.host} or has expired (${leaf.notAfter})`,
    };
  const mismatch = s.keyMatches === false;
  return {
    step: 'secret',
    state: mismatch ? 'failed' : 'passed',
    detail: `Secret ${key}: valid until ${leaf.notAfter}, issuer ${leaf.issuer}${mismatch ? '; the key does not match the certificate' : ''}`,
  };
}

function secretPart(v: HostView, c: Certificate): Step | undefined {
  if (!c.spec.secretName || (c.spec.acm && !c.spec.acm.writeSecret)) return undefined;
  const key = `${c.metadata.namespace}/${c.spec.secretName}`;
  const s = v.secrets.get(key);
  if (!s || 'unread' in s)
    return {
      step: 'secret',
      state: 'unknown',
      detail: `Secret ${key}: ${s && 'unread' in s ? s.unread : 'not read'}`,
    };
  return leafPart(v, key, s);
}

function secretStep(v: HostView, c: Certificate): Step {
  const parts = [acmPart(c), secretPart(v, c)].filter((p): p is Step => p !== undefined);
  const worst = parts.find((p) => p.state !== 'passed') ?? parts[0];
  if (!worst)
    return {
      step: 'secret',
      state: 'failed',
      detail: 'the Certificate names no target',
      todo: adviceFor('TargetNotSupported'),
    };
  return { ...worst, detail: parts.map((p) => p.detail).join('; ') };
}

export function certSteps(v: HostView): Step[] {
  const c = v.certificates[0];
  if (!c) return [noCert('solver'), noCert('order'), noCert('secret')];
  const bare = v.host.replace(/^\*\./, '');
  const authz = c.status?.order?.authorizations.find(
    (a) => a.identifier === bare || covers(a.identifier, v.host),
  );
  return [solverStep(v, c, authz), orderStep(c, authz), secretStep(v, c)];
}
