import type { V1Ingress } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { certificate } from '../api/v1alpha1.js';
import { desiredFor, type ShimOptions } from './ingress.js';

const opts: ShimOptions = { dnsDefault: false, defaultIssuer: '', ingressClasses: [] };

function ingress(annotations: Record<string, string>): V1Ingress {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: 'web', namespace: 'shop', uid: 'uid-web', annotations },
    spec: { tls: [{ secretName: 'web-tls', hosts: ['b.example.com', 'a.example.com'] }] },
  };
}

describe('desiredFor: certroute.io/target: acm-issued', () => {
  it.each<[string, Record<string, string>, ShimOptions, Record<string, unknown> | undefined]>([
    [
      'no issuer needed; the annotation region',
      { 'certroute.io/target': 'acm-issued', 'certroute.io/acm-region': 'eu-west-1' },
      opts,
      { region: 'eu-west-1', issued: true },
    ],
    [
      'the operator region',
      { 'certroute.io/target': 'acm-issued' },
      { ...opts, awsRegion: 'us-east-1' },
      { region: 'us-east-1', issued: true },
    ],
    [
      'no region anywhere: no Certificate',
      { 'certroute.io/target': 'acm-issued' },
      opts,
      undefined,
    ],
    [
      'an issuer named as well is kept in issuerRef (unused)',
      { 'certroute.io/target': 'acm-issued', 'certroute.io/issuer': 'le' },
      { ...opts, awsRegion: 'us-east-1' },
      { region: 'us-east-1', issued: true },
    ],
  ])('%s', (_name, annotations, o, acm) => {
    const d = desiredFor(ingress(annotations), o);
    if (!acm) {
      expect(d.certificates).toEqual([]);
      expect(d.problems.map((p) => p.message)).toEqual([
        'certroute.io/acm-region: target "acm-issued" needs a region: set this annotation or the operator\'s AWS region',
      ]);
      return;
    }
    expect(d.problems).toEqual([]);
    const [c] = d.certificates;
    expect(c?.metadata.name).toBe('web-tls');
    expect(c?.spec.acm).toEqual(acm);
    expect(c?.spec).not.toHaveProperty('secretName');
    expect(c?.spec.dnsNames).toEqual(['a.example.com', 'b.example.com']);
    expect(c?.spec.issuerRef.name).toBe(annotations['certroute.io/issuer'] ?? 'acm');
    expect(certificate.safeParse(c).error).toBeUndefined();
  });

  it('target acm still needs an issuer', () => {
    const d = desiredFor(ingress({ 'certroute.io/target': 'acm' }), { ...opts, awsRegion: 'x-1' });
    expect(d.certificates).toEqual([]);
  });
});
