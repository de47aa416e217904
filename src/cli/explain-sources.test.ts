import { describe, expect, it } from 'vitest';
import type { DNSEndpoint } from '../api/v1alpha1.js';
import type { Gateway, Route } from '../sources/gateway-api.js';
import { desiredForRoute, desiredForService } from '../sources/source-desired.js';
import { explainHost, type HostView } from './explain.js';
import { gatewayClaim, lookupOf, routeClaim, serviceClaim } from './gateway-claims.js';
import type { Claim } from './sources.js';
import { hostStatus } from './status.js';

// explain and status on hosts of the sources beyond Ingress: the claims come from the real
// objects through the CLI's claim functions, the DNSEndpoints from the operator's own.

const controllerName = 'example.net/gateway';
const classes = [{ metadata: { name: 'public' }, spec: { controllerName } }];
const host = 'www.shop.example';
const opts = { dnsDefault: false, defaultIssuer: '' };
const parentRef = { name: 'public', namespace: 'infra' };

function gateway(addresses: string[] = []): Gateway {
  return {
    metadata: { name: 'public', namespace: 'infra', uid: 'g1' },
    spec: {
      gatewayClassName: 'public',
      listeners: [
        {
          name: 'http',
          port: 80,
          protocol: 'HTTP',
          hostname: '*.shop.example',
          allowedRoutes: { namespaces: { from: 'All' } },
        },
      ],
    },
    status: { addresses: addresses.map((value) => ({ type: 'IPAddress', value })) },
  };
}

function route(accepted: boolean, hostnames = [host]): Route {
  return {
    metadata: {
      name: 'web',
      namespace: 'shop',
      uid: 'r1',
      annotations: { 'certroute.io/dns': 'true' },
    },
    spec: { parentRefs: [parentRef], hostnames },
    status: {
      parents: [
        {
          parentRef,
          controllerName,
          conditions: [{ type: 'Accepted', status: accepted ? 'True' : 'False' }],
        },
      ],
    },
  };
}

/** The DNSEndpoint the operator writes, with the status its DNS controller would give it. */
function published(e: DNSEndpoint | undefined, state: 'Published' | 'WaitingForAddress') {
  if (!e) throw new Error('the operator writes no DNSEndpoint here');
  const status = e.spec.endpoints.map((r) => ({
    dnsName: r.dnsName,
    recordType: r.recordType ?? '',
    state,
    ...(state === 'Published' ? { zoneID: 'Z1', owner: 'this' } : {}),
  }));
  return { ...e, status: { endpoints: status } } as DNSEndpoint;
}

function view(h: string, claims: Claim[], endpoints: DNSEndpoint[]): HostView {
  return {
    host: h,
    claims,
    endpoints: endpoints.filter((e) => e.spec.endpoints.some((r) => r.dnsName === h)),
    certificates: [],
    policies: [],
    namespace: { name: 'shop', labels: {} },
    issuers: new Map(),
    secrets: new Map(),
    unread: [],
    now: new Date('2030-06-10T00:00:00Z'),
  };
}

function routeCase(r: Route, gws: Gateway[], state: 'Published' | 'WaitingForAddress') {
  const lookup = lookupOf(gws, classes);
  const d = desiredForRoute(r, 'HTTPRoute', lookup, opts);
  const child = d.dnsEndpoint?.spec.endpoints.length
    ? published(d.dnsEndpoint, state)
    : d.dnsEndpoint;
  const endpoints = child ? [child] : [];
  const claims = [routeClaim(r, 'HTTPRoute', { lookup, endpoints }), ...gws.map(gatewayClaim)];
  return view(host, claims, endpoints);
}

const stepOf = (v: HostView, name: string) => explainHost(v).find((s) => s.step === name);

