import { describe, expect, it } from 'vitest';
import { problemsOf } from '../dns/endpoints.js';
import type { Gateway, Listener, Route } from './gateway-api.js';
import type { RouteLookup } from './routes.js';
import {
  childName,
  desiredForGateway,
  desiredForRoute,
  desiredForService,
  parentGatewaysOf,
  type LoadBalancerService,
} from './source-desired.js';

const opts = { dnsDefault: true, defaultIssuer: '' };

function gateway(listeners: Listener[], annotations: Record<string, string> = {}): Gateway {
  return {
    metadata: { name: 'gw', namespace: 'app', uid: 'g1', annotations },
    spec: { gatewayClassName: 'c', listeners },
    status: { addresses: [{ type: 'Hostname', value: 'lb.example.net' }] },
  };
}

const https = (name: string, hostname: string | undefined, secret: string): Listener => ({
  name,
  port: 443,
  protocol: 'HTTPS',
  ...(hostname ? { hostname } : {}),
  tls: { mode: 'Terminate', certificateRefs: [{ name: secret }] },
});

describe('desiredForGateway', () => {
  const issuer = { 'certroute.io/issuer': 'le' };
  it('one Certificate per listener Secret, dnsNames the listener hostnames', () => {
    const out = desiredForGateway(
      gateway(
        [
          https('a', '*.apps.x', 'apps-tls'),
          https('b', 'apps.x', 'apps-tls'),
          https('c', 'shop.y', 'shop-tls'),
          { name: 'plain', port: 80, protocol: 'HTTP', hostname: 'plain.x' },
          {
            name: 'pass',
            port: 8443,
            protocol: 'TLS',
            hostname: 'db.x',
            tls: { mode: 'Passthrough' },
          },
        ],
        issuer,
      ),
      opts,
    );
    expect(out.problems).toEqual([]);
    expect(
      out.certificates.map((c) => [c.metadata.name, c.spec.dnsNames, c.spec.secretName]),
    ).toEqual([
      ['apps-tls', ['*.apps.x', 'apps.x'], 'apps-tls'],
      ['shop-tls', ['shop.y'], 'shop-tls'],
    ]);
    expect(out.certificates[0]?.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'Gateway',
        name: 'gw',
        uid: 'g1',
        controller: true,
      },
    ]);
    expect(out.certificates[0]?.spec.issuerRef).toEqual({ name: 'le' });
  });

  const cases: [string, Record<string, string>, Listener[], string[], number][] = [
    ['no issuer annotation: nothing', {}, [https('a', 'a.x', 's')], [], 0],
    [
      "cert-manager's cluster-issuer",
      { 'cert-manager.io/cluster-issuer': 'le' },
      [https('a', 'a.x', 's')],
      [],
      1,
    ],
    [
      "cert-manager's issuer",
      { 'cert-manager.io/issuer': 'ns-le' },
      [https('a', 'a.x', 's')],
      [],
      1,
    ],
    ['a listener without hostname', issuer, [https('a', undefined, 's')], ['InvalidTLS'], 0],
    [
      'a Secret in another namespace',
      issuer,
      [
        {
          ...https('a', 'a.x', 's'),
          tls: { certificateRefs: [{ name: 's', namespace: 'other' }] },
        },
      ],
      ['UnsupportedCertificateRef'],
      0,
    ],
    [
      'a reference to another kind',
      issuer,
      [
        {
          ...https('a', 'a.x', 's'),
          tls: { certificateRefs: [{ group: 'example.com', kind: 'Vault', name: 's' }] },
        },
      ],
      ['UnsupportedCertificateRef'],
      0,
    ],
    [
      'no certificateRefs',
      issuer,
      [{ name: 'a', port: 443, protocol: 'HTTPS', hostname: 'a.x', tls: {} }],
      ['InvalidTLS'],
      0,
    ],
    ['an invalid hostname', issuer, [https('a', 'a..x', 's')], ['InvalidHost'], 0],
    [
      'acm is refused',
      { ...issuer, 'certroute.io/target': 'acm', 'certroute.io/acm-region': 'eu-west-1' },
      [https('a', 'a.x', 's')],
      ['InvalidAnnotation'],
      0,
    ],
  ];
  it.each(cases)('%s', (_n, annotations, listeners, reasons, count) => {
    const out = desiredForGateway(gateway(listeners, annotations), opts);
    expect(out.problems.map((p) => p.reason)).toEqual(reasons);
    expect(out.certificates).toHaveLength(count);
  });

  it('cert-manager.io/issuer is a namespaced Issuer', () => {
    const out = desiredForGateway(
      gateway([https('a', 'a.x', 's')], { 'cert-manager.io/issuer': 'x' }),
      opts,
    );
    expect(out.certificates[0]?.spec.issuerRef).toEqual({ name: 'x', kind: 'Issuer' });
  });

  it('conflicting issuer annotations hold the Certificates', () => {
    const out = desiredForGateway(
      gateway([https('a', 'a.x', 's')], {
        'cert-manager.io/issuer': 'x',
        'cert-manager.io/cluster-issuer': 'y',
      }),
      opts,
    );
    expect(out.holdCertificates).toBe(true);
    expect(out.certificates).toEqual([]);
  });
});

