import { describe, expect, it } from 'vitest';
import type { GatewayHTTPRoute } from '../../api/gateway-http01.js';
import { solver } from '../../api/v1alpha1.js';
import {
  challengeRoute,
  routeAcceptance,
  type HTTPRouteObject,
  type HTTPRouteParentStatus,
} from './http01-route.js';

const metadata = {
  name: 'certroute-http01-0123456789',
  namespace: 'shop',
  labels: { 'certroute.io/solver': 'http01', 'certroute.io/certificate': 'web' },
  ownerReferences: [
    { apiVersion: 'certroute.io/v1alpha1', kind: 'Certificate', name: 'web', uid: 'u1' },
  ],
};
const path = '/.well-known/acme-challenge/';

describe('challengeRoute', () => {
  it('attaches to the parentRefs, for the host, the challenge prefix to the solver Service', () => {
    const r = challengeRoute(metadata, 'shop.example.com', path, {
      parentRefs: [{ name: 'public' }],
    });
    expect(r).toEqual({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { ...metadata, labels: metadata.labels },
      spec: {
        parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'public' }],
        hostnames: ['shop.example.com'],
        rules: [
          {
            matches: [{ path: { type: 'PathPrefix', value: path } }],
            backendRefs: [
              { group: '', kind: 'Service', name: 'certroute-http01-0123456789', port: 80 },
            ],
          },
        ],
      },
    });
  });

  const refs: {
    name: string;
    ref: GatewayHTTPRoute['parentRefs'][number];
    want: Record<string, unknown>;
  }[] = [
    { name: 'name only', ref: { name: 'gw' }, want: { name: 'gw' } },
    {
      name: 'another namespace',
      ref: { name: 'gw', namespace: 'infra' },
      want: { name: 'gw', namespace: 'infra' },
    },
    {
      name: 'one listener',
      ref: { name: 'gw', sectionName: 'http' },
      want: { name: 'gw', sectionName: 'http' },
    },
    { name: 'a port', ref: { name: 'gw', port: 80 }, want: { name: 'gw', port: 80 } },
    {
      name: "cert-manager's group and kind",
      ref: { name: 'gw', group: 'gateway.networking.k8s.io', kind: 'Gateway' },
      want: { name: 'gw' },
    },
  ];
  it.each(refs)('parentRef: $name', ({ ref, want }) => {
    const r = challengeRoute(metadata, 'h.example.com', path, { parentRefs: [ref] });
    expect(r.spec.parentRefs).toEqual([
      { group: 'gateway.networking.k8s.io', kind: 'Gateway', ...want },
    ]);
  });

  it("adds the issuer's labels under certroute's own, and its annotations", () => {
    const r = challengeRoute(metadata, 'h.example.com', path, {
      parentRefs: [{ name: 'gw' }],
      labels: { team: 'web', 'certroute.io/solver': 'mine' },
      annotations: { note: 'x' },
    });
    expect(r.metadata.labels).toEqual({ team: 'web', ...metadata.labels });
    expect(r.metadata.annotations).toEqual({ note: 'x' });
  });
});

function route(parents: HTTPRouteParentStatus[] | undefined, generation = 1): HTTPRouteObject {
  const r = challengeRoute({ ...metadata }, 'h.example.com', path, {
    parentRefs: [{ name: 'gw', sectionName: 'web' }],
  });
  r.metadata.generation = generation;
  if (parents) r.status = { parents };
  return r;
}
const gwRef = {
  group: 'gateway.networking.k8s.io',
  kind: 'Gateway',
  name: 'gw',
  sectionName: 'web',
};
const cond = (type: string, status: string, extra: Record<string, unknown> = {}) => ({
  type,
  status,
  observedGeneration: 1,
  ...extra,
});

