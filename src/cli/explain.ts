import type { Certificate, ClusterIssuer, DNSEndpoint, Solver } from '../api/v1alpha1.js';
import {
  checkCertificate,
  checkRecord,
  type CompiledPolicy,
  type NamespaceInfo,
} from '../tenancy/policy.js';
import { adviceFor } from './advice.js';
import type { SecretReport } from './inspect.js';
import { covers, type Claim } from './sources.js';

/**
 * `explain HOST`, pure: what was read about one host in, the decision trail out. Each step is
 * passed, failed or waiting (or unknown: the user may not read what it needs; skipped: it does
 * not apply), with what to do.
 */
export type StepState = 'passed' | 'failed' | 'waiting' | 'unknown' | 'skipped';

export interface Step {
  step: string;
  state: StepState;
  detail: string;
  todo?: string;
}

export type EndpointRecord = NonNullable<NonNullable<DNSEndpoint['status']>['endpoints']>[number];

export interface HostView {
  host: string;
  claims: Claim[];
  /** DNSEndpoints with a record for the host. */
  endpoints: DNSEndpoint[];
  /** Certificates covering the host. */
  certificates: Certificate[];
  /** DomainPolicies, compiled; undefined when they could not be read. */
  policies?: CompiledPolicy[];
  /** The namespace of the source, with its labels, when it could be read. */
  namespace?: NamespaceInfo;
  /** Issuers by "Kind/namespace/name" (namespace empty for a ClusterIssuer). */
  issuers: Map<string, ClusterIssuer | undefined>;
  /** The Secret of each certificate, by "namespace/name", as inspect read it. */
  secrets: Map<string, SecretReport | { unread: string }>;
  /** What could not be read at all. */
  unread: string[];
  now: Date;
}

export function issuerKey(c: Certificate): string {
  const kind = c.spec.issuerRef.kind ?? 'ClusterIssuer';
  return `${kind}/${kind === 'Issuer' ? (c.metadata.namespace ?? '') : ''}/${c.spec.issuerRef.name}`;
}

export function recordsFor(host: string, endpoints: readonly DNSEndpoint[]) {
  return endpoints.flatMap((e) =>
    (e.spec.endpoints ?? [])
      .filter((r) => r.dnsName === host)
      .map((spec) => ({
        endpoint: e,
        spec,
        status: e.status?.endpoints?.find(
          (s) =>
            s.dnsName === host && (s.recordType === (spec.recordType ?? '') || !spec.recordType),
        ),
      })),
  );
}

function condition(c: Certificate | undefined, type: string) {
  return c?.status?.conditions?.find((x) => x.type === type);
}

const ref = (o: { kind: string; namespace?: string; name: string }) =>
  `${o.kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name}`;

function sourceStep(v: HostView): Step {
  const managing = v.claims.filter((c) => c.managed.some((h) => covers(h, v.host)));
  if (managing.length > 0)
    return {
      step: 'source',
      state: 'passed',
      detail: `${managing.map(ref).join(', ')} claims ${v.host}${managing.length > 1 ? ' (more than one source: the first created wins the record)' : ''}`,
    };
  const naming = v.claims.filter((c) => c.unmanaged.includes(v.host));
  if (naming.length > 0)
    return {
      step: 'source',
      state: 'failed',
      detail: `${naming.map(ref).join(', ')} names ${v.host} but asks certroute for nothing`,
      todo: 'annotate it with certroute.io/dns: "true" (a record) and/or certroute.io/issuer (a certificate); see docs/annotations.md',
    };
  return {
    step: 'source',
    state: v.unread.length > 0 ? 'unknown' : 'failed',
    detail: `no source you may read claims ${v.host}${v.unread.length ? ` (${v.unread.join('; ')})` : ''}`,
    todo: 'check the host name and the namespace (-n, or -A for all)',
  };
}

