import type {
  V1Ingress,
  V1IngressLoadBalancerIngress,
  V1IngressRule,
  V1IngressTLS,
} from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { certificate, dnsEndpoint } from '../api/v1alpha1.js';
import type { Certificate, Endpoint } from '../api/v1alpha1.js';
import { problemsAnnotation, problemsOf } from '../dns/endpoints.js';
import { canonical } from '../kube/canonical.js';
import { desiredDnsEndpoint, desiredFor, ingressClassOf, isWatchedClass } from './ingress.js';
import type { ShimOptions } from './ingress.js';
import { planChildren } from './children.js';

const opts: ShimOptions = { dnsDefault: true, defaultIssuer: '', ingressClasses: [] };
const withIssuer = { 'certroute.io/issuer': 'letsencrypt' };
const elbHost = 'k8s-shop-web-0123abcd-1234567890.eu-west-1.elb.amazonaws.com';
const elbZone = 'Z32O12XQLNTSW2';

const ownerRef = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  name: 'web',
  uid: 'uid-web',
  controller: true,
};
const labels = { 'app.kubernetes.io/managed-by': 'certroute' };

interface IngressParts {
  annotations?: Record<string, string>;
  rules?: V1IngressRule[];
  tls?: V1IngressTLS[];
  lb?: V1IngressLoadBalancerIngress[];
}

/** A plain V1Ingress literal: shop/web with uid uid-web. */
function ingress(p: IngressParts = {}): V1Ingress {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name: 'web',
      namespace: 'shop',
      uid: 'uid-web',
      ...(p.annotations ? { annotations: p.annotations } : {}),
    },
    spec: {
      ...(p.rules ? { rules: p.rules } : {}),
      ...(p.tls ? { tls: p.tls } : {}),
    },
    ...(p.lb ? { status: { loadBalancer: { ingress: p.lb } } } : {}),
  };
}

function expectSchemaValid(d: ReturnType<typeof desiredFor>): void {
  for (const c of d.certificates) expect(certificate.safeParse(c).error).toBeUndefined();
  if (d.dnsEndpoint) expect(dnsEndpoint.safeParse(d.dnsEndpoint).error).toBeUndefined();
}

describe('desiredDnsEndpoint', () => {
  const cases: [string, V1Ingress, ShimOptions][] = [
    [
      'rules, TLS hosts and an address',
      ingress({
        annotations: withIssuer,
        rules: [{ host: 'a.example.com' }, { host: 'b.example.com' }],
        tls: [{ secretName: 's', hosts: ['a.example.com', 'c.example.com'] }],
        lb: [{ hostname: elbHost }],
      }),
      opts,
    ],
    [
      'the hostname annotation and TTL',
      ingress({
        annotations: {
          'external-dns.alpha.kubernetes.io/hostname': 'x.example.com,y.example.com',
          'external-dns.alpha.kubernetes.io/ttl': '60',
        },
        lb: [{ ip: '192.0.2.1' }],
      }),
      opts,
    ],
    [
      'DNS off by annotation',
      ingress({
        annotations: { 'certroute.io/dns': 'false' },
        rules: [{ host: 'a.example.com' }],
      }),
      opts,
    ],
    [
      'DNS off by default',
      ingress({ rules: [{ host: 'a.example.com' }] }),
      { ...opts, dnsDefault: false },
    ],
    [
      'a malformed annotation',
      ingress({
        annotations: { 'external-dns.alpha.kubernetes.io/ttl': 'soon' },
        rules: [{ host: 'a.example.com' }, { host: 'not a host' }],
      }),
      opts,
    ],
  ];
  for (const [name, ing, o] of cases)
    it(`is the DNSEndpoint of desiredFor: ${name}`, () => {
      // The same object but for the problems annotation, which only the reconcile writes.
      const full = desiredFor(ing, o).dnsEndpoint;
      const annotations = { ...full?.metadata.annotations };
      delete annotations[problemsAnnotation];
      const bare = full && {
        ...full,
        metadata: {
          ...full.metadata,
          ...(Object.keys(annotations).length > 0 ? { annotations } : { annotations: undefined }),
        },
      };
      if (bare && !bare.metadata.annotations) delete bare.metadata.annotations;
      expect(desiredDnsEndpoint(ing, o)).toEqual(bare);
    });

  it('puts every problem on the DNSEndpoint as an annotation, and none when there is none', () => {
    const [, bad, o] = cases.find(([n]) => n === 'a malformed annotation') ?? [];
    const [, good, o0] = cases[0] ?? [];
    const d = desiredFor(bad ?? ingress(), o ?? opts);
    expect(problemsOf(d.dnsEndpoint ?? {})).toEqual(d.problems);
    expect(d.problems.length).toBeGreaterThan(0);
    const ok = desiredFor(good ?? ingress(), o0 ?? opts);
    expect(ok.dnsEndpoint?.metadata.annotations?.[problemsAnnotation]).toBeUndefined();
  });

  it('gives a DNSEndpoint for the first case and none when DNS is off', () => {
    const withDns = cases[0]?.[1] ?? ingress();
    const dnsOff = cases[2]?.[1] ?? ingress();
    expect(desiredDnsEndpoint(withDns, opts)?.spec.endpoints.length).toBeGreaterThan(0);
    expect(desiredDnsEndpoint(dnsOff, opts)).toBeUndefined();
  });
});

