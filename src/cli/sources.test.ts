import { describe, expect, it } from 'vitest';
import type { DNSEndpoint } from '../api/v1alpha1.js';
import type { Gateway, Route } from '../sources/gateway-api.js';
import { desiredForRoute, desiredForService } from '../sources/source-desired.js';
import { gatewayClaim, lookupOf, routeClaim, serviceClaim } from './gateway-claims.js';
import type { Api, Kind, Read } from './kube.js';
import { listClaims, type Claim } from './sources.js';

const group = 'gateway.networking.k8s.io';
const controllerName = 'example.net/gateway';
const classes = [{ metadata: { name: 'public' }, spec: { controllerName } }];

function gateway(o: { addresses?: string[]; issuer?: string; ns?: string } = {}): Gateway {
  return {
    apiVersion: `${group}/v1`,
    kind: 'Gateway',
    metadata: {
      name: 'public',
      namespace: o.ns ?? 'infra',
      uid: 'g1',
      ...(o.issuer ? { annotations: { 'certroute.io/issuer': o.issuer } } : {}),
    },
    spec: {
      gatewayClassName: 'public',
      listeners: [
        {
          name: 'https',
          port: 443,
          protocol: 'HTTPS',
          hostname: '*.shop.example',
          allowedRoutes: { namespaces: { from: 'All' } },
          tls: { certificateRefs: [{ name: 'shop-tls' }] },
        },
        { name: 'admin', port: 443, protocol: 'HTTPS', hostname: 'admin.example' },
      ],
    },
    ...(o.addresses
      ? { status: { addresses: o.addresses.map((value) => ({ type: 'IPAddress', value })) } }
      : {}),
  };
}

const parentRef = { name: 'public', namespace: 'infra', sectionName: 'https' };

function route(o: { accepted?: boolean; dns?: boolean; hostnames?: string[] } = {}): Route {
  return {
    apiVersion: `${group}/v1`,
    kind: 'HTTPRoute',
    metadata: {
      name: 'web',
      namespace: 'shop',
      uid: 'r1',
      ...(o.dns === false ? {} : { annotations: { 'certroute.io/dns': 'true' } }),
    },
    spec: { parentRefs: [parentRef], hostnames: o.hostnames ?? ['www.shop.example'] },
    ...(o.accepted === undefined
      ? {}
      : {
          status: {
            parents: [
              {
                parentRef,
                controllerName,
                conditions: [{ type: 'Accepted', status: o.accepted ? 'True' : 'False' }],
              },
            ],
          },
        }),
  };
}

function service(o: { type?: string; ip?: string; dns?: string } = {}) {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'db',
      namespace: 'shop',
      uid: 's1',
      annotations: {
        'external-dns.alpha.kubernetes.io/hostname': 'db.shop.example',
        ...(o.dns ? { 'certroute.io/dns': o.dns } : {}),
      },
    },
    spec: { type: o.type ?? 'LoadBalancer' },
    ...(o.ip ? { status: { loadBalancer: { ingress: [{ ip: o.ip }] } } } : {}),
  };
}

const opts = { dnsDefault: false, defaultIssuer: '' };

/** The DNSEndpoint the operator writes for a route (its own function), with a status. */
function routeChild(r: Route, gws: Gateway[]): DNSEndpoint {
  const d = desiredForRoute(r, 'HTTPRoute', lookupOf(gws, classes), opts);
  if (!d.dnsEndpoint) throw new Error('the operator writes no DNSEndpoint for this route');
  return d.dnsEndpoint;
}

const ctx = (gws: Gateway[], endpoints: DNSEndpoint[] = []) => ({
  lookup: lookupOf(gws, classes),
  endpoints,
});

