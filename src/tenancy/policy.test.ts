import { describe, expect, it } from 'vitest';
import type { DomainPolicySpec, LabelSelector } from '../api/v1alpha1.js';
import {
  checkCertificate,
  checkRecord,
  compile,
  ordersPerHour,
  selecting,
  selectorMatches,
  selects,
  type CertificateRequest,
  type NamespaceInfo,
  type RecordRequest,
} from './policy.js';

const teamA: DomainPolicySpec = {
  namespaces: { names: ['team-a'] },
  domains: [{ suffix: 'a.example.test' }, { glob: 'api-*.shared.example.test' }],
};
const nsA: NamespaceInfo = { name: 'team-a', labels: { team: 'a' } };
const nsC: NamespaceInfo = { name: 'team-c', labels: {} };

function record(name: string, more: Partial<RecordRequest> = {}): RecordRequest {
  return { namespace: 'team-a', name, type: 'A', targets: ['10.0.0.1'], hostIndex: 0, ...more };
}

function cert(dnsNames: string[], more: Partial<CertificateRequest> = {}): CertificateRequest {
  return {
    namespace: 'team-a',
    dnsNames,
    issuer: { name: 'letsencrypt' },
    targets: ['secret'],
    ...more,
  };
}

describe('namespace selection', () => {
  it.each<{ sel: LabelSelector; labels: Record<string, string>; want: boolean }>([
    { sel: {}, labels: {}, want: true },
    { sel: { matchLabels: { team: 'a' } }, labels: { team: 'a' }, want: true },
    { sel: { matchLabels: { team: 'a' } }, labels: { team: 'b' }, want: false },
    {
      sel: { matchExpressions: [{ key: 'team', operator: 'In' as const, values: ['a', 'b'] }] },
      labels: { team: 'b' },
      want: true,
    },
    {
      sel: { matchExpressions: [{ key: 'team', operator: 'NotIn' as const, values: ['a'] }] },
      labels: {},
      want: true,
    },
    {
      sel: { matchExpressions: [{ key: 'team', operator: 'Exists' as const }] },
      labels: { team: '' },
      want: true,
    },
    {
      sel: { matchExpressions: [{ key: 'team', operator: 'DoesNotExist' as const }] },
      labels: { team: 'a' },
      want: false,
    },
    {
      sel: {
        matchLabels: { env: 'prod' },
        matchExpressions: [{ key: 'team', operator: 'Exists' as const }],
      },
      labels: { team: 'a' },
      want: false,
    },
  ])('$sel on $labels: $want', ({ sel, labels, want }) => {
    expect(selectorMatches(sel, labels)).toBe(want);
  });

  it('selects by name or by selector, and nothing without either', () => {
    const byName = compile('p', { namespaces: { names: ['x'] }, domains: [] });
    const bySel = compile('p', {
      namespaces: { selector: { matchLabels: { t: '1' } } },
      domains: [],
    });
    const none = compile('p', { namespaces: {}, domains: [] });
    expect(selects(byName, { name: 'x', labels: {} })).toBe(true);
    expect(selects(bySel, { name: 'y', labels: { t: '1' } })).toBe(true);
    expect(selects(bySel, { name: 'x', labels: {} })).toBe(false);
    expect(selects(none, { name: 'x', labels: {} })).toBe(false);
  });
});

