import { BlockList, isIP } from 'node:net';
import type {
  CertificateTarget,
  DomainPolicySpec,
  DomainRule,
  LabelSelector,
} from '../api/v1alpha1.js';

/**
 * DomainPolicy evaluation, pure: which policies select a namespace, and whether a record or a
 * certificate of that namespace is allowed. No policies at all: everything is allowed. Once
 * one exists, a namespace no policy selects is denied everything, and a request is allowed when
 * some policy selecting its namespace allows all of it. A denial names every policy considered
 * and the rule that failed in each.
 */

/** What failed, for the `reason` label of certroute_policy_denials_total. */
export type Rule =
  | 'namespace'
  | 'domain'
  | 'apex'
  | 'wildcard'
  | 'issuer'
  | 'target'
  | 'recordTarget'
  | 'hostsPerSource'
  | 'invalidPolicy';

export interface Verdict {
  allowed: boolean;
  /** The policy that allowed it, or the first one that denied it. */
  policy?: string;
  rule?: Rule;
  message: string;
}

/** A policy as read, checked: `problem` says why it is not accepted (it then allows nothing). */
export interface CompiledPolicy {
  name: string;
  spec: DomainPolicySpec;
  problem?: string;
  /** The record-target CIDRs (IPv4 and IPv6) and hostname globs. */
  cidrs: BlockList | undefined;
  hostGlobs: RegExp[];
  domainGlobs: (RegExp | undefined)[];
}

export interface NamespaceInfo {
  name: string;
  labels: Readonly<Record<string, string>>;
}

const globChars = /^[a-z0-9*]([a-z0-9*.-]*[a-z0-9*])?$/;