function policyStep(v: HostView): Step {
  const denied = recordsFor(v.host, v.endpoints).find((r) => r.status?.state === 'Denied');
  if (denied)
    return {
      step: 'policy',
      state: 'failed',
      detail: denied.status?.message ?? 'denied by a DomainPolicy',
      todo: 'ask for the name to be allowed, or use one the policy allows; see docs/troubleshooting.md#denied-a-domainpolicy-does-not-allow-it',
    };
  const certDenied = v.certificates.find((c) => condition(c, 'Ready')?.reason === 'Denied');
  if (certDenied)
    return {
      step: 'policy',
      state: 'failed',
      detail: condition(certDenied, 'Ready')?.message ?? 'denied by a DomainPolicy',
      todo: 'see docs/troubleshooting.md#denied-a-domainpolicy-does-not-allow-it',
    };
  if (v.policies?.length === 0)
    return { step: 'policy', state: 'passed', detail: 'no DomainPolicy: all allowed' };
  if (!v.policies || !v.namespace)
    return {
      step: 'policy',
      state: 'unknown',
      detail: 'DomainPolicies or the namespace could not be read; the operator reports no denial',
    };
  const [rec] = recordsFor(v.host, v.endpoints);
  const verdict = rec
    ? checkRecord(v.policies, v.namespace, {
        namespace: v.namespace.name,
        name: v.host,
        type: rec.spec.recordType ?? 'A',
        targets: rec.spec.targets,
        alias: !!rec.spec.aliasHostedZoneID,
        hostIndex: 0,
      })
    : v.certificates[0]
      ? checkCertificate(v.policies, v.namespace, {
          namespace: v.namespace.name,
          dnsNames: v.certificates[0].spec.dnsNames,
          issuer: v.certificates[0].spec.issuerRef,
          targets: v.certificates[0].spec.acm ? ['acm'] : ['secret'],
        })
      : checkRecord(v.policies, v.namespace, {
          namespace: v.namespace.name,
          name: v.host,
          type: 'A',
          targets: [],
          hostIndex: 0,
        });
  return verdict.allowed
    ? { step: 'policy', state: 'passed', detail: verdict.message }
    : {
        step: 'policy',
        state: 'failed',
        detail: verdict.message,
        todo: 'see docs/troubleshooting.md#denied-a-domainpolicy-does-not-allow-it',
      };
}

const noRecord = (step: string): Step => ({
  step,
  state: 'skipped',
  detail: 'no record asked for (the source has no certroute.io/dns: "true")',
});

function dnsSteps(v: HostView, claim: Claim | undefined): Step[] {
  const recs = recordsFor(v.host, v.endpoints);
  const addresses = claim?.addresses ?? [];
  const address: Step =
    addresses.length > 0
      ? {
          step: 'address',
          state: 'passed',
          detail: `${claim ? ref(claim) : 'the source'} has address ${addresses.join(', ')}`,
        }
      : {
          step: 'address',
          state: 'waiting',
          detail: `${claim ? ref(claim) : 'the source'} has no load balancer address yet`,
          todo: `wait for its ingress controller, or check that one serves its class${claim?.className ? ` (${claim.className})` : ''}; ${adviceFor('WaitingForAddress')}`,
        };
  const rec = recs[0];
  if (!rec) return [noRecord('zone'), noRecord('owner'), address, noRecord('record')];
  const s = rec.status;
  const state = s?.state;
  const zone: Step = s?.zoneID
    ? { step: 'zone', state: 'passed', detail: `hosted zone ${s.zoneID}` }
    : state === 'NoZone'
      ? {
          step: 'zone',
          state: 'failed',
          detail: s?.message ?? 'no managed zone holds the host',
          todo: `${adviceFor('RecordNoZone')} (#nozone): add the zone to --domain-filter or create it`,
        }
      : state === 'WaitingForAddress' || state === 'Denied'
        ? { step: 'zone', state: 'waiting', detail: 'looked up once the record can be written' }
        : {
            step: 'zone',
            state: 'waiting',
            detail: "the operator has not written this record's status yet",
          };
  const owner: Step =
    state === 'OwnedByOther'
      ? {
          step: 'owner',
          state: 'failed',
          detail: `the name is owned by someone else${s?.owner ? `: TXT owner "${s.owner}"` : ''}${s?.message ? ` (${s.message})` : ''}`,
          todo: 'another owner id holds it: remove that record set or its TXT, or adopt it; see docs/troubleshooting.md#ownedbyother-and-adoption',
        }
      : state === 'Published'
        ? {
            step: 'owner',
            state: 'passed',
            detail: `TXT ownership: ${s?.owner ? `owner "${s.owner}"` : "this operator's owner id"}`,
          }
        : { step: 'owner', state: 'waiting', detail: 'checked when the zone is synced' };
  const record: Step =
    state === 'Published'
      ? {
          step: 'record',
          state: 'passed',
          detail: `${rec.spec.recordType ?? ''} ${v.host} -> ${rec.spec.targets.join(', ')} published`,
        }
      : state === 'Error'
        ? {
            step: 'record',
            state: 'failed',
            detail: s?.message ?? 'Route53 refused the change',
            todo: adviceFor('RecordError'),
          }
        : state === 'WaitingForAddress'
          ? {
              step: 'record',
              state: 'waiting',
              detail: s?.message ?? 'waiting for the address',
              todo: adviceFor('WaitingForAddress'),
            }
          : state === 'Pending' || state === undefined
            ? { step: 'record', state: 'waiting', detail: 'not yet in sync with Route53' }
            : { step: 'record', state: 'failed', detail: `${state}: ${s?.message ?? ''}`.trim() };
  return [zone, owner, address, record];
}

