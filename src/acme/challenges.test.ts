import { describe, expect, it } from 'vitest';
import type { Solver } from '../api/v1alpha1.js';
import { solverIngressClass } from './challenges.js';

const solvers: Solver[] = [
  { http01: { ingressClassName: 'public' }, selector: { dnsZones: ['example.test'] } },
  { http01: { ingressClassName: 'internal' }, selector: { dnsZones: ['corp.example.test'] } },
  { http01: {} },
  { dns01: { route53: {} } },
] as Solver[];
const account = { spec: { acme: { solvers } } } as unknown as Parameters<
  typeof solverIngressClass
>[0];

describe('solverIngressClass', () => {
  it.each([
    { name: 'the matched solver names a class', solver: 1, want: 'internal' },
    { name: 'the first solver is not the matched one', solver: 0, want: 'public' },
    { name: 'the matched solver names none: the Ingress class', solver: 2, want: 'traefik' },
    { name: 'no solver recorded: the Ingress class', solver: undefined, want: 'traefik' },
    { name: 'an index out of range: the Ingress class', solver: 9, want: 'traefik' },
  ])('$name', ({ solver, want }) => {
    expect(solverIngressClass(account, solver === undefined ? {} : { solver }, 'traefik')).toBe(
      want,
    );
  });
});
