import { describe, expect, it } from 'vitest';
import type { Gateway, ParentReference, Route } from './gateway-api.js';
import {
  deriveRouteHosts,
  gatewayAddresses,
  intersectHostname,
  isAccepted,
  listenersFor,
  parentGateway,
  type RouteLookup,
} from './routes.js';

describe('intersectHostname', () => {
  const cases: [string | undefined, string | undefined, string | undefined][] = [
    // listener, route, result
    [undefined, 'shop.apps.x', 'shop.apps.x'],
    [undefined, undefined, undefined],
    ['', 'shop.apps.x', 'shop.apps.x'],
    ['shop.apps.x', undefined, 'shop.apps.x'],
    ['*.apps.x', undefined, '*.apps.x'],
    ['shop.apps.x', 'shop.apps.x', 'shop.apps.x'],
    ['Shop.Apps.X.', 'shop.apps.x', 'shop.apps.x'],
    ['*.apps.x', 'shop.apps.x', 'shop.apps.x'],
    ['*.apps.x', 'a.b.apps.x', 'a.b.apps.x'],
    ['*.apps.x', 'apps.x', undefined],
    ['*.apps.x', 'shop.other.x', undefined],
    ['shop.apps.x', '*.apps.x', 'shop.apps.x'],
    ['apps.x', '*.apps.x', undefined],
    ['*.apps.x', '*.apps.x', '*.apps.x'],
    ['*.apps.x', '*.eu.apps.x', '*.eu.apps.x'],
    ['*.eu.apps.x', '*.apps.x', '*.eu.apps.x'],
    ['shop.apps.x', 'cart.apps.x', undefined],
    ['*.apps.x', 'xapps.x', undefined],
  ];
  it.each(cases)('listener %s, route %s → %s', (l, r, want) => {
    expect(intersectHostname(l, r)).toBe(want);
  });
});

describe('parentGateway', () => {
  const cases: [ParentReference, { namespace: string; name: string } | undefined][] = [
    [{ name: 'gw' }, { namespace: 'app', name: 'gw' }],
    [
      { name: 'gw', namespace: 'infra' },
      { namespace: 'infra', name: 'gw' },
    ],
    [
      { name: 'gw', kind: 'Gateway', group: 'gateway.networking.k8s.io' },
      { namespace: 'app', name: 'gw' },
    ],
    [{ name: 'svc', kind: 'Service', group: '' }, undefined],
    [{ name: 'gw', group: 'example.com' }, undefined],
  ];
  it.each(cases)('%j → %j', (ref, want) => expect(parentGateway(ref, 'app')).toEqual(want));
});

function gateway(over: Partial<Gateway> & { namespace?: string } = {}): Gateway {
  return {
    metadata: { name: 'gw', namespace: over.namespace ?? 'app', uid: 'g1' },
    spec: {
      gatewayClassName: 'traefik',
      listeners: [
        { name: 'http', port: 80, protocol: 'HTTP', hostname: '*.apps.x' },
        { name: 'https', port: 443, protocol: 'HTTPS', hostname: '*.apps.x' },
        { name: 'tls', port: 8443, protocol: 'TLS', hostname: 'db.apps.x' },
        {
          name: 'shared',
          port: 8080,
          protocol: 'HTTP',
          hostname: 'shared.apps.x',
          allowedRoutes: { namespaces: { from: 'All' } },
        },
      ],
    },
    status: { addresses: [{ type: 'IPAddress', value: '192.0.2.1' }] },
    ...over,
  };
}