describe('checkRecord: domains', () => {
  const policies = [compile('team-a', teamA)];
  it.each([
    { name: 'www.a.example.test', allowed: true },
    { name: 'deep.www.a.example.test', allowed: true },
    { name: 'WWW.A.example.test.', allowed: true },
    { name: 'a.example.test', allowed: false, rule: 'apex', says: 'spec.domains[0].apex is false' },
    {
      name: '*.a.example.test',
      allowed: false,
      rule: 'wildcard',
      says: 'DomainPolicy team-a: *.a.example.test is a wildcard and spec.domains[0].wildcards is false',
    },
    {
      name: 'xa.example.test',
      allowed: false,
      rule: 'domain',
      says: 'matches none of spec.domains',
    },
    { name: 'www.b.example.test', allowed: false, rule: 'domain', says: 'DomainPolicy team-a' },
    { name: 'api-v1.shared.example.test', allowed: true },
    { name: 'web.shared.example.test', allowed: false, rule: 'domain' },
  ])('$name: $allowed', ({ name, allowed, rule, says }) => {
    const v = checkRecord(policies, nsA, record(name));
    expect(v.allowed).toBe(allowed);
    if (rule) expect(v.rule).toBe(rule);
    if (says) expect(v.message).toContain(says);
    if (allowed) expect(v.policy).toBe('team-a');
  });

  it('allows the apex and wildcards when the rule says so', () => {
    const p = [
      compile('p', {
        ...teamA,
        domains: [{ suffix: 'a.example.test', apex: true, wildcards: true }],
      }),
    ];
    expect(checkRecord(p, nsA, record('a.example.test')).allowed).toBe(true);
    expect(checkRecord(p, nsA, record('*.a.example.test')).allowed).toBe(true);
  });

  it('a wildcard glob rule still needs wildcards: true for a wildcard name', () => {
    const p = [compile('p', { ...teamA, domains: [{ glob: '*.a.example.test' }] })];
    expect(checkRecord(p, nsA, record('x.a.example.test')).allowed).toBe(true);
    expect(checkRecord(p, nsA, record('*.a.example.test')).rule).toBe('wildcard');
  });

  it('no policies: everything allowed', () => {
    expect(checkRecord([], nsC, record('anything.example.test')).allowed).toBe(true);
  });

  it('default deny: a namespace no policy selects gets nothing', () => {
    const v = checkRecord(policies, nsC, record('www.a.example.test', { namespace: 'team-c' }));
    expect(v).toMatchObject({ allowed: false, rule: 'namespace' });
    expect(v.message).toContain('no DomainPolicy selects namespace team-c');
  });

  it('any selecting policy may allow; a denial names every policy considered', () => {
    const other = compile('shared', {
      namespaces: { selector: { matchLabels: { team: 'a' } } },
      domains: [{ suffix: 'shared.example.test' }],
    });
    const both = [compile('team-a', teamA), other];
    expect(checkRecord(both, nsA, record('x.shared.example.test'))).toMatchObject({
      allowed: true,
      policy: 'shared',
    });
    const v = checkRecord(both, nsA, record('x.b.example.test'));
    expect(v.allowed).toBe(false);
    expect(v.message).toContain('DomainPolicy team-a: x.b.example.test matches none');
    expect(v.message).toContain('DomainPolicy shared: x.b.example.test matches none');
  });

  it('an invalid policy allows nothing and says why', () => {
    const p = [compile('bad', { ...teamA, domains: [{ glob: 'a..b' }] })];
    expect(p[0]?.problem).toContain('spec.domains[0].glob "a..b" is not a valid glob');
    const v = checkRecord(p, nsA, record('www.a.example.test'));
    expect(v).toMatchObject({ allowed: false, rule: 'invalidPolicy', policy: 'bad' });
  });
});

describe('checkRecord: targets and hostsPerSource', () => {
  const p = [
    compile('team-a', {
      ...teamA,
      recordTargets: ['10.244.0.0/16', '2001:db8::/32', '192.0.2.7', '*.elb.amazonaws.com'],
      budgets: { hostsPerSource: 2 },
    }),
  ];
  it.each([
    { r: { targets: ['10.244.3.4'] }, allowed: true },
    { r: { targets: ['10.244.3.4', '10.0.0.1'] }, allowed: false, says: 'points at 10.0.0.1' },
    { r: { targets: ['192.0.2.7'] }, allowed: true },
    { r: { type: 'AAAA', targets: ['2001:db8::1'] }, allowed: true },
    { r: { type: 'AAAA', targets: ['2001:db9::1'] }, allowed: false },
    { r: { type: 'CNAME', targets: ['k8s-x.us-east-1.elb.amazonaws.com'] }, allowed: true },
    { r: { type: 'CNAME', targets: ['evil.example.test'] }, allowed: false },
    { r: { alias: true, targets: ['lb-1.elb.amazonaws.com'] }, allowed: true },
    { r: { alias: true, targets: ['10.244.0.1'] }, allowed: false },
    { r: { targets: ['10.244.0.1'], hostIndex: 1 }, allowed: true },
    {
      r: { targets: ['10.244.0.1'], hostIndex: 2 },
      allowed: false,
      rule: 'hostsPerSource',
      says: 'host number 3 of its source and spec.budgets.hostsPerSource is 2',
    },
  ])('$r: $allowed', ({ r, allowed, rule, says }) => {
    const v = checkRecord(p, nsA, record('www.a.example.test', r));
    expect(v.allowed).toBe(allowed);
    if (!allowed) expect(v.rule).toBe(rule ?? 'recordTarget');
    if (says) expect(v.message).toContain(says);
  });

  it.each(['10.0.0.0/33', '300.1.1.1/8', 'not a target', '10.0.0.0/x'])(
    'refuses the record target %s',
    (t) => {
      expect(compile('p', { ...teamA, recordTargets: [t] }).problem).toContain('recordTargets[0]');
    },
  );
});