describe('routeAcceptance', () => {
  const cases: { name: string; r: HTTPRouteObject; ok: boolean; says?: RegExp }[] = [
    { name: 'no status yet', r: route(undefined), ok: false, says: /no status from Gateway/ },
    {
      name: 'accepted with refs resolved',
      r: route([
        {
          parentRef: gwRef,
          conditions: [cond('Accepted', 'True'), cond('ResolvedRefs', 'True')],
        },
      ]),
      ok: true,
    },
    {
      name: 'accepted, the parent namespace written out',
      r: route([
        { parentRef: { ...gwRef, namespace: 'shop' }, conditions: [cond('Accepted', 'True')] },
      ]),
      ok: true,
    },
    {
      name: 'not accepted: the reason and message said',
      r: route([
        {
          parentRef: gwRef,
          conditions: [
            cond('Accepted', 'False', { reason: 'NoMatchingListenerHostname', message: 'none' }),
          ],
        },
      ]),
      ok: false,
      says: /not accepted by Gateway shop\/gw \(listener web\): NoMatchingListenerHostname: none/,
    },
    {
      name: 'the status of another listener does not count',
      r: route([
        { parentRef: { ...gwRef, sectionName: 'other' }, conditions: [cond('Accepted', 'True')] },
      ]),
      ok: false,
      says: /no status/,
    },
    {
      name: 'the status of a Gateway of that name in another namespace does not count',
      r: route([
        { parentRef: { ...gwRef, namespace: 'infra' }, conditions: [cond('Accepted', 'True')] },
      ]),
      ok: false,
      says: /no status/,
    },
    {
      name: 'accepted for an older generation',
      r: route([{ parentRef: gwRef, conditions: [cond('Accepted', 'True')] }], 2),
      ok: false,
      says: /has not seen generation 2/,
    },
    {
      name: 'accepted, but the Service not resolved',
      r: route([
        {
          parentRef: gwRef,
          conditions: [
            cond('Accepted', 'True'),
            cond('ResolvedRefs', 'False', { reason: 'BackendNotFound' }),
          ],
        },
      ]),
      ok: false,
      says: /cannot resolve its backend: BackendNotFound/,
    },
  ];
  it.each(cases)('$name', ({ r, ok, says }) => {
    const got = routeAcceptance(r);
    expect(got.ok).toBe(ok);
    if (!got.ok && says) expect(got.message).toMatch(says);
  });

  it('needs every parent to accept', () => {
    const r = challengeRoute(metadata, 'h.example.com', path, {
      parentRefs: [{ name: 'a' }, { name: 'b' }],
    });
    r.status = {
      parents: [{ parentRef: { name: 'a' }, conditions: [cond('Accepted', 'True')] }],
    };
    expect(routeAcceptance(r)).toEqual({
      ok: false,
      message: expect.stringMatching(/no status from Gateway shop\/b/) as string,
    });
  });
});

describe('http01.gatewayHTTPRoute in the issuer schema', () => {
  it('takes parentRefs, labels and annotations', () => {
    const s = solver.parse({
      http01: {
        gatewayHTTPRoute: {
          parentRefs: [{ name: 'gw', namespace: 'infra', sectionName: 'http', port: 80 }],
          labels: { a: 'b' },
        },
      },
    });
    expect(s.http01?.gatewayHTTPRoute?.parentRefs[0]?.sectionName).toBe('http');
  });
  it.each([
    { name: 'no parentRefs', v: { parentRefs: [] } },
    { name: 'a parentRef without a name', v: { parentRefs: [{ namespace: 'x' }] } },
    { name: 'a port out of range', v: { parentRefs: [{ name: 'g', port: 0 }] } },
    { name: 'an upper-case sectionName', v: { parentRefs: [{ name: 'g', sectionName: 'Web' }] } },
    { name: 'a parent of another kind', v: { parentRefs: [{ name: 'g', kind: 'Service' }] } },
  ])('refuses $name', ({ v }) => {
    expect(solver.safeParse({ http01: { gatewayHTTPRoute: v } }).success).toBe(false);
  });
});