describe('listenersFor', () => {
  const names = (ref: ParentReference, kind: 'HTTPRoute' | 'TLSRoute' | 'GRPCRoute', ns = 'app') =>
    listenersFor(ref, gateway(), kind, ns).map((l) => l.name);
  const cases: [
    string,
    ParentReference,
    'HTTPRoute' | 'TLSRoute' | 'GRPCRoute',
    string,
    string[],
  ][] = [
    ['all HTTP listeners', { name: 'gw' }, 'HTTPRoute', 'app', ['http', 'https', 'shared']],
    ['by sectionName', { name: 'gw', sectionName: 'https' }, 'HTTPRoute', 'app', ['https']],
    ['by port', { name: 'gw', port: 80 }, 'HTTPRoute', 'app', ['http']],
    [
      'sectionName and port disagree',
      { name: 'gw', sectionName: 'https', port: 80 },
      'HTTPRoute',
      'app',
      [],
    ],
    ['TLSRoute only on TLS', { name: 'gw' }, 'TLSRoute', 'app', ['tls']],
    ['GRPCRoute on HTTP(S)', { name: 'gw' }, 'GRPCRoute', 'app', ['http', 'https', 'shared']],
    [
      'other namespace: only from All',
      { name: 'gw', namespace: 'app' },
      'HTTPRoute',
      'web',
      ['shared'],
    ],
    ['wrong protocol for section', { name: 'gw', sectionName: 'tls' }, 'HTTPRoute', 'app', []],
  ];
  it.each(cases)('%s', (_n, ref, kind, ns, want) => expect(names(ref, kind, ns)).toEqual(want));

  it('allowedRoutes.kinds wins over the protocol', () => {
    const gw = gateway();
    gw.spec!.listeners = [
      { name: 'l', port: 80, protocol: 'HTTP', allowedRoutes: { kinds: [{ kind: 'GRPCRoute' }] } },
    ];
    expect(listenersFor({ name: 'gw' }, gw, 'HTTPRoute', 'app')).toEqual([]);
    expect(listenersFor({ name: 'gw' }, gw, 'GRPCRoute', 'app').map((l) => l.name)).toEqual(['l']);
  });
});

const accepted = (ref: ParentReference, controllerName = 'traefik.io/gateway-controller') => ({
  parentRef: ref,
  controllerName,
  conditions: [{ type: 'Accepted', status: 'True' }],
});

describe('isAccepted', () => {
  const ref = { name: 'gw', sectionName: 'https' };
  const cases: [string, Route, string | undefined, boolean][] = [
    [
      'Accepted=True from the controller',
      { status: { parents: [accepted(ref)] } },
      'traefik.io/gateway-controller',
      true,
    ],
    ['no status', {}, undefined, false],
    [
      'another controller',
      { status: { parents: [accepted(ref, 'other.io/x')] } },
      'traefik.io/gateway-controller',
      false,
    ],
    [
      'unknown class: any controller',
      { status: { parents: [accepted(ref, 'other.io/x')] } },
      undefined,
      true,
    ],
    [
      'another sectionName',
      { status: { parents: [accepted({ name: 'gw', sectionName: 'http' })] } },
      undefined,
      false,
    ],
    [
      'same ref with explicit defaults',
      {
        status: {
          parents: [
            accepted({
              ...ref,
              namespace: 'app',
              kind: 'Gateway',
              group: 'gateway.networking.k8s.io',
            }),
          ],
        },
      },
      undefined,
      true,
    ],
    [
      'Accepted=False',
      {
        status: {
          parents: [
            {
              parentRef: ref,
              controllerName: 'c',
              conditions: [{ type: 'Accepted', status: 'False', reason: 'NotAllowedByListeners' }],
            },
          ],
        },
      },
      'c',
      false,
    ],
  ];
  it.each(cases)('%s', (_n, route, controller, want) =>
    expect(isAccepted(route, ref, 'app', controller)).toBe(want),
  );
});

describe('gatewayAddresses', () => {
  it('takes IPAddress (the default type) and Hostname, skips other types', () => {
    const gw = gateway({
      status: {
        addresses: [
          { value: '192.0.2.1' },
          { type: 'IPAddress', value: '2001:db8::1' },
          { type: 'Hostname', value: 'lb.example.net' },
          { type: 'example.com/custom', value: 'x' },
        ],
      },
    });
    expect(gatewayAddresses(gw)).toEqual([
      { ip: '192.0.2.1' },
      { ip: '2001:db8::1' },
      { hostname: 'lb.example.net' },
    ]);
  });
});

