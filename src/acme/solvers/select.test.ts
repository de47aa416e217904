import { describe, expect, it } from 'vitest';
import type { Solver } from '../../api/v1alpha1.js';
import { selectSolver } from './select.js';

const http: Solver = { http01: {} };
const dns = (sel?: Solver['selector'], region = 'us-east-1'): Solver => ({
  ...(sel ? { selector: sel } : {}),
  dns01: { route53: { region } },
});

describe('selectSolver', () => {
  const cases: {
    name: string;
    solvers: Solver[];
    id: string;
    wildcard?: boolean;
    forced?: 'http01' | 'dns01';
    want: number | string;
  }[] = [
    { name: 'the default solver', solvers: [http], id: 'a.example.test', want: 0 },
    {
      name: 'dnsZones beats the default',
      solvers: [http, dns({ dnsZones: ['example.test'] })],
      id: 'a.example.test',
      want: 1,
    },
    {
      name: 'the longest dnsZones match wins',
      solvers: [dns({ dnsZones: ['example.test'] }), dns({ dnsZones: ['b.example.test'] })],
      id: 'x.b.example.test',
      want: 1,
    },
    {
      name: 'dnsNames beats the longest dnsZones',
      solvers: [
        dns({ dnsZones: ['b.example.test'] }),
        { ...http, selector: { dnsNames: ['x.b.example.test'] } },
      ],
      id: 'x.b.example.test',
      want: 1,
    },
    {
      name: 'a zone does not match a sibling with the same suffix',
      solvers: [http, dns({ dnsZones: ['ample.test'] })],
      id: 'a.example.test',
      want: 0,
    },
    {
      name: 'wildcards skip HTTP-01 solvers',
      solvers: [http, dns()],
      id: 'example.test',
      wildcard: true,
      want: 1,
    },
    {
      name: 'a wildcard with only HTTP-01 solvers',
      solvers: [http],
      id: 'example.test',
      wildcard: true,
      want: 'WildcardNeedsDNS01',
    },
    {
      name: 'dnsNames can name the wildcard itself',
      solvers: [dns(), dns({ dnsNames: ['*.example.test'] }, 'eu-west-1')],
      id: 'example.test',
      wildcard: true,
      want: 1,
    },
    {
      name: 'the Certificate forces DNS-01',
      solvers: [http, dns({ dnsZones: ['other.test'] }), dns()],
      id: 'a.example.test',
      forced: 'dns01',
      want: 2,
    },
    {
      name: 'no matching solver',
      solvers: [dns({ dnsZones: ['other.test'] })],
      id: 'a.example.test',
      want: 'NoSolver',
    },
    {
      name: 'first of equals wins',
      solvers: [http, dns()],
      id: 'a.example.test',
      want: 0,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = selectSolver(c.solvers, c.id, c.wildcard ?? false, c.forced);
      if (typeof c.want === 'number') {
        expect(got.ok && got.index).toBe(c.want);
      } else {
        expect(got.ok).toBe(false);
        if (!got.ok) {
          expect(got.reason).toBe(c.want);
          expect(got.message).toContain(c.id);
        }
      }
    });
  }
});
