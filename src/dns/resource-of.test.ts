import { describe, expect, it } from 'vitest';
import { resourceOf, type Endpoint } from './endpoints.js';

/** The TXT `resource=` of a DNSEndpoint, external-dns's way of naming its source. */
describe('resourceOf', () => {
  const ep = (kind: string | undefined): Endpoint => ({
    apiVersion: 'certroute.io/v1alpha1',
    kind: 'DNSEndpoint',
    metadata: {
      name: 'child',
      namespace: 'app',
      ...(kind
        ? { ownerReferences: [{ apiVersion: 'x', kind, name: 'shop', uid: 'u', controller: true }] }
        : {}),
    },
    spec: { endpoints: [] },
  });
  it.each([
    ['Ingress', 'ingress/app/shop'],
    ['HTTPRoute', 'httproute/app/shop'],
    ['GRPCRoute', 'grpcroute/app/shop'],
    ['TLSRoute', 'tlsroute/app/shop'],
    ['Gateway', 'gateway/app/shop'],
    ['Service', 'service/app/shop'],
    ['Deployment', 'dnsendpoint/app/child'],
    [undefined, 'dnsendpoint/app/child'],
  ])('%s → %s', (kind, want) => expect(resourceOf(ep(kind))).toBe(want));
});