function globRegExp(glob: string): RegExp {
  const body = glob
    .split('*')
    .map((p) => p.replace(/[.+?^${}()|[\]\\-]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`);
}

function validGlob(glob: string): boolean {
  return globChars.test(glob) && !glob.includes('..');
}

function normal(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** Checks a policy's spec; an invalid rule makes the whole policy not accepted. */
export function compile(name: string, spec: DomainPolicySpec): CompiledPolicy {
  const problems: string[] = [];
  const domainGlobs = spec.domains.map((d, i) => {
    if (d.glob !== undefined && d.suffix !== undefined)
      problems.push(`spec.domains[${i}] sets both suffix and glob`);
    if (d.glob === undefined && d.suffix === undefined)
      problems.push(`spec.domains[${i}] sets neither suffix nor glob`);
    if (d.suffix !== undefined && (!validGlob(d.suffix) || d.suffix.includes('*')))
      problems.push(`spec.domains[${i}].suffix "${d.suffix}" is not a DNS name`);
    if (d.glob === undefined) return undefined;
    if (!validGlob(d.glob)) {
      problems.push(`spec.domains[${i}].glob "${d.glob}" is not a valid glob`);
      return undefined;
    }
    return globRegExp(d.glob);
  });
  let cidrs: BlockList | undefined;
  const hostGlobs: RegExp[] = [];
  (spec.recordTargets ?? []).forEach((t, i) => {
    const where = `spec.recordTargets[${i}] "${t}"`;
    if (t.includes('/') || isIP(t) !== 0) {
      const [addr = '', bits = isIP(t) === 6 ? '128' : '32'] = t.split('/');
      const family = isIP(addr);
      const prefix = Number(bits);
      const max = family === 6 ? 128 : 32;
      if (family === 0 || !/^\d+$/.test(bits) || prefix > max) {
        problems.push(`${where} is not a CIDR`);
        return;
      }
      cidrs ??= new BlockList();
      cidrs.addSubnet(addr, prefix, family === 6 ? 'ipv6' : 'ipv4');
    } else if (validGlob(normal(t))) hostGlobs.push(globRegExp(normal(t)));
    else problems.push(`${where} is neither a CIDR nor a hostname glob`);
  });
  for (const [i, e] of (spec.namespaces.selector?.matchExpressions ?? []).entries()) {
    const wantsValues = e.operator === 'In' || e.operator === 'NotIn';
    if (wantsValues !== (e.values?.length ?? 0) > 0)
      problems.push(
        `spec.namespaces.selector.matchExpressions[${i}]: ${e.operator} ${wantsValues ? 'needs' : 'takes no'} values`,
      );
  }
  return {
    name,
    spec,
    ...(problems.length > 0 ? { problem: problems.join('; ') } : {}),
    cidrs,
    hostGlobs,
    domainGlobs,
  };
}

/** Kubernetes label selector semantics: matchLabels and every expression must hold. */
export function selectorMatches(
  s: LabelSelector,
  labels: Readonly<Record<string, string>>,
): boolean {
  for (const [k, v] of Object.entries(s.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of s.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    const inValues = has && value !== undefined && (e.values ?? []).includes(value);
    const ok =
      e.operator === 'In'
        ? inValues
        : e.operator === 'NotIn'
          ? !inValues
          : e.operator === 'Exists'
            ? has
            : !has;
    if (!ok) return false;
  }
  return true;
}

/** Named in spec.namespaces.names, or matched by spec.namespaces.selector. */
export function selects(p: CompiledPolicy, ns: NamespaceInfo): boolean {
  const { names, selector } = p.spec.namespaces;
  return (names ?? []).includes(ns.name) || (!!selector && selectorMatches(selector, ns.labels));
}

/**
 * The policies selecting a namespace, memoised per policy list and labels object: a zone sync
 * asks once per host, and the answer only changes with the policies or the labels (each change
 * brings a new list or a new labels object).
 */
const selections = new WeakMap<
  readonly CompiledPolicy[],
  WeakMap<Readonly<Record<string, string>>, Map<string, CompiledPolicy[]>>
>();

export function selecting(
  policies: readonly CompiledPolicy[],
  ns: NamespaceInfo,
): CompiledPolicy[] {
  let byLabels = selections.get(policies);
  if (!byLabels) selections.set(policies, (byLabels = new WeakMap()));
  let byName = byLabels.get(ns.labels);
  if (!byName) byLabels.set(ns.labels, (byName = new Map<string, CompiledPolicy[]>()));
  let out = byName.get(ns.name);
  if (!out) byName.set(ns.name, (out = policies.filter((p) => selects(p, ns))));
  return out;
}

interface Failure {
  rule: Rule;
  message: string;
}

/** Whether one domain rule allows `name`; a failure when the rule covers it but a flag forbids it. */
function domainRuleAllows(
  p: CompiledPolicy,
  i: number,
  d: DomainRule,
  name: string,
): true | Failure | undefined {
  const wildcard = name.startsWith('*.');
  const where = `spec.domains[${i}]`;
  let covered: boolean;
  if (d.suffix !== undefined) {
    const suffix = normal(d.suffix);
    if (name === suffix) {
      return d.apex
        ? true
        : { rule: 'apex', message: `${name} is the apex and ${where}.apex is false` };
    }
    covered = name.endsWith(`.${suffix}`);
  } else covered = p.domainGlobs[i]?.test(name) ?? false;
  if (!covered) return undefined;
  if (wildcard && !d.wildcards)
    return { rule: 'wildcard', message: `${name} is a wildcard and ${where}.wildcards is false` };
  return true;
}

function domainAllows(p: CompiledPolicy, host: string): Failure | undefined {
  const name = normal(host);
  let near: Failure | undefined;
  for (const [i, d] of p.spec.domains.entries()) {
    const r = domainRuleAllows(p, i, d, name);
    if (r === true) return undefined;
    near ??= r;
  }
  if (near) return near;
  const rules = p.spec.domains.map((d) => d.suffix ?? d.glob ?? '').join(', ');
  return {
    rule: 'domain',
    message: `${name} matches none of spec.domains${rules ? ` (${rules})` : ' (empty)'}`,
  };
}

export interface RecordRequest {
  namespace: string;
  name: string;
  type: string;
  targets: readonly string[];
  /** An AWS alias: its target is a hostname whatever the type. */
  alias?: boolean;
  /** The host's position (0-based) among its source's distinct hosts, for hostsPerSource. */
  hostIndex: number;
}

function recordTargetAllows(p: CompiledPolicy, r: RecordRequest): Failure | undefined {
  if (!p.spec.recordTargets) return undefined;
  const byAddress = !r.alias && (r.type === 'A' || r.type === 'AAAA');
  for (const t of r.targets) {
    const ok = byAddress
      ? (p.cidrs?.check(t, isIP(t) === 6 ? 'ipv6' : 'ipv4') ?? false)
      : p.hostGlobs.some((g) => g.test(normal(t)));
    if (!ok)
      return {
        rule: 'recordTarget',
        message: `${r.type} ${r.name} points at ${t}, which is in none of spec.recordTargets (${p.spec.recordTargets.join(', ')})`,
      };
  }
  return undefined;
}

function hostsAllow(p: CompiledPolicy, count: number, what: string): Failure | undefined {
  const max = p.spec.budgets?.hostsPerSource;
  if (max === undefined || count <= max) return undefined;
  return {
    rule: 'hostsPerSource',
    message: `${what} and spec.budgets.hostsPerSource is ${max}`,
  };
}

function checkRecordAgainst(p: CompiledPolicy, r: RecordRequest): Failure | undefined {
  return (
    domainAllows(p, r.name) ??
    recordTargetAllows(p, r) ??
    hostsAllow(p, r.hostIndex + 1, `${r.name} is host number ${r.hostIndex + 1} of its source`)
  );
}

export interface CertificateRequest {
  namespace: string;
  dnsNames: readonly string[];
  issuer: { kind?: 'ClusterIssuer' | 'Issuer'; name: string };
  targets: readonly CertificateTarget[];
}

function issuerAllows(p: CompiledPolicy, c: CertificateRequest): Failure | undefined {
  const rule = p.spec.issuers;
  if (!rule) return undefined;
  if ((c.issuer.kind ?? 'ClusterIssuer') === 'Issuer') {
    if (rule.namespaced !== false) return undefined;
    return {
      rule: 'issuer',
      message: `Issuer ${c.issuer.name} is a namespaced Issuer and spec.issuers.namespaced is false`,
    };
  }
  const allowed = rule.clusterIssuers ?? [];
  if (allowed.includes(c.issuer.name)) return undefined;
  return {
    rule: 'issuer',
    message: `ClusterIssuer ${c.issuer.name} is not in spec.issuers.clusterIssuers (${allowed.join(', ') || 'none'})`,
  };
}

function targetAllows(p: CompiledPolicy, c: CertificateRequest): Failure | undefined {
  const allowed = p.spec.targets;
  if (!allowed) return undefined;
  const bad = c.targets.find((t) => !allowed.includes(t));
  if (!bad) return undefined;
  return {
    rule: 'target',
    message: `target ${bad} is not in spec.targets (${allowed.join(', ') || 'none'})`,
  };
}

function checkCertificateAgainst(p: CompiledPolicy, c: CertificateRequest): Failure | undefined {
  for (const n of c.dnsNames) {
    const f = domainAllows(p, n);
    if (f) return f;
  }
  return (
    issuerAllows(p, c) ??
    targetAllows(p, c) ??
    hostsAllow(p, c.dnsNames.length, `the Certificate has ${c.dnsNames.length} names`)
  );
}

/** The one rule of combination, for records and certificates alike. */
function decide(
  policies: readonly CompiledPolicy[],
  ns: NamespaceInfo,
  what: string,
  check: (p: CompiledPolicy) => Failure | undefined,
): Verdict {
  if (policies.length === 0) return { allowed: true, message: 'no DomainPolicy: all allowed' };
  const selected = selecting(policies, ns);
  if (selected.length === 0)
    return {
      allowed: false,
      rule: 'namespace',
      message: `${what}: no DomainPolicy selects namespace ${ns.name} (${policies.length} exist; a namespace no policy selects is denied everything)`,
    };
  const failures: { policy: string; f: Failure }[] = [];
  for (const p of selected) {
    if (p.problem) {
      failures.push({
        policy: p.name,
        f: { rule: 'invalidPolicy', message: `not accepted: ${p.problem}` },
      });
      continue;
    }
    const f = check(p);
    if (!f) return { allowed: true, policy: p.name, message: `allowed by DomainPolicy ${p.name}` };
    failures.push({ policy: p.name, f });
  }
  const [first] = failures;
  return {
    allowed: false,
    ...(first ? { policy: first.policy, rule: first.f.rule } : {}),
    message: `${what} denied: ${failures.map((x) => `DomainPolicy ${x.policy}: ${x.f.message}`).join('; ')}`,
  };
}

export function checkRecord(
  policies: readonly CompiledPolicy[],
  ns: NamespaceInfo,
  r: RecordRequest,
): Verdict {
  return decide(policies, ns, `${r.type} ${r.name}`, (p) => checkRecordAgainst(p, r));
}

export function checkCertificate(
  policies: readonly CompiledPolicy[],
  ns: NamespaceInfo,
  c: CertificateRequest,
): Verdict {
  return decide(policies, ns, `certificate for ${c.dnsNames.join(', ')}`, (p) =>
    checkCertificateAgainst(p, c),
  );
}

/**
 * The order budget of a namespace: the most generous of the accepted policies selecting it
 * (undefined = unlimited, also when no policy exists or one selecting it sets none).
 */
export function ordersPerHour(
  policies: readonly CompiledPolicy[],
  ns: NamespaceInfo,
): { limit: number; policy: string } | undefined {
  let best: { limit: number; policy: string } | undefined;
  for (const p of policies) {
    if (p.problem || !selects(p, ns)) continue;
    const limit = p.spec.budgets?.ordersPerHour;
    if (limit === undefined) return undefined;
    if (!best || limit > best.limit) best = { limit, policy: p.name };
  }
  return best;
}
