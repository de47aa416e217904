// The peer benchmark's report: medians over runs per tool, and certroute ÷ peer, as a
// Markdown table (stdout) and a JSON file.
import type { Measures } from './dns.js';
import { median } from './observe.js';
import type { ToolId } from './tools.js';

/** Every run's measures: tool → run → "workload.measure" → value. */
export type RunResults = Partial<Record<ToolId, Measures[]>>;

const labels: Record<string, string> = {
  'firstStart.allInSeconds': 'first start: all records in (s)',
  'firstStart.cpuSeconds': 'first start: CPU until then (s)',
  'firstStart.peakRssMb': 'first start: peak RSS (MB)',
  'burst.writesSeconds': 'burst: the writes took (s)',
  'burst.allInSeconds': 'burst: all records in, from its start (s)',
  'burst.cpuSeconds': 'burst: CPU (s)',
  'burst.rssAfterMb': 'burst: RSS after (MB)',
  'burst.peakRssMb': 'burst: peak RSS (MB)',
  'burst.apiRequestsPerHost': 'burst: API server requests per host',
  'burst.latency.p50ms': 'single host: p50, patch → change (ms)',
  'burst.latency.p95ms': 'single host: p95, patch → change (ms)',
  'burst.latency.ownP50ms': "single host: p50, certroute's histogram (ms)",
  'burst.latency.ownP95ms': "single host: p95, certroute's histogram (ms)",
  'burstLimited.allInSeconds': '5 req/s: all records in (s)',
  'burstLimited.cpuSeconds': '5 req/s: CPU (s)',
  'burstLimited.writesSeconds': '5 req/s: the writes took (s)',
  'manyZones.medianMs': '41 zones, no filter: first change (median ms)',
};

/** Rows: the labelled measures in order, then the rest (calls and API kinds) by name. */
export function rowKeys(results: RunResults): string[] {
  const seen = new Set<string>();
  for (const runs of Object.values(results))
    for (const m of runs ?? []) for (const k in m) seen.add(k);
  const known = Object.keys(labels).filter((k) => seen.has(k));
  const rest = [...seen].filter((k) => !(k in labels)).sort();
  return [...known, ...rest];
}

export function medians(results: RunResults): Partial<Record<ToolId, Measures>> {
  const out: Partial<Record<ToolId, Measures>> = {};
  for (const [tool, runs] of Object.entries(results) as [ToolId, Measures[]][]) {
    const m: Measures = {};
    for (const k of rowKeys({ [tool]: runs })) m[k] = median(runs.map((r) => r[k] ?? NaN));
    out[tool] = m;
  }
  return out;
}

/** certroute ÷ peer, or undefined where either is missing or the peer is 0. */
export function ratio(c: number | undefined, p: number | undefined): number | undefined {
  if (c === undefined || p === undefined || !Number.isFinite(c) || !Number.isFinite(p)) return;
  if (p === 0) return;
  return c / p;
}

/** Two decimals; two significant digits below 0.1, so that a small ratio does not read 0. */
export function fmt(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '–';
  if (x !== 0 && Math.abs(x) < 0.1) return String(Number(x.toPrecision(2)));
  return String(Math.round(x * 100) / 100);
}

const peers: ToolId[] = ['external-dns-1m', 'external-dns-events'];
const heads: Record<ToolId, string> = {
  certroute: 'certroute',
  'external-dns-1m': 'external-dns, 1 min',
  'external-dns-events': 'external-dns --events',
};

export function markdownTable(results: RunResults, runs: number): string {
  const med = medians(results);
  const tools = (Object.keys(heads) as ToolId[]).filter((t) => med[t]);
  const ratios = med.certroute ? peers.filter((p) => med[p]) : [];
  const head = [
    'measure',
    ...tools.map((t) => heads[t]),
    ...ratios.map((p) => `certroute ÷ ${heads[p]}`),
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const k of rowKeys(results)) {
    // Kinds that round to 0 per host for every tool (watch reconnects of the lab's other
    // clients) stay in the JSON, out of the table.
    if (tools.every((t) => !med[t]?.[k])) continue;
    const cells = tools.map((t) => fmt(med[t]?.[k]));
    const rs = ratios.map((p) => fmt(ratio(med.certroute?.[k], med[p]?.[k])));
    lines.push(`| ${labels[k] ?? k} | ${[...cells, ...rs].join(' | ')} |`);
  }
  lines.push('', `Medians of ${runs} run(s); "–": not measured for that tool.`);
  return lines.join('\n');
}
