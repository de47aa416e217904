import { describe, expect, it } from 'vitest';
import {
  countByOperation,
  median,
  medians,
  ratio,
  ratios,
  type Measures,
} from '../../bench/peers/summary.js';

describe('countByOperation', () => {
  it.each([
    [[], {}],
    [[{ operation: 'GetChange' }], { GetChange: 1 }],
    [
      [
        { operation: 'GetChange' },
        { operation: 'ChangeResourceRecordSets' },
        { operation: 'GetChange' },
      ],
      { ChangeResourceRecordSets: 1, GetChange: 2 },
    ],
    [
      [{ operation: 'GET /2013-04-01/hostedzonesbyname' }, { operation: 'GET /other' }],
      { ListHostedZonesByName: 1, 'GET /other': 1 },
    ],
  ])('%j → %j', (calls, want) => {
    expect(countByOperation(calls)).toEqual(want);
  });
});

describe('median', () => {
  it.each([
    [[], NaN],
    [[3], 3],
    [[5, 1, 3], 3],
    [[4, 1, 3, 2], 2.5],
  ])('%j → %d', (values, want) => {
    expect(median(values)).toEqual(want);
  });
});

describe('ratio', () => {
  it.each([
    [10, 4, 2.5],
    [1, 3, 0.33],
    [0, 5, 0],
    [5, 0, null],
    [NaN, 2, null],
  ])('%d ÷ %d → %s', (a, b, want) => {
    expect(ratio(a, b)).toBe(want);
  });
});

const run = (seconds: number, calls: Record<string, number>): Measures => ({
  seconds,
  route53Calls: calls,
  cpuS: seconds / 10,
  peakRssMb: 100,
  orders: 3,
  certificatesIssued: 3,
  failedValidations: 0,
});

describe('medians and ratios', () => {
  it('takes each measure and each operation on its own, absent operations as 0', () => {
    const m = medians([run(10, { A: 2 }), run(30, { A: 4, B: 1 }), run(20, { A: 3 })]);
    expect(m).toMatchObject({ seconds: 20, route53Total: 3, route53Calls: { A: 3, B: 0 } });
    expect(m.cpuS).toBeCloseTo(2);
  });
  it('divides certroute by the peer, null where the peer has none', () => {
    const r = ratios(medians([run(10, { A: 4, C: 1 })]), medians([run(40, { A: 2, B: 3 })]));
    expect(r).toMatchObject({
      seconds: 0.25,
      route53Total: 1,
      'route53.A': 2,
      'route53.B': 0,
      'route53.C': null,
      failedValidations: null,
    });
  });
});