describe('claims of the sources beyond Ingress', () => {
  it.each<[string, Route, Gateway[], Partial<Claim>]>([
    [
      'accepted, its Gateway has an address',
      route({ accepted: true }),
      [gateway({ addresses: ['192.0.2.10'] })],
      {
        managed: ['www.shop.example'],
        addresses: ['192.0.2.10'],
        parents: [{ namespace: 'infra', name: 'public', addresses: ['192.0.2.10'] }],
        problems: [],
      },
    ],
    [
      'accepted, its Gateway has no address yet',
      route({ accepted: true }),
      [gateway()],
      {
        managed: ['www.shop.example'],
        addresses: [],
        parents: [{ namespace: 'infra', name: 'public', addresses: [] }],
      },
    ],
    [
      'not accepted: the host is still claimed, with the reason',
      route({ accepted: false }),
      [gateway({ addresses: ['192.0.2.10'] })],
      { managed: ['www.shop.example'], problemsFrom: 'cli' },
    ],
    [
      'its Gateway unreadable: no addresses, and it says so',
      route({ accepted: true }),
      [],
      { addresses: [], parents: [{ namespace: 'infra', name: 'public' }] },
    ],
    [
      'no certroute.io/dns: it names the host and asks nothing',
      route({ accepted: true, dns: false }),
      [gateway({ addresses: ['192.0.2.10'] })],
      { managed: [], unmanaged: ['www.shop.example'] },
    ],
  ])('HTTPRoute: %s', (_n, r, gws, want) => {
    const c = routeClaim(r, 'HTTPRoute', ctx(gws));
    expect(c).toMatchObject({ kind: 'HTTPRoute', namespace: 'shop', name: 'web', ...want });
  });

  it('a target annotation instead of the Gateway address: the record targets are the address', () => {
    const r = route({ accepted: true });
    r.metadata!.annotations!['certroute.io/dns-target'] = 'lb.example.net';
    const c = routeClaim(r, 'HTTPRoute', ctx([gateway()]));
    expect(c).toMatchObject({ managed: ['www.shop.example'], addresses: ['lb.example.net'] });
  });

  it("a route not accepted: the reason is the operator's when its DNSEndpoint says it", () => {
    const r = route({ accepted: false });
    const child = routeChild(r, [gateway({ addresses: ['192.0.2.10'] })]);
    expect(child.spec.endpoints).toEqual([]);
    const c = routeClaim(r, 'HTTPRoute', ctx([], [child]));
    expect(c.problemsFrom).toBe('operator');
    expect(c.problems?.map((p) => p.reason)).toEqual(['RouteNotAccepted']);
    expect(c.managed).toEqual(['www.shop.example']);
  });

  it('hosts the route takes from its listener are claimed, from the DNSEndpoint too', () => {
    const r = route({ accepted: true, hostnames: [] });
    const gws = [gateway({ addresses: ['192.0.2.10'] })];
    expect(routeClaim(r, 'HTTPRoute', ctx(gws)).managed).toEqual(['*.shop.example']);
    // Gateways unreadable: what the operator wrote still names the host and its targets.
    const fromChild = routeClaim(r, 'HTTPRoute', ctx([], [routeChild(r, gws)]));
    expect(fromChild).toMatchObject({ managed: ['*.shop.example'], addresses: ['192.0.2.10'] });
  });

  it("a DNSEndpoint of the same name another object controls is not the route's", () => {
    const r = route({ accepted: false });
    const child = routeChild(r, [gateway()]);
    const other = {
      ...child,
      metadata: {
        ...child.metadata,
        ownerReferences: [{ ...child.metadata.ownerReferences![0]!, uid: 'x' }],
      },
    } as DNSEndpoint;
    expect(routeClaim(r, 'HTTPRoute', ctx([], [other])).problemsFrom).toBe('cli');
  });

  it.each<[string, ReturnType<typeof service>, Partial<Claim> | undefined]>([
    [
      'LoadBalancer with an address',
      service({ ip: '192.0.2.20' }),
      { managed: ['db.shop.example'], unmanaged: [], addresses: ['192.0.2.20'] },
    ],
    ['LoadBalancer, no address yet', service(), { managed: ['db.shop.example'], addresses: [] }],
    [
      'certroute.io/dns: "false": names the host, asks nothing',
      service({ dns: 'false' }),
      { managed: [], unmanaged: ['db.shop.example'] },
    ],
    ['ClusterIP: no source', service({ type: 'ClusterIP' }), undefined],
  ])('Service: %s', (_n, svc, want) => {
    const c = serviceClaim(svc, ctx([]));
    if (want === undefined) expect(c).toBeUndefined();
    else expect(c).toMatchObject({ kind: 'Service', name: 'db', ...want });
    // The same hosts the operator's Service source gives records.
    const d = desiredForService(svc, { ...opts, dnsDefault: true });
    expect(c?.managed ?? []).toEqual(d.dnsEndpoint?.spec.endpoints.map((e) => e.dnsName) ?? []);
  });

  it.each<[string, Gateway, Partial<Claim>]>([
    [
      'with an issuer: the listener Secret names, no record',
      gateway({ issuer: 'le', addresses: ['192.0.2.10'] }),
      { managed: ['*.shop.example'], unmanaged: ['admin.example'], addresses: ['192.0.2.10'] },
    ],
    [
      'without an issuer: names its TLS hosts, asks nothing',
      gateway(),
      { managed: [], unmanaged: ['*.shop.example', 'admin.example'], addresses: [] },
    ],
  ])('Gateway: %s', (_n, gw, want) => {
    expect(gatewayClaim(gw)).toMatchObject({
      kind: 'Gateway',
      className: 'public',
      ...want,
    });
  });
});

