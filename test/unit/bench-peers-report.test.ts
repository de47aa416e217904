// The peer benchmark's pure parts: which tools BENCH_TOOLS selects, medians, quantiles, ratios,
// the formatting of the table, and when a host's records count as in.
import { describe, expect, it } from 'vitest';
import { allIn, apiDelta, median, quantile, type Written } from '../../bench/peers/observe.js';
import { fmt, markdownTable, medians, ratio, type RunResults } from '../../bench/peers/report.js';
import { selectTools } from '../../bench/peers/tools.js';
import type { SeenChange } from '../lab/aws-proxy.js';

describe('selectTools', () => {
  it.each([
    [undefined, ['certroute', 'external-dns-1m', 'external-dns-events']],
    ['certroute', ['certroute']],
    ['external-dns', ['external-dns-1m', 'external-dns-events']],
    ['external-dns-events, certroute', ['certroute', 'external-dns-events']],
  ])('%s → %j', (spec, want) => {
    expect(selectTools(spec)).toEqual(want);
  });
  it('refuses an unknown tool', () => {
    expect(() => selectTools('cert-manager')).toThrow(/unknown tool "cert-manager"/);
  });
});

describe('median and quantile', () => {
  it.each([
    [[], NaN],
    [[3], 3],
    [[3, 1], 2],
    [[5, 1, 3], 3],
    [[1, NaN, 3], 2], // a missing run does not count
  ])('median %j → %d', (xs, want) => {
    expect(median(xs)).toEqual(want);
  });
  it.each([
    [[], 0.5, NaN],
    [[10, 20, 30, 40], 0.5, 20],
    [[10, 20, 30, 40], 0.95, 40],
    [Array.from({ length: 30 }, (_, i) => i + 1), 0.95, 29],
  ])('quantile %j at %d → %d', (xs, q, want) => {
    expect(quantile(xs, q)).toEqual(want);
  });
});

describe('ratio and fmt', () => {
  it.each([
    [2, 4, '0.5'],
    [76, 42795, '0.0018'],
    [15, 1, '15'],
    [1, 3, '0.33'],
    [1, 0, '–'],
    [undefined, 1, '–'],
    [NaN, 1, '–'],
  ])('%d ÷ %d → %s', (c, p, want) => {
    expect(fmt(ratio(c, p))).toBe(want);
  });
});

describe('markdownTable', () => {
  it('gives medians per tool and certroute ÷ each peer, labelled rows first', () => {
    const results: RunResults = {
      certroute: [{ 'firstStart.allInSeconds': 2, 'calls.x': 1 }, { 'firstStart.allInSeconds': 4 }],
      'external-dns-events': [{ 'firstStart.allInSeconds': 6 }],
    };
    expect(medians(results).certroute?.['firstStart.allInSeconds']).toBe(3);
    expect(markdownTable(results, 2).split('\n')).toEqual([
      '| measure | certroute | external-dns --events | certroute ÷ external-dns --events |',
      '|---|---|---|---|',
      '| first start: all records in (s) | 3 | 6 | 0.5 |',
      '| calls.x | 1 | – | – |',
      '',
      'Medians of 2 run(s); "–": not measured for that tool.',
    ]);
  });
});

describe('allIn', () => {
  const ch = (type: string, name: string): SeenChange => ({
    at: 1,
    zone: 'Z',
    action: 'CREATE',
    type,
    name,
  });
  const w = (changes: SeenChange[]): Written => ({
    a: new Map(changes.filter((c) => c.type === 'A').map((c) => [c.name, c])),
    txt: new Map(changes.filter((c) => c.type === 'TXT').map((c) => [c.name, c])),
  });
  it.each([
    [[ch('A', 'h0.z'), ch('TXT', 'a-h0.z')], true],
    [[ch('A', 'h0.z')], false], // its ownership record is missing
    [[ch('TXT', 'a-h0.z'), ch('TXT', 'x.z')], false], // its A record is missing
    [[ch('A', 'h1.z'), ch('TXT', 'a-h1.z')], false], // another host's
  ])('%j → %s', (changes, want) => {
    expect(allIn(w(changes), ['h0.z'])).toBe(want);
  });
});

describe('apiDelta', () => {
  it('subtracts the benchmark’s own writes and drops kinds that did not move', () => {
    const before = new Map([
      ['POST ingresses', 10],
      ['GET x', 1],
    ]);
    const after = new Map([
      ['POST ingresses', 2010],
      ['GET x', 1],
      ['PATCH dnsendpoints/status', 3],
    ]);
    expect(apiDelta(after, before, { 'POST ingresses': 2000 })).toEqual({
      'PATCH dnsendpoints/status': 3,
    });
  });
});