describe('checkCertificate', () => {
  const p = [
    compile('team-a', {
      ...teamA,
      issuers: { clusterIssuers: ['letsencrypt'], namespaced: false },
      targets: ['secret'],
      budgets: { hostsPerSource: 3 },
    }),
  ];
  it.each([
    { c: cert(['www.a.example.test']), allowed: true },
    { c: cert(['www.a.example.test', 'www.b.example.test']), allowed: false, rule: 'domain' },
    { c: cert(['*.a.example.test']), allowed: false, rule: 'wildcard' },
    { c: cert(['a.example.test']), allowed: false, rule: 'apex' },
    {
      c: cert(['www.a.example.test'], { issuer: { name: 'internal' } }),
      allowed: false,
      rule: 'issuer',
      says: 'ClusterIssuer internal is not in spec.issuers.clusterIssuers (letsencrypt)',
    },
    {
      c: cert(['www.a.example.test'], { issuer: { kind: 'ClusterIssuer', name: 'letsencrypt' } }),
      allowed: true,
    },
    {
      c: cert(['www.a.example.test'], { issuer: { kind: 'Issuer', name: 'letsencrypt' } }),
      allowed: false,
      rule: 'issuer',
      says: 'spec.issuers.namespaced is false',
    },
    {
      c: cert(['www.a.example.test'], { targets: ['secret', 'acm'] }),
      allowed: false,
      rule: 'target',
    },
    {
      c: cert(['a1.a.example.test', 'a2.a.example.test', 'a3.a.example.test', 'a4.a.example.test']),
      allowed: false,
      rule: 'hostsPerSource',
      says: 'the Certificate has 4 names',
    },
  ])('$c.dnsNames $c.issuer: $allowed', ({ c, allowed, rule, says }) => {
    const v = checkCertificate(p, nsA, c);
    expect(v.allowed).toBe(allowed);
    if (rule) expect(v.rule).toBe(rule);
    if (says) expect(v.message).toContain(says);
  });

  it('issuers omitted: any issuer; namespaced Issuers allowed by default', () => {
    const open = [compile('p', teamA)];
    const some = [compile('p', { ...teamA, issuers: { clusterIssuers: [] } })];
    expect(
      checkCertificate(open, nsA, cert(['x.a.example.test'], { issuer: { name: 'any' } })).allowed,
    ).toBe(true);
    expect(
      checkCertificate(
        some,
        nsA,
        cert(['x.a.example.test'], { issuer: { kind: 'Issuer', name: 'own' } }),
      ).allowed,
    ).toBe(true);
    expect(checkCertificate(some, nsA, cert(['x.a.example.test'])).rule).toBe('issuer');
  });
});

describe('ordersPerHour', () => {
  it.each([
    { specs: [], want: undefined },
    { specs: [{ ...teamA, budgets: { ordersPerHour: 5 } }], want: { limit: 5, policy: 'p0' } },
    {
      specs: [
        { ...teamA, budgets: { ordersPerHour: 5 } },
        { ...teamA, budgets: { ordersPerHour: 9 } },
      ],
      want: { limit: 9, policy: 'p1' },
    },
    { specs: [{ ...teamA, budgets: { ordersPerHour: 5 } }, teamA], want: undefined },
  ])('$want', ({ specs, want }) => {
    const policies = specs.map((s, i) => compile(`p${i}`, s));
    expect(ordersPerHour(policies, nsA)).toEqual(want);
  });
});

describe('selecting (memoised)', () => {
  it('answers again for new policies or new labels, not from the old ones', () => {
    const p1 = [
      compile('p', { namespaces: { selector: { matchLabels: { t: '1' } } }, domains: [] }),
    ];
    const labels = { t: '1' };
    expect(selecting(p1, { name: 'x', labels }).map((p) => p.name)).toEqual(['p']);
    expect(selecting(p1, { name: 'x', labels: { t: '2' } })).toEqual([]);
    const p2 = [compile('q', { namespaces: { names: ['y'] }, domains: [] })];
    expect(selecting(p2, { name: 'x', labels })).toEqual([]);
    expect(selecting(p2, { name: 'y', labels }).map((p) => p.name)).toEqual(['q']);
  });
});