/** The issuer's solver for a host: exact dnsNames beat the longest dnsZones match beat none. */
export function pickSolver(
  solvers: readonly Solver[],
  host: string,
): { index: number; solver: Solver } | undefined {
  const bare = host.replace(/^\*\./, '');
  let best: { index: number; solver: Solver; score: number } | undefined;
  solvers.forEach((solver, index) => {
    const sel = solver.selector;
    let score = -1;
    if (!sel || (!sel.dnsNames && !sel.dnsZones)) score = 0;
    if (sel?.dnsNames?.includes(host)) score = 10_000;
    for (const z of sel?.dnsZones ?? [])
      if (bare === z || bare.endsWith(`.${z}`)) score = Math.max(score, z.length + 1);
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
const preflight = new Set([
  'WaitingForAddress',
  'WaitingForDNS',
  'SolverUnreachable',
  'OrderBudgetExhausted',
  'RateLimited',
  'DryRun',
]);

function certSteps(v: HostView): Step[] {
  const c = v.certificates[0];
  if (!c) return [noCert('solver'), noCert('order'), noCert('secret')];
  const name = `Certificate ${c.metadata.namespace}/${c.metadata.name}`;
  const ready = condition(c, 'Ready');
  const issuing = condition(c, 'Issuing');
  const issuer = v.issuers.get(issuerKey(c));
  const issuerName = `${c.spec.issuerRef.kind ?? 'ClusterIssuer'} ${c.spec.issuerRef.name}`;
  let solver: Step;
  const authz = c.status?.order?.authorizations.find(
    (a) => covers(a.identifier, v.host) || a.identifier === v.host.replace(/^\*\./, ''),
  );
  const solverReason = [ready?.reason, issuing?.reason].find(
    (r) =>
      r === 'NoSolver' ||
      r === 'WildcardNeedsDNS01' ||
      r === 'NoZoneForChallenge' ||
      r === 'Route53RegionMissing',
  );
  if (solverReason)
    solver = {
      step: 'solver',
      state: 'failed',
      detail: (ready?.reason === solverReason ? ready : issuing)?.message ?? solverReason,
      todo: adviceFor(solverReason),
    };
  else if (!v.issuers.has(issuerKey(c)))
    solver = { step: 'solver', state: 'unknown', detail: `${issuerName} could not be read` };
  else if (!issuer)
    solver = {
      step: 'solver',
      state: 'failed',
      detail: `${issuerName} does not exist`,
      todo: adviceFor('IssuerNotFound'),
    };
  else {
    const i = authz?.solver;
    const picked =
      i !== undefined && issuer.spec.acme.solvers[i]
        ? { index: i, solver: issuer.spec.acme.solvers[i] }
        : pickSolver(issuer.spec.acme.solvers, v.host);
    solver = picked
      ? {
          step: 'solver',
          state: 'passed',
          detail: `${issuerName} solver #${picked.index} (${solverType(picked.solver)})`,
        }
      : {
          step: 'solver',
          state: 'failed',
          detail: `no solver of ${issuerName} matches ${v.host}`,
          todo: adviceFor('NoSolver'),
        };
  }
  const order = orderStep(c, name, authz);
  return [solver, order, secretStep(v, c, name)];
}

function orderStep(
  c: Certificate,
  name: string,
  authz:
    NonNullable<NonNullable<Certificate['status']>['order']>['authorizations'][number] | undefined,
): Step {
  const st = c.status ?? {};
  const ready = condition(c, 'Ready');
  const issuing = condition(c, 'Issuing');
  if (st.order)
    return {
      step: 'order',
      state: 'waiting',
      detail: `order in flight since ${st.order.createdAt}${authz?.challenge ? `: ${authz.challenge.type} challenge for ${authz.identifier}` : ''}${issuing?.message ? ` (${issuing.message})` : ''}`,
    };
  const failing =
    issuing?.reason && issuing.reason !== 'Issued' && issuing.reason !== 'UpToDate'
      ? issuing
      : undefined;
  const caText =
    st.lastOrder?.result === 'invalid' && st.lastOrder.message
      ? `; the CA said: ${st.lastOrder.message}`
      : '';
  if (failing) {
    const reason = failing.reason === 'Failed' ? st.lastFailure?.split(':')[0] : failing.reason;
    const isPreflight = preflight.has(reason ?? '');
    return {
      step: 'order',
      state: isPreflight ? 'waiting' : 'failed',
      detail: `${failing.message}${caText && !failing.message.includes(st.lastOrder?.message ?? '\u0000') ? caText : ''}`,
      todo:
        [
          adviceFor(reason),
          st.nextRetryTime
            ? `next attempt at ${st.nextRetryTime}; \`kubectl certroute retry ${c.metadata.name} -n ${c.metadata.namespace}\` tries now`
            : undefined,
        ]
          .filter(Boolean)
          .join('; ') || undefined,
    };
  }
  if (ready?.status === 'True')
    return {
      step: 'order',
      state: 'passed',
      detail: st.lastOrder
        ? `last order ${st.lastOrder.result} at ${st.lastOrder.finishedAt}`
        : 'issued',
    };
  if (ready?.reason && ready.reason !== 'Issued')
    return {
      step: 'order',
      state: preflight.has(ready.reason) ? 'waiting' : 'failed',
      detail: ready.message,
      todo: adviceFor(ready.reason),
    };
  return {
    step: 'order',
    state: 'waiting',
    detail: `${name} has no status yet: is the operator running?`,
  };
}

function secretStep(v: HostView, c: Certificate, name: string): Step {
  const parts: Step[] = [];
  if (c.spec.acm) {
    const arn = c.status?.acm?.certificateArn;
    parts.push(
      arn
        ? { step: 'secret', state: 'passed', detail: `ACM ${arn}` }
        : {
            step: 'secret',
            state: 'waiting',
            detail: `not yet imported into ACM (${c.spec.acm.region})`,
          },
    );
  }
  if (c.spec.secretName && (!c.spec.acm || c.spec.acm.writeSecret)) {
    const key = `${c.metadata.namespace}/${c.spec.secretName}`;
    const s = v.secrets.get(key);
    if (!s || 'unread' in s)
      parts.push({
        step: 'secret',
        state: 'unknown',
        detail: `Secret ${key}: ${s && 'unread' in s ? s.unread : 'not read'}`,
      });
    else if (!s.leaf)
      parts.push({
        step: 'secret',
        state: 'waiting',
        detail: `Secret ${key} holds no certificate yet`,
      });
    else {
      const ok =
        s.leaf.sans.some((n) => covers(n, v.host)) && Date.parse(s.leaf.notAfter) > v.now.getTime();
      parts.push(
        ok
          ? {
              step: 'secret',
              state: s.keyMatches === false ? 'failed' : 'passed',
              detail: `Secret ${key}: valid until ${s.leaf.notAfter}, issuer ${s.leaf.issuer}${s.keyMatches === false ? '; the key does not match the certificate' : ''}`,
            }
          : {
              step: 'secret',
              state: 'waiting',
              detail: `Secret ${key} does not cover ${v.host} or has expired (${s.leaf.notAfter})`,
            },
      );
    }
  }
  if (parts.length === 0)
    return {
      step: 'secret',
      state: 'failed',
      detail: `${name} names no target`,
      todo: adviceFor('TargetNotSupported'),
    };
  const worst = parts.find((p) => p.state !== 'passed') ?? parts[0];
  return { ...(worst as Step), detail: parts.map((p) => p.detail).join('; ') };
}

export function explainHost(v: HostView): Step[] {
  const claim =
    v.claims.find((c) => c.managed.some((h) => covers(h, v.host))) ??
    v.claims.find((c) => c.unmanaged.includes(v.host));
  return [sourceStep(v), policyStep(v), ...dnsSteps(v, claim), ...certSteps(v)];
}

/** 0 when every step passed or does not apply, 1 otherwise. */
export function exitCodeOf(steps: readonly Step[]): 0 | 1 {
  return steps.every((s) => s.state === 'passed' || s.state === 'skipped') ? 0 : 1;
}