describe('explain and status on a route host', () => {
  it('accepted, its Gateway has an address, the record published: every DNS step passes', () => {
    const v = routeCase(route(true), [gateway(['192.0.2.10'])], 'Published');
    expect(stepOf(v, 'source')).toMatchObject({
      state: 'passed',
      detail: `HTTPRoute shop/web claims ${host}`,
    });
    expect(stepOf(v, 'address')).toMatchObject({
      state: 'passed',
      detail: 'HTTPRoute shop/web has address 192.0.2.10 (parent Gateway infra/public)',
    });
    expect(stepOf(v, 'record')).toMatchObject({ state: 'passed' });
    expect(hostStatus(v)).toMatchObject({
      source: 'HTTPRoute/web',
      dns: { record: 'A 192.0.2.10', state: 'Published' },
      ready: true,
    });
  });

  it('accepted, its Gateway has no address: the address step waits, naming the Gateway', () => {
    const v = routeCase(route(true), [gateway()], 'WaitingForAddress');
    expect(stepOf(v, 'source')?.state).toBe('passed');
    const address = stepOf(v, 'address');
    expect(address).toMatchObject({
      state: 'waiting',
      detail:
        'HTTPRoute shop/web: parent Gateway infra/public has no address (the operator: GatewayNoAddress)',
    });
    expect(address?.todo).toContain("Gateway's controller");
    expect(address?.todo).not.toContain('ingress controller');
    expect(hostStatus(v)).toMatchObject({ source: 'HTTPRoute/web', ready: false });
  });

  it("not accepted: the source step fails with the operator's RouteNotAccepted", () => {
    const v = routeCase(route(false), [gateway(['192.0.2.10'])], 'Published');
    // The operator's DNSEndpoint has no record, only the reason (its SourceValid condition).
    expect(v.endpoints).toEqual([]);
    const source = stepOf(v, 'source');
    expect(source?.state).toBe('failed');
    expect(source?.detail).toContain(`HTTPRoute shop/web claims ${host}, but (the operator says)`);
    expect(source?.detail).toContain('RouteNotAccepted: parentRef Gateway infra/public');
    expect(source?.todo).toContain('kubectl describe httproute -n shop web');
    expect(hostStatus(v)).toMatchObject({
      source: 'HTTPRoute/web',
      blocked: { step: 'source', state: 'failed' },
      ready: false,
    });
  });

  it('a hostname no listener allows: the source step fails for that host only', () => {
    const other = 'www.other.example';
    const r = route(true, [host, other]);
    const v = routeCase(r, [gateway(['192.0.2.10'])], 'Published');
    expect(stepOf(v, 'source')?.state).toBe('passed');
    const o = { ...v, host: other };
    expect(stepOf(o, 'source')).toMatchObject({ state: 'failed' });
    expect(stepOf(o, 'source')?.detail).toContain('HostnameNotAllowed');
    expect(stepOf(o, 'source')?.todo).toContain('give a listener of its parent Gateway');
  });
});

describe('explain and status on a LoadBalancer Service host', () => {
  const svc = (ip?: string) => ({
    metadata: {
      name: 'db',
      namespace: 'shop',
      uid: 's1',
      annotations: { 'certroute.io/hostname': 'db.shop.example' },
    },
    spec: { type: 'LoadBalancer' },
    ...(ip ? { status: { loadBalancer: { ingress: [{ ip }] } } } : {}),
  });

  function serviceCase(ip: string | undefined) {
    const s = svc(ip);
    const d = desiredForService(s, { ...opts, dnsDefault: true });
    const endpoints = [published(d.dnsEndpoint, ip ? 'Published' : 'WaitingForAddress')];
    const claim = serviceClaim(s, { lookup: lookupOf([], []), endpoints });
    return view('db.shop.example', claim ? [claim] : [], endpoints);
  }

  it('with an address: claimed by the Service, published', () => {
    const v = serviceCase('192.0.2.20');
    expect(stepOf(v, 'source')).toMatchObject({
      state: 'passed',
      detail: 'Service shop/db claims db.shop.example',
    });
    expect(stepOf(v, 'address')).toMatchObject({
      state: 'passed',
      detail: 'Service shop/db has address 192.0.2.20',
    });
    expect(hostStatus(v)).toMatchObject({ source: 'Service/db', ready: true });
  });

  it('no address yet: waits for its load balancer controller', () => {
    const address = stepOf(serviceCase(undefined), 'address');
    expect(address).toMatchObject({
      state: 'waiting',
      detail: 'Service shop/db has no load balancer address yet',
    });
    expect(address?.todo).toContain('load balancer controller');
  });
});
