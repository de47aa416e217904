// What the peer benchmark reads to see what a tool did, the same way for every tool: the lab
// AWS proxy's change and call logs (never moto's listings: moto is slow to list, and polling
// it would slow the tool under test), the tool's process in /proc, and the API server's own
// request counter.
import { request } from 'node:https';
import { callsSeen, changesSeen, type SeenChange } from '../../test/lab/aws-proxy.js';
import type { Lab } from '../../test/lab/lab.js';
import { waitFor, type ManagedProcess } from '../../test/lab/process.js';
import { parseMetrics } from '../lib.js';

/** The A and TXT records (by name: the first write since `since`) written, not deleted. */
export interface Written {
  a: Map<string, SeenChange>;
  txt: Map<string, SeenChange>;
}

/** Record changes accepted in `zoneIds` since `since` (ms since the epoch). */
export async function written(endpoint: string, zoneIds: string[], since: number) {
  const zones = new Set(zoneIds);
  const out: Written = { a: new Map(), txt: new Map() };
  for (const c of await changesSeen(endpoint, '', since)) {
    if (!zones.has(c.zone) || c.action === 'DELETE') continue;
    if (c.type === 'A' && !out.a.has(c.name)) out.a.set(c.name, c);
    if (c.type === 'TXT' && !out.txt.has(c.name)) out.txt.set(c.name, c);
  }
  return out;
}

/**
 * Whether every host has its A record and at least one ownership TXT record each has been
 * written (both tools write one TXT per record: certroute's companion, external-dns's
 * "a-" prefixed registry record).
 */
export function allIn(w: Written, hosts: readonly string[]): boolean {
  return w.txt.size >= hosts.length && hosts.every((h) => w.a.has(h));
}

/**
 * Waits until every host's records are in; resolves with when the last of them was accepted
 * (ms since the epoch), not when the poll saw it.
 */
export async function waitAllIn(
  endpoint: string,
  zoneIds: string[],
  hosts: readonly string[],
  since: number,
  proc: ManagedProcess,
  timeoutMs = 600_000,
): Promise<number> {
  let last = 0;
  await waitFor(
    `${hosts.length} hosts' records in`,
    async () => {
      const w = await written(endpoint, zoneIds, since);
      if (!allIn(w, hosts)) return false;
      last = Math.max(
        ...hosts.map((h) => w.a.get(h)?.at ?? 0),
        ...[...w.txt.values()].map((c) => c.at),
      );
      return true;
    },
    { timeoutMs, intervalMs: 250, proc },
  );
  return last;
}

/** Route53 calls by operation between `since` and `until`; refused ones also as `<op>.refused`. */
export async function callsByKind(
  endpoint: string,
  since: number,
  until = Infinity,
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const c of await callsSeen(endpoint, since)) {
    if (c.at > until) continue;
    out[c.operation] = (out[c.operation] ?? 0) + 1;
    if (c.refused) out[`${c.operation}.refused`] = (out[`${c.operation}.refused`] ?? 0) + 1;
  }
  return out;
}

/**
 * Waits until the tool has listed every zone since `since` and then made no Route53 call for
 * `quietMs`: it has synced and is idle.
 */
export async function waitSynced(
  endpoint: string,
  zoneIds: string[],
  since: number,
  proc: ManagedProcess,
  quietMs = 2000,
): Promise<void> {
  await waitFor(
    'tool synced and idle',
    async () => {
      const calls = (await callsSeen(endpoint, since)).filter((c) => !c.refused);
      const listed = new Set(
        calls.filter((c) => c.operation === 'ListResourceRecordSets').map((c) => c.zone),
      );
      const lastAt = Math.max(since, ...calls.map((c) => c.at));
      return zoneIds.every((z) => listed.has(z)) && Date.now() - lastAt >= quietMs;
    },
    { timeoutMs: 300_000, intervalMs: 250, proc },
  );
}

/** apiserver_request_total summed by "VERB resource[/subresource]". */
export async function apiRequests(lab: Lab): Promise<Map<string, number>> {
  const text = await new Promise<string>((resolve, reject) => {
    const req = request(
      `${lab.env.kubeApiServer}/metrics`,
      // The lab's own API server on loopback, with its admin token (as test/lab/kube.ts asks it).
      { headers: { authorization: `Bearer ${lab.kube.adminToken}` }, rejectUnauthorized: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      },
    );
    req.on('error', reject);
    req.end();
  });
  const out = new Map<string, number>();
  for (const s of parseMetrics(text)) {
    if (s.name !== 'apiserver_request_total') continue;
    const sub = s.labels.subresource ? `/${s.labels.subresource}` : '';
    const key = `${s.labels.verb ?? ''} ${s.labels.resource ?? ''}${sub}`;
    out.set(key, (out.get(key) ?? 0) + s.value);
  }
  return out;
}

/** after − before − what the benchmark's own writers sent, by kind (non-zero kinds only). */
export function apiDelta(
  after: Map<string, number>,
  before: Map<string, number>,
  ours: Record<string, number>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of after) {
    const d = v - (before.get(k) ?? 0) - (ours[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

/** Waits until the API server's request counter grows by at most `slack` over `windowMs`. */
export async function waitApiQuiet(lab: Lab, windowMs = 2000, slack = 5): Promise<void> {
  const total = async () => [...(await apiRequests(lab)).values()].reduce((a, b) => a + b, 0);
  let prev = await total();
  for (let i = 0; i < 60; i++) {
    await new Promise((r) => setTimeout(r, windowMs));
    const now = await total();
    // This poll's own request counts too.
    if (now - prev <= slack + 1) return;
    prev = now;
  }
}

/** The value at quantile q (0..1) of `xs`, nearest rank; NaN for none. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] ?? NaN;
}

export function median(xs: readonly number[]): number {
  const finite = xs.filter((x) => Number.isFinite(x));
  if (finite.length === 0) return NaN;
  const s = [...finite].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}