describe('desiredForRoute', () => {
  const gw = gateway([https('https', '*.apps.x', 's')]);
  const lookup: RouteLookup = {
    gateway: (ns, name) => (ns === 'app' && name === 'gw' ? gw : undefined),
    controllerOf: () => undefined,
  };
  const route = (annotations: Record<string, string> = {}, hostnames = ['shop.apps.x']): Route => ({
    metadata: { name: 'shop', namespace: 'app', uid: 'r1', annotations },
    spec: { parentRefs: [{ name: 'gw' }], hostnames },
    status: {
      parents: [
        {
          parentRef: { name: 'gw' },
          controllerName: 'c',
          conditions: [{ type: 'Accepted', status: 'True' }],
        },
      ],
    },
  });

  it('a DNSEndpoint named after the kind, owned by the route, pointed at the Gateway', () => {
    const out = desiredForRoute(route(), 'HTTPRoute', lookup, opts);
    expect(out.dnsEndpoint?.metadata.name).toBe('httproute-shop');
    expect(out.dnsEndpoint?.metadata.ownerReferences?.[0]).toEqual(
      expect.objectContaining({ kind: 'HTTPRoute', name: 'shop', uid: 'r1' }),
    );
    expect(out.dnsEndpoint?.spec.endpoints).toEqual([
      { dnsName: 'shop.apps.x', recordType: 'CNAME', targets: ['lb.example.net'] },
    ]);
  });

  it("external-dns's ttl and hostname annotations on the route", () => {
    const out = desiredForRoute(
      route({
        'external-dns.alpha.kubernetes.io/ttl': '60',
        'external-dns.kubernetes.io/hostname': 'extra.apps.x',
      }),
      'HTTPRoute',
      lookup,
      opts,
    );
    expect(out.dnsEndpoint?.spec.endpoints.map((e) => [e.dnsName, e.recordTTL])).toEqual([
      ['extra.apps.x', 60],
      ['shop.apps.x', 60],
    ]);
  });

  it('a target annotation on the route, else on the Gateway, replaces the address', () => {
    const onRoute = desiredForRoute(
      route({ 'external-dns.alpha.kubernetes.io/target': '192.0.2.5' }),
      'HTTPRoute',
      lookup,
      opts,
    );
    expect(onRoute.dnsEndpoint?.spec.endpoints[0]).toEqual(
      expect.objectContaining({ recordType: 'A', targets: ['192.0.2.5'] }),
    );
    const annotated = gateway([https('https', '*.apps.x', 's')], {
      'external-dns.alpha.kubernetes.io/target': '192.0.2.6',
    });
    const out = desiredForRoute(
      route(),
      'HTTPRoute',
      { ...lookup, gateway: () => annotated },
      opts,
    );
    expect(out.dnsEndpoint?.spec.endpoints[0]?.targets).toEqual(['192.0.2.6']);
  });

  it('not managed: dns off by annotation, or by default', () => {
    expect(
      desiredForRoute(route({ 'certroute.io/dns': 'false' }), 'HTTPRoute', lookup, opts)
        .dnsEndpoint,
    ).toBeUndefined();
    expect(
      desiredForRoute(route(), 'HTTPRoute', lookup, { ...opts, dnsDefault: false }).dnsEndpoint,
    ).toBeUndefined();
    expect(
      desiredForRoute(route({ 'certroute.io/dns': 'true' }), 'HTTPRoute', lookup, {
        ...opts,
        dnsDefault: false,
      }).dnsEndpoint,
    ).toBeDefined();
  });

  it('every host left out: a DNSEndpoint with no endpoints, carrying the reasons', () => {
    const out = desiredForRoute(route({}, ['shop.other.y']), 'HTTPRoute', lookup, opts);
    expect(out.dnsEndpoint?.spec.endpoints).toEqual([]);
    expect(problemsOf(out.dnsEndpoint ?? {}).map((p) => p.reason)).toEqual(['HostnameNotAllowed']);
  });

  it('the parents a route names', () => {
    expect(parentGatewaysOf(route())).toEqual(['app/gw']);
  });
});