describe('deriveRouteHosts', () => {
  const gws = new Map<string, Gateway>([
    ['app/gw', gateway()],
    ['app/bare', gateway({ status: {} })],
  ]);
  const lookup: RouteLookup = {
    gateway: (ns, name) => gws.get(`${ns}/${name}`),
    controllerOf: (c) => (c === 'traefik' ? 'traefik.io/gateway-controller' : undefined),
  };
  const route = (
    hostnames: string[] | undefined,
    refs: ParentReference[],
    acceptedRefs = refs,
  ): Route => ({
    metadata: { name: 'shop', namespace: 'app' },
    spec: { parentRefs: refs, ...(hostnames ? { hostnames } : {}) },
    status: { parents: acceptedRefs.map((r) => accepted(r)) },
  });
  const https = { name: 'gw', sectionName: 'https' };

  it('the route host under a wildcard listener, pointed at the Gateway address', () => {
    const out = deriveRouteHosts(route(['shop.apps.x'], [https]), 'HTTPRoute', lookup);
    expect(out).toEqual({
      hosts: [{ host: 'shop.apps.x', addresses: [{ ip: '192.0.2.1' }], gateways: ['app/gw'] }],
      problems: [],
    });
  });

  it('a route without hostnames takes the listener hostname', () => {
    const out = deriveRouteHosts(route(undefined, [https]), 'HTTPRoute', lookup);
    expect(out.hosts.map((h) => h.host)).toEqual(['*.apps.x']);
  });

  it('a hostname outside every listener gets no record and a reason', () => {
    const out = deriveRouteHosts(
      route(['shop.apps.x', 'shop.other.x'], [https]),
      'HTTPRoute',
      lookup,
    );
    expect(out.hosts.map((h) => h.host)).toEqual(['shop.apps.x']);
    expect(out.problems.map((p) => p.reason)).toEqual(['HostnameNotAllowed']);
    expect(out.problems[0]?.message).toContain('"shop.other.x"');
  });

  it('a route not accepted by its Gateway gets no record and a reason', () => {
    const out = deriveRouteHosts(route(['shop.apps.x'], [https], []), 'HTTPRoute', lookup);
    expect(out.hosts).toEqual([]);
    expect(out.problems.map((p) => p.reason)).toEqual(['RouteNotAccepted']);
    expect(out.problems[0]?.message).toContain('app/gw (listener https)');
  });

  it('a missing Gateway is a parent that did not accept', () => {
    const out = deriveRouteHosts(route(['shop.apps.x'], [{ name: 'nope' }]), 'HTTPRoute', lookup);
    expect(out.hosts).toEqual([]);
    expect(out.problems.map((p) => p.reason)).toEqual(['RouteNotAccepted']);
    expect(out.problems[0]?.message).toContain('no such Gateway');
  });

  it('a Gateway without an address: hosts listed with no targets, and a reason', () => {
    const out = deriveRouteHosts(
      route(['shop.apps.x'], [{ name: 'bare', sectionName: 'https' }]),
      'HTTPRoute',
      lookup,
    );
    expect(out.hosts).toEqual([{ host: 'shop.apps.x', addresses: [], gateways: ['app/bare'] }]);
    expect(out.problems.map((p) => p.reason)).toEqual(['GatewayNoAddress']);
  });

  it('annotation hostnames are intersected too, and parents merge', () => {
    const out = deriveRouteHosts(
      route(['shop.apps.x'], [https, { name: 'bare', sectionName: 'https' }]),
      'HTTPRoute',
      lookup,
      ['Extra.Apps.X'],
    );
    expect(out.hosts).toEqual([
      { host: 'extra.apps.x', addresses: [{ ip: '192.0.2.1' }], gateways: ['app/bare', 'app/gw'] },
      { host: 'shop.apps.x', addresses: [{ ip: '192.0.2.1' }], gateways: ['app/bare', 'app/gw'] },
    ]);
  });

  it('parentRefs to other kinds are ignored', () => {
    const out = deriveRouteHosts(
      route(['shop.apps.x'], [{ name: 'svc', kind: 'Service', group: '' }]),
      'HTTPRoute',
      lookup,
    );
    expect(out).toEqual({ hosts: [], problems: [] });
  });
});