/**
 * An API as the user's rights see it: kinds not installed answer so, a list in all namespaces
 * or in a namespace not allowed is forbidden, a cluster-scoped kind has no namespace.
 */
function fakeApi(o: {
  objects: Partial<Record<string, unknown[]>>;
  installed: string[];
  namespaces?: string[];
}): Api & { lists: string[] } {
  const clusterScoped = new Set(['GatewayClass']);
  const lists: string[] = [];
  const refuse = () => Promise.reject(new Error('not used by listClaims'));
  return {
    namespace: 'shop',
    context: 'test',
    lists,
    list<T>(kind: Kind, namespace?: string): Promise<Read<T>> {
      lists.push(`${kind.kind}${namespace ? `/${namespace}` : ''}`);
      if (!o.installed.includes(kind.kind))
        return Promise.resolve({
          ok: false,
          why: `not installed: ${kind.resource}`,
          notInstalled: true,
        });
      if (clusterScoped.has(kind.kind) && namespace)
        return Promise.reject(new Error(`${kind.kind} is cluster-scoped`));
      const allowed =
        clusterScoped.has(kind.kind) || !o.namespaces
          ? true
          : namespace !== undefined && o.namespaces.includes(namespace);
      if (!allowed) return Promise.resolve({ ok: false, why: `forbidden: list ${kind.resource}` });
      const items = (o.objects[kind.kind] ?? []).filter(
        (x) => !namespace || (x as Route).metadata?.namespace === namespace,
      );
      return Promise.resolve({ ok: true, items: items as T[] });
    },
    get: refuse,
    annotate: refuse,
  };
}

const everything = ['Ingress', 'Service', 'Gateway', 'GatewayClass', 'HTTPRoute', 'GRPCRoute'];

describe('listClaims', () => {
  it('without the Gateway API CRDs: Ingresses and Services, no note', async () => {
    const api = fakeApi({ objects: { Service: [service()] }, installed: ['Ingress', 'Service'] });
    const r = await listClaims(api, 'shop');
    expect(r.unread).toEqual([]);
    expect(r.claims.map((c) => `${c.kind}/${c.name}`)).toEqual(['Service/db']);
  });

  it("a route's parent Gateway in another namespace is read once, for every route", async () => {
    const routes = [
      route({ accepted: true }),
      { ...route({ accepted: true }), metadata: { ...route().metadata, name: 'api', uid: 'r2' } },
    ];
    const api = fakeApi({
      objects: {
        HTTPRoute: routes,
        Gateway: [gateway({ addresses: ['192.0.2.10'] })],
        GatewayClass: classes,
      },
      installed: everything,
    });
    const r = await listClaims(api, 'shop');
    expect(r.unread).toEqual([]);
    expect(r.claims.map((c) => [c.name, c.addresses])).toEqual([
      ['web', ['192.0.2.10']],
      ['api', ['192.0.2.10']],
    ]);
    expect(api.lists.filter((l) => l.startsWith('Gateway'))).toEqual([
      'Gateway/shop',
      'Gateway',
      'GatewayClass',
    ]);
  });

  it('Gateways not readable everywhere: read in the namespace, with a note', async () => {
    const api = fakeApi({
      objects: { HTTPRoute: [route({ accepted: true })], Gateway: [gateway({ ns: 'shop' })] },
      installed: everything,
      namespaces: ['shop'],
    });
    const r = await listClaims(api, 'shop');
    expect(r.unread).toEqual([
      'forbidden: list gateways.gateway.networking.k8s.io: parent Gateways read in shop only',
    ]);
    expect(r.claims.find((c) => c.kind === 'HTTPRoute')?.parents).toEqual([
      { namespace: 'infra', name: 'public' },
    ]);
  });

  it('no route: the Gateways are not read for them', async () => {
    const api = fakeApi({ objects: {}, installed: everything });
    await listClaims(api, 'shop');
    expect(api.lists).not.toContain('Gateway');
    expect(api.lists).not.toContain('GatewayClass');
  });
});