describe('desiredFor: Certificates', () => {
  it('makes one Certificate per TLS block, sorted by Secret name, owned by the Ingress', () => {
    const d = desiredFor(
      ingress({
        annotations: withIssuer,
        tls: [
          { secretName: 'web-tls', hosts: ['www.example.com', 'example.com'] },
          { secretName: 'api-tls', hosts: ['api.example.com'] },
        ],
      }),
      { ...opts, dnsDefault: false },
    );
    expect(d.problems).toEqual([]);
    expect(d.certificates).toStrictEqual<Certificate[]>([
      {
        apiVersion: 'certroute.io/v1alpha1',
        kind: 'Certificate',
        metadata: { name: 'api-tls', namespace: 'shop', labels, ownerReferences: [ownerRef] },
        spec: {
          dnsNames: ['api.example.com'],
          issuerRef: { name: 'letsencrypt' },
          secretName: 'api-tls',
        },
      },
      {
        apiVersion: 'certroute.io/v1alpha1',
        kind: 'Certificate',
        metadata: { name: 'web-tls', namespace: 'shop', labels, ownerReferences: [ownerRef] },
        spec: {
          dnsNames: ['example.com', 'www.example.com'],
          issuerRef: { name: 'letsencrypt' },
          secretName: 'web-tls',
        },
      },
    ]);
    expect(d).not.toHaveProperty('dnsEndpoint');
    expectSchemaValid(d);
  });

  it('merges TLS blocks that share a secretName, deduplicated, normalized and sorted', () => {
    const d = desiredFor(
      ingress({
        annotations: withIssuer,
        tls: [
          { secretName: 'shared', hosts: ['b.example.com', 'A.Example.com.'] },
          { secretName: 'other', hosts: ['o.example.com'] },
          { secretName: 'shared', hosts: [' a.example.com ', 'c.example.com', 'b.example.com'] },
        ],
      }),
      opts,
    );
    expect(d.certificates.map((c) => [c.metadata.name, c.spec.dnsNames])).toEqual([
      ['other', ['o.example.com']],
      ['shared', ['a.example.com', 'b.example.com', 'c.example.com']],
    ]);
    expect(d.problems).toEqual([]);
  });

  it('reports a TLS block without secretName and still makes the others', () => {
    const d = desiredFor(
      ingress({
        annotations: withIssuer,
        tls: [{ hosts: ['nosecret.example.com'] }, { secretName: 'ok', hosts: ['ok.example.com'] }],
      }),
      { ...opts, dnsDefault: false },
    );
    expect(d.certificates.map((c) => c.metadata.name)).toEqual(['ok']);
    expect(d.problems).toEqual([
      { reason: 'InvalidTLS', message: 'spec.tls[0] has no secretName; no certificate for it' },
    ]);
  });

  it('drops invalid TLS hosts with one problem each and keeps the valid ones', () => {
    const d = desiredFor(
      ingress({
        annotations: withIssuer,
        tls: [{ secretName: 's', hosts: ['bad_host.example.com', 'ok.example.com', 'localhost'] }],
      }),
      { ...opts, dnsDefault: false },
    );
    expect(d.certificates.map((c) => c.spec.dnsNames)).toEqual([['ok.example.com']]);
    expect(d.problems.map((p) => p.reason)).toEqual(['InvalidHost', 'InvalidHost']);
    expect(d.problems[0]?.message).toContain('"bad_host.example.com"');
    expect(d.problems[1]?.message).toContain('"localhost"');
  });

  it.each<[string, V1IngressTLS[]]>([
    ['only invalid hosts', [{ secretName: 's', hosts: ['bad_host.example.com', 'single'] }]],
    ['no hosts', [{ secretName: 's' }]],
    ['empty hosts', [{ secretName: 's', hosts: [] }]],
  ])('makes no Certificate for a TLS block with %s', (_name, tls) => {
    const d = desiredFor(ingress({ annotations: withIssuer, tls }), { ...opts, dnsDefault: false });
    expect(d.certificates).toEqual([]);
    expect(d.problems.filter((p) => p.reason === 'InvalidTLS')).toEqual([
      {
        reason: 'InvalidTLS',
        message: tls[0]?.hosts?.length
          ? 'spec.tls for Secret s lists no valid hosts: "bad_host.example.com" (not a valid hostname (letters, digits and hyphens in dot-separated labels)), "single" (a single label, not a fully qualified name); no certificate for it'
          : 'spec.tls for Secret s lists no hosts; no certificate for it',
      },
    ]);
  });

  it('puts acm instead of secretName in the spec for target acm', () => {
    const d = desiredFor(
      ingress({
        annotations: {
          ...withIssuer,
          'certroute.io/target': 'acm',
          'certroute.io/acm-region': 'eu-central-1',
        },
        tls: [{ secretName: 'web-tls', hosts: ['example.com'] }],
      }),
      { ...opts, awsRegion: 'us-east-1' },
    );
    expect(d.problems).toEqual([]);
    expect(d.certificates).toHaveLength(1);
    const spec = d.certificates[0]?.spec;
    expect(spec).toStrictEqual({
      dnsNames: ['example.com'],
      issuerRef: { name: 'letsencrypt' },
      acm: { region: 'eu-central-1' },
    });
    expect(spec).not.toHaveProperty('secretName');
    // the object is still named after the TLS block's Secret
    expect(d.certificates[0]?.metadata.name).toBe('web-tls');
    expectSchemaValid(d);
  });

  it('uses the operator region for target acm without acm-region', () => {
    const d = desiredFor(
      ingress({
        annotations: { ...withIssuer, 'certroute.io/target': 'acm' },
        tls: [{ secretName: 'web-tls', hosts: ['example.com'] }],
      }),
      { ...opts, awsRegion: 'us-east-1' },
    );
    expect(d.certificates[0]?.spec.acm).toEqual({ region: 'us-east-1' });
    expect(d.problems).toEqual([]);
  });

  // With target acm and no region anywhere, the problem is reported and no Certificate is
  // derived (one the CRD refuses would only fail at the API server).
  it('never returns a Certificate the CRD rejects (acm without any region)', () => {
    const d = desiredFor(
      ingress({
        annotations: { ...withIssuer, 'certroute.io/target': 'acm' },
        tls: [{ secretName: 'web-tls', hosts: ['example.com'] }],
        rules: [{ host: 'example.com' }],
        lb: [{ ip: '192.0.2.1' }],
      }),
      opts,
    );
    expect(d.problems.map((p) => p.reason)).toContain('InvalidAnnotation');
    for (const c of d.certificates) expect(c.spec.acm?.region).not.toBe('');
    expectSchemaValid(d);
  });

  it.each<[string, Record<string, string>, Partial<Certificate['spec']>]>([
    ['nothing extra', {}, {}],
    [
      'key algorithm',
      { 'certroute.io/key-algorithm': 'p-384' },
      { privateKey: { algorithm: 'ECDSA-P384' } },
    ],
    ['renewBefore', { 'certroute.io/renew-before': '720h' }, { renewBefore: '720h' }],
    ['challenge http-01', { 'certroute.io/challenge': 'http-01' }, { challenge: 'http01' }],
    ['challenge dns-01', { 'certroute.io/challenge': 'DNS-01' }, { challenge: 'dns01' }],
    [
      'all three',
      {
        'certroute.io/key-algorithm': 'rsa',
        'certroute.io/renew-before': '1h30m',
        'certroute.io/challenge': 'dns-01',
      },
      { privateKey: { algorithm: 'RSA-2048' }, renewBefore: '1h30m', challenge: 'dns01' },
    ],
  ])('propagates %s into the spec', (_name, extra, expected) => {
    const d = desiredFor(
      ingress({
        annotations: { ...withIssuer, ...extra },
        tls: [{ secretName: 's', hosts: ['example.com'] }],
      }),
      opts,
    );
    expect(d.problems).toEqual([]);
    expect(d.certificates[0]?.spec).toStrictEqual({
      dnsNames: ['example.com'],
      issuerRef: { name: 'letsencrypt' },
      secretName: 's',
      ...expected,
    });
    expectSchemaValid(d);
  });

  it('leaves out a setting whose annotation is bad and reports it as InvalidAnnotation', () => {
    const d = desiredFor(
      ingress({
        annotations: {
          ...withIssuer,
          'certroute.io/key-algorithm': 'dsa',
          'certroute.io/renew-before': '720h',
        },
        tls: [{ secretName: 's', hosts: ['example.com'] }],
      }),
      { ...opts, dnsDefault: false },
    );
    expect(d.certificates[0]?.spec).toStrictEqual({
      dnsNames: ['example.com'],
      issuerRef: { name: 'letsencrypt' },
      secretName: 's',
      renewBefore: '720h',
    });
    expect(d.problems).toHaveLength(1);
    expect(d.problems[0]?.reason).toBe('InvalidAnnotation');
    expect(d.problems[0]?.message).toMatch(/^certroute\.io\/key-algorithm: /);
  });

  it.each<[string, Record<string, string>, ShimOptions]>([
    ['no issuer annotation', {}, opts],
    ['tls-acme without a default issuer', { 'kubernetes.io/tls-acme': 'true' }, opts],
    ['tls-acme false', { 'kubernetes.io/tls-acme': 'false' }, { ...opts, defaultIssuer: 'd' }],
    ['an invalid issuer', { 'certroute.io/issuer': 'Bad_Issuer' }, opts],
    [
      'conflicting issuer annotations',
      { 'cert-manager.io/issuer': 'a', 'cert-manager.io/cluster-issuer': 'b' },
      opts,
    ],
  ])('makes no Certificates with %s', (name, annotations, o) => {
    const d = desiredFor(
      ingress({ annotations, tls: [{ secretName: 's', hosts: ['example.com'] }] }),
      o,
    );
    expect(d.certificates).toEqual([]);
    // Only a malformed issuer keeps the Certificates there are; no issuer at all removes them.
    expect(d.holdCertificates).toBe(
      name.startsWith('an invalid') || name.startsWith('conflicting') ? true : undefined,
    );
    // TLS blocks are not even looked at: no InvalidTLS/InvalidHost about them
    expect(d.problems.every((p) => p.reason === 'InvalidAnnotation')).toBe(true);
  });

  it.each<[string, Record<string, string>, { name: string; kind?: 'Issuer' }]>([
    ['certroute.io/issuer', { 'certroute.io/issuer': 'ours' }, { name: 'ours' }],
    ['cert-manager.io/cluster-issuer', { 'cert-manager.io/cluster-issuer': 'cm' }, { name: 'cm' }],
    [
      'tls-acme with the default issuer',
      { 'kubernetes.io/tls-acme': 'true' },
      { name: 'the-default' },
    ],
    [
      'cert-manager.io/issuer',
      { 'cert-manager.io/issuer': 'team' },
      { name: 'team', kind: 'Issuer' },
    ],
    [
      'certroute.io/issuer with issuer-kind Issuer',
      { 'certroute.io/issuer': 'team', 'certroute.io/issuer-kind': 'Issuer' },
      { name: 'team', kind: 'Issuer' },
    ],
  ])('uses the issuer from %s', (_name, annotations, issuerRef) => {
    const d = desiredFor(
      ingress({ annotations, tls: [{ secretName: 's', hosts: ['example.com'] }] }),
      { ...opts, defaultIssuer: 'the-default' },
    );
    // A ClusterIssuer's Certificate has no kind: its spec is what it was before Issuers existed.
    expect(d.certificates.map((c) => c.spec.issuerRef)).toEqual([issuerRef]);
  });

  it('makes no Certificates for an Ingress without TLS', () => {
    const d = desiredFor(ingress({ annotations: withIssuer, rules: [{ host: 'example.com' }] }), {
      ...opts,
      dnsDefault: false,
    });
    expect(d).toEqual({ certificates: [], problems: [] });
  });
});