describe('desiredForService', () => {
  const svc = (
    annotations: Record<string, string>,
    type = 'LoadBalancer',
  ): LoadBalancerService => ({
    metadata: { name: 'db', namespace: 'app', uid: 's1', annotations },
    spec: { type },
    status: { loadBalancer: { ingress: [{ ip: '192.0.2.9' }, { ip: '2001:db8::9' }] } },
  });
  const cases: [string, LoadBalancerService, string[][]][] = [
    [
      'external-dns alpha prefix',
      svc({ 'external-dns.alpha.kubernetes.io/hostname': 'db.x' }),
      [
        ['db.x', 'A'],
        ['db.x', 'AAAA'],
      ],
    ],
    [
      'external-dns prefix, a list',
      svc({ 'external-dns.kubernetes.io/hostname': 'b.x, a.x' }),
      [
        ['a.x', 'A'],
        ['a.x', 'AAAA'],
        ['b.x', 'A'],
        ['b.x', 'AAAA'],
      ],
    ],
    ['no annotation: nothing', svc({}), []],
    [
      'not a LoadBalancer: nothing',
      svc({ 'external-dns.alpha.kubernetes.io/hostname': 'db.x' }, 'ClusterIP'),
      [],
    ],
    [
      'turned off',
      svc({ 'external-dns.alpha.kubernetes.io/hostname': 'db.x', 'certroute.io/dns': 'false' }),
      [],
    ],
  ];
  it.each(cases)('%s', (_n, s, want) => {
    const out = desiredForService(s, { ...opts, dnsDefault: false });
    expect(
      (out.dnsEndpoint?.spec.endpoints ?? []).map((e) => [e.dnsName, e.recordType ?? '']),
    ).toEqual(want);
  });

  it('named service-<name>, owned by the Service', () => {
    const out = desiredForService(
      svc({ 'external-dns.alpha.kubernetes.io/hostname': 'db.x' }),
      opts,
    );
    expect(out.dnsEndpoint?.metadata.name).toBe(childName('Service', 'db'));
    expect(out.dnsEndpoint?.metadata.ownerReferences?.[0]).toEqual(
      expect.objectContaining({ apiVersion: 'v1', kind: 'Service', name: 'db', uid: 's1' }),
    );
  });

  it('no address yet: hosts listed without a type', () => {
    const s = svc({ 'external-dns.alpha.kubernetes.io/hostname': 'db.x' });
    s.status = {};
    expect(desiredForService(s, opts).dnsEndpoint?.spec.endpoints).toEqual([
      { dnsName: 'db.x', targets: [] },
    ]);
  });
});