describe('listClaims in all namespaces', () => {
  it('the Gateways read as sources serve the routes: no second list, one note when forbidden', async () => {
    const objects = {
      HTTPRoute: [route({ accepted: true })],
      Gateway: [gateway({ addresses: ['192.0.2.10'] })],
      GatewayClass: classes,
    };
    const api = fakeApi({ objects, installed: everything });
    const r = await listClaims(api, undefined);
    expect(r.claims.find((c) => c.kind === 'HTTPRoute')?.addresses).toEqual(['192.0.2.10']);
    expect(api.lists.filter((l) => l === 'Gateway')).toHaveLength(1);
    const denied = fakeApi({ objects, installed: everything, namespaces: ['shop'] });
    const d = await listClaims(denied, undefined);
    expect(d.unread.filter((u) => u.includes('gateways'))).toEqual([
      'forbidden: list gateways.gateway.networking.k8s.io',
    ]);
  });
});

describe('GRPCRoute and TLSRoute claims', () => {
  const tlsGateway: Gateway = {
    ...gateway({ addresses: ['192.0.2.30'] }),
    spec: {
      gatewayClassName: 'public',
      listeners: [
        {
          name: 'tls',
          port: 443,
          protocol: 'TLS',
          hostname: '*.shop.example',
          tls: { mode: 'Passthrough' },
          allowedRoutes: { namespaces: { from: 'All' } },
        },
      ],
    },
  };
  const as = (kind: 'GRPCRoute' | 'TLSRoute', accepted: boolean): Route => ({
    ...route({ accepted }),
    kind,
    spec: { parentRefs: [{ name: 'public', namespace: 'infra' }], hostnames: ['www.shop.example'] },
    status: {
      parents: [
        {
          parentRef: { name: 'public', namespace: 'infra' },
          controllerName,
          conditions: [{ type: 'Accepted', status: accepted ? 'True' : 'False' }],
        },
      ],
    },
  });

  it.each<[string, 'GRPCRoute' | 'TLSRoute', Gateway, boolean, string[]]>([
    [
      'GRPCRoute through an HTTPS listener',
      'GRPCRoute',
      gateway({ addresses: ['192.0.2.10'] }),
      true,
      [],
    ],
    ['TLSRoute through a TLS passthrough listener', 'TLSRoute', tlsGateway, true, []],
    ['TLSRoute not accepted', 'TLSRoute', tlsGateway, false, ['RouteNotAccepted']],
    // A TLS listener carries no GRPCRoute: the host matches no listener it may attach to.
    ['GRPCRoute on a TLS-only Gateway', 'GRPCRoute', tlsGateway, true, ['HostnameNotAllowed']],
  ])('%s', (_n, kind, gw, accepted, reasons) => {
    const c = routeClaim(as(kind, accepted), kind, ctx([gw]));
    expect(c).toMatchObject({ kind, managed: ['www.shop.example'] });
    expect(c.addresses).toEqual(gatewayAddressesOf(gw));
    expect(c.problems?.map((p) => p.reason)).toEqual(reasons);
  });
});

const gatewayAddressesOf = (gw: Gateway) => (gw.status?.addresses ?? []).map((a) => a.value);