describe('desiredFor: DNSEndpoint', () => {
  it('lists rules ∪ tls ∪ annotation hosts, lower-cased, deduplicated and sorted', () => {
    const d = desiredFor(
      ingress({
        annotations: { 'certroute.io/hostname': 'extra.example.com,API.example.com' },
        rules: [{ host: 'Shop.Example.com' }, { host: 'api.example.com' }, {}],
        tls: [{ secretName: 's', hosts: ['shop.example.com.', 'cdn.example.com'] }],
        lb: [{ ip: '192.0.2.1' }],
      }),
      opts,
    );
    expect(d.problems).toEqual([]);
    expect(d.dnsEndpoint?.spec.endpoints.map((e) => e.dnsName)).toEqual([
      'api.example.com',
      'cdn.example.com',
      'extra.example.com',
      'shop.example.com',
    ]);
    expectSchemaValid(d);
  });

  it('includes external-dns hostname annotations and wildcard hosts', () => {
    const d = desiredFor(
      ingress({
        annotations: {
          'external-dns.alpha.kubernetes.io/hostname': 'b.example.com',
          'external-dns.kubernetes.io/hostname': 'a.example.com.',
        },
        rules: [{ host: '*.apps.example.com' }],
      }),
      opts,
    );
    expect(d.dnsEndpoint?.spec.endpoints.map((e) => e.dnsName)).toEqual([
      '*.apps.example.com',
      'a.example.com',
      'b.example.com',
    ]);
  });

  it('reports invalid rule and TLS hosts and keeps the valid ones', () => {
    const d = desiredFor(
      ingress({
        rules: [{ host: 'bad_host.example.com' }, { host: 'ok.example.com' }, { host: '' }],
        tls: [{ secretName: 's', hosts: ['localhost'] }],
      }),
      opts,
    );
    expect(d.dnsEndpoint?.spec.endpoints.map((e) => e.dnsName)).toEqual(['ok.example.com']);
    expect(d.problems).toEqual([
      {
        reason: 'InvalidHost',
        message:
          'spec.rules[0].host: "bad_host.example.com" is not a valid hostname: not a valid hostname (letters, digits and hyphens in dot-separated labels); no DNS record for it',
      },
      {
        reason: 'InvalidHost',
        message: 'spec.rules[2].host: "" is not a valid hostname: empty; no DNS record for it',
      },
      {
        reason: 'InvalidHost',
        message:
          'spec.tls[0].hosts: "localhost" is not a valid hostname: a single label, not a fully qualified name; no DNS record for it',
      },
    ]);
  });

  it('is owned by the Ingress, named after it and labelled', () => {
    const d = desiredFor(ingress({ rules: [{ host: 'example.com' }] }), opts);
    expect(d.dnsEndpoint?.apiVersion).toBe('certroute.io/v1alpha1');
    expect(d.dnsEndpoint?.kind).toBe('DNSEndpoint');
    expect(d.dnsEndpoint?.metadata).toStrictEqual({
      name: 'web',
      namespace: 'shop',
      labels,
      ownerReferences: [ownerRef],
    });
  });

  it.each<[string, Record<string, string>]>([
    ['no annotation', {}],
    ['a ttl', { 'certroute.io/ttl': '60' }],
  ])('lists hosts without a type or TTL while there is no address (%s)', (_name, annotations) => {
    const d = desiredFor(
      ingress({ annotations, rules: [{ host: 'b.example.com' }, { host: 'a.example.com' }] }),
      opts,
    );
    expect(d.dnsEndpoint?.spec.endpoints).toStrictEqual<Endpoint[]>([
      { dnsName: 'a.example.com', targets: [] },
      { dnsName: 'b.example.com', targets: [] },
    ]);
    expectSchemaValid(d);
  });

  it('treats an empty load balancer status like no address', () => {
    const d = desiredFor(ingress({ rules: [{ host: 'a.example.com' }], lb: [{}] }), opts);
    expect(d.dnsEndpoint?.spec.endpoints).toStrictEqual([
      { dnsName: 'a.example.com', targets: [] },
    ]);
  });

  const host = 'www.example.com';
  it.each<[string, V1IngressLoadBalancerIngress[], string | undefined, Endpoint[]]>([
    [
      'IPv4 addresses, numerically sorted, with TTL',
      [{ ip: '10.0.0.10' }, { ip: '10.0.0.9' }, { ip: '10.0.0.10' }],
      '60',
      [{ dnsName: host, recordType: 'A', targets: ['10.0.0.9', '10.0.0.10'], recordTTL: 60 }],
    ],
    [
      'IPv4 without a TTL annotation',
      [{ ip: '192.0.2.1' }],
      undefined,
      [{ dnsName: host, recordType: 'A', targets: ['192.0.2.1'] }],
    ],
    [
      'IPv6, lower-cased',
      [{ ip: '2001:DB8::1' }],
      '5m',
      [{ dnsName: host, recordType: 'AAAA', targets: ['2001:db8::1'], recordTTL: 300 }],
    ],
    [
      'IPv4 and IPv6',
      [{ ip: '2001:db8::1' }, { ip: '192.0.2.1' }],
      '60',
      [
        { dnsName: host, recordType: 'A', targets: ['192.0.2.1'], recordTTL: 60 },
        { dnsName: host, recordType: 'AAAA', targets: ['2001:db8::1'], recordTTL: 60 },
      ],
    ],
    [
      'an IP wins over a hostname',
      [{ hostname: 'lb.example.net' }, { ip: '192.0.2.1' }],
      undefined,
      [{ dnsName: host, recordType: 'A', targets: ['192.0.2.1'] }],
    ],
    [
      'an ELB hostname: ALIAS A and AAAA, no TTL even when set',
      [{ hostname: elbHost }],
      '60',
      [
        { dnsName: host, recordType: 'A', targets: [elbHost], aliasHostedZoneID: elbZone },
        { dnsName: host, recordType: 'AAAA', targets: [elbHost], aliasHostedZoneID: elbZone },
      ],
    ],
    [
      'another hostname: CNAME with TTL, normalized',
      [{ hostname: 'Ingress.Example.NET.' }],
      '120',
      [{ dnsName: host, recordType: 'CNAME', targets: ['ingress.example.net'], recordTTL: 120 }],
    ],
    [
      'another hostname without TTL',
      [{ hostname: 'ingress.example.net' }],
      undefined,
      [{ dnsName: host, recordType: 'CNAME', targets: ['ingress.example.net'] }],
    ],
  ])('%s', (_name, lb, ttl, expected) => {
    const d = desiredFor(
      ingress({
        annotations: ttl === undefined ? {} : { 'certroute.io/ttl': ttl },
        rules: [{ host }],
        lb,
      }),
      opts,
    );
    expect(d.problems).toEqual([]);
    expect(d.dnsEndpoint?.spec.endpoints).toStrictEqual(expected);
    expectSchemaValid(d);
  });

  it('repeats the records for every host', () => {
    const d = desiredFor(
      ingress({
        rules: [{ host: 'b.example.com' }, { host: 'a.example.com' }],
        lb: [{ ip: '192.0.2.1' }, { ip: '2001:db8::1' }],
      }),
      opts,
    );
    expect(d.dnsEndpoint?.spec.endpoints.map((e) => `${e.dnsName} ${e.recordType}`)).toEqual([
      'a.example.com A',
      'a.example.com AAAA',
      'b.example.com A',
      'b.example.com AAAA',
    ]);
  });

  it.each<[string, Record<string, string>, Endpoint[]]>([
    [
      'IPs in certroute.io/dns-target',
      { 'certroute.io/dns-target': '192.0.2.2, 192.0.2.1' },
      [{ dnsName: host, recordType: 'A', targets: ['192.0.2.1', '192.0.2.2'] }],
    ],
    [
      'a hostname in certroute.io/dns-target',
      { 'certroute.io/dns-target': 'Edge.Example.NET' },
      [{ dnsName: host, recordType: 'CNAME', targets: ['edge.example.net'] }],
    ],
    [
      'an ELB hostname in external-dns target',
      { 'external-dns.alpha.kubernetes.io/target': elbHost },
      [
        { dnsName: host, recordType: 'A', targets: [elbHost], aliasHostedZoneID: elbZone },
        { dnsName: host, recordType: 'AAAA', targets: [elbHost], aliasHostedZoneID: elbZone },
      ],
    ],
    [
      'an IPv6 address in external-dns target',
      { 'external-dns.kubernetes.io/target': '2001:db8::5' },
      [{ dnsName: host, recordType: 'AAAA', targets: ['2001:db8::5'] }],
    ],
  ])('the dns-target override wins over the status: %s', (_name, annotations, expected) => {
    const d = desiredFor(
      ingress({ annotations, rules: [{ host }], lb: [{ hostname: elbHost }, { ip: '10.9.9.9' }] }),
      opts,
    );
    expect(d.dnsEndpoint?.spec.endpoints).toStrictEqual(expected);
  });

  it('an override also gives records to an Ingress without status', () => {
    const d = desiredFor(
      ingress({ annotations: { 'certroute.io/dns-target': '192.0.2.7' }, rules: [{ host }] }),
      opts,
    );
    expect(d.dnsEndpoint?.spec.endpoints).toStrictEqual([
      { dnsName: host, recordType: 'A', targets: ['192.0.2.7'] },
    ]);
  });

  it.each<[string, boolean, Record<string, string>, boolean]>([
    ['dnsDefault on', true, {}, true],
    ['dnsDefault off', false, {}, false],
    ['annotation false beats dnsDefault on', true, { 'certroute.io/dns': 'false' }, false],
    ['annotation true beats dnsDefault off', false, { 'certroute.io/dns': 'true' }, true],
    ['garbage annotation keeps dnsDefault on', true, { 'certroute.io/dns': 'no' }, true],
    ['garbage annotation keeps dnsDefault off', false, { 'certroute.io/dns': 'yes' }, false],
  ])('%s', (_name, dnsDefault, annotations, present) => {
    const d = desiredFor(
      ingress({
        annotations: { ...withIssuer, ...annotations },
        rules: [{ host }],
        tls: [{ secretName: 's', hosts: [host] }],
        lb: [{ ip: '192.0.2.1' }],
      }),
      { ...opts, dnsDefault },
    );
    if (present) expect(d.dnsEndpoint).toBeDefined();
    else expect(d).not.toHaveProperty('dnsEndpoint');
    // Certificates do not depend on DNS
    expect(d.certificates.map((c) => c.metadata.name)).toEqual(['s']);
  });

  it.each<[string, IngressParts]>([
    ['no rules and no TLS', { lb: [{ ip: '192.0.2.1' }] }],
    ['rules without host', { rules: [{}], lb: [{ ip: '192.0.2.1' }] }],
    ['only invalid hosts', { rules: [{ host: 'nodots' }] }],
  ])('makes no DNSEndpoint with %s', (_name, parts) => {
    const d = desiredFor(ingress(parts), opts);
    expect(d).not.toHaveProperty('dnsEndpoint');
  });

  it('is deterministic: the same Ingress gives equal objects', () => {
    const make = () =>
      desiredFor(
        ingress({
          annotations: { ...withIssuer, 'certroute.io/hostname': 'z.example.com' },
          rules: [{ host: 'b.example.com' }, { host: 'a.example.com' }],
          tls: [{ secretName: 'x', hosts: ['b.example.com', 'a.example.com'] }],
          lb: [{ hostname: elbHost }],
        }),
        opts,
      );
    expect(canonical(make())).toBe(canonical(make()));
  });
});

describe('ingressClassOf / isWatchedClass', () => {
  function classed(spec?: string, annotation?: string): V1Ingress {
    return {
      metadata: {
        name: 'web',
        ...(annotation ? { annotations: { 'kubernetes.io/ingress.class': annotation } } : {}),
      },
      spec: spec ? { ingressClassName: spec } : {},
    };
  }

  it.each<[string, V1Ingress, string | undefined]>([
    ['spec.ingressClassName', classed('nginx'), 'nginx'],
    ['legacy annotation', classed(undefined, 'alb'), 'alb'],
    ['spec wins over the annotation', classed('nginx', 'alb'), 'nginx'],
    ['none', classed(), undefined],
    ['no spec at all', { metadata: { name: 'x' } }, undefined],
  ])('ingressClassOf: %s', (_name, ing, cls) => {
    expect(ingressClassOf(ing)).toBe(cls);
  });

  it.each<[string, V1Ingress, string[], boolean]>([
    ['empty list watches an Ingress without class', classed(), [], true],
    ['empty list watches any class', classed('whatever'), [], true],
    ['spec class listed', classed('nginx'), ['nginx'], true],
    ['spec class not listed', classed('alb'), ['nginx'], false],
    ['annotation class listed', classed(undefined, 'nginx'), ['nginx'], true],
    ['annotation class not listed', classed(undefined, 'alb'), ['nginx'], false],
    ['one of several', classed(undefined, 'alb'), ['nginx', 'alb'], true],
    ['no class with a list', classed(), ['nginx'], false],
    ['spec class decides over a listed annotation', classed('alb', 'nginx'), ['nginx'], false],
    ['spec class listed, annotation not', classed('nginx', 'alb'), ['nginx'], true],
    ['case-sensitive', classed('NGINX'), ['nginx'], false],
  ])('isWatchedClass: %s', (_name, ing, classes, watched) => {
    expect(isWatchedClass(ing, classes)).toBe(watched);
  });
});

describe('desiredFor and planChildren', () => {
  it('a desired set from desiredFor is a no-op against what the API server returns', () => {
    const ing = ingress({
      annotations: withIssuer,
      tls: [{ secretName: 's', hosts: ['example.com'] }],
      rules: [{ host: 'example.com' }],
      lb: [{ ip: '192.0.2.1' }],
    });
    const d = desiredFor(ing, opts);
    // the API server returns the same spec with its own key order, plus server-set fields
    const stored = d.certificates.map((c) => ({
      ...c,
      metadata: { ...c.metadata, resourceVersion: '9', uid: 'cert-uid' },
      spec: JSON.parse(canonical(c.spec)) as Certificate['spec'],
      status: { revision: 1 },
    }));
    expect(planChildren(d.certificates, stored, 'uid-web')).toEqual({
      create: [],
      update: [],
      delete: [],
      conflicts: [],
    });
    expect(planChildren(d.certificates, stored, 'uid-someone-else').conflicts).toEqual([
      { name: 's', owner: 'Ingress/web' },
    ]);
  });
});
