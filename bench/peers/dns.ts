// The DNS workloads of the peer benchmark, the same for every tool (bench/peers/tools.ts):
// Ingresses with one host each on two zones, their address in status.loadBalancer.ingress, the
// certroute.io/dns annotation certroute needs (external-dns reads every Ingress anyway).
// Everything is measured from outside the tool: Route53 calls and record changes at the lab
// AWS proxy, CPU and memory in /proc, requests at the API server.
import {
  ChangeResourceRecordSetsCommand,
  type Change,
  type Route53Client,
} from '@aws-sdk/client-route-53';
import * as k8s from '@kubernetes/client-node';
import { changesSeen, setRateLimit } from '../../test/lab/aws-proxy.js';
import type { Lab } from '../../test/lab/lab.js';
import { resetMoto } from '../../test/lab/moto.js';
import { uniqueName } from '../../test/lab/names.js';
import { waitFor } from '../../test/lab/process.js';
import { createZone } from '../../test/lab/route53-helpers.js';
import {
  cpuMs,
  histogramDelta,
  histogramQuantile,
  pool,
  rssKb,
  scrape,
  waitUntil,
} from '../lib.js';
import {
  apiDelta,
  apiRequests,
  callsByKind,
  quantile,
  waitAllIn,
  waitApiQuiet,
  waitSynced,
} from './observe.js';
import { launch, type RunningTool, type ToolId } from './tools.js';

export interface PeerContext {
  lab: Lab;
  kc: k8s.KubeConfig;
  /** moto itself: the benchmark's own set-up calls are not counted as the tool's. */
  moto: Route53Client;
  hosts: number;
}

/** One workload's measures: flat names (e.g. "calls.ChangeResourceRecordSets") to numbers. */
export type Measures = Record<string, number>;

interface Zone {
  id: string;
  name: string;
}

const WRITERS = 16;
const ADDRESS = '192.0.2.10';
const SINGLE = Number(process.env.BENCH_SINGLE ?? 30);
const SINGLE_GAP_MS = Number(process.env.BENCH_SINGLE_GAP_MS ?? 1000);
const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const mb = (kb: number) => round(kb / 1024, 1);

/** A fresh moto (records written by earlier runs trip its CREATE duplicate check) and zones. */
async function freshZones(ctx: PeerContext, n: number, prefix: string): Promise<Zone[]> {
  await resetMoto(ctx.lab.env.motoEndpoint);
  const zones: Zone[] = [];
  for (let i = 0; i < n; i++) zones.push(await createZone(ctx.moto, prefix));
  return zones;
}

function hostsOn(zones: Zone[], n: number): string[] {
  return Array.from({ length: n }, (_, i) => `h${i}.${zones[i % zones.length]?.name}`);
}

async function createNamespace(ctx: PeerContext): Promise<string> {
  const name = uniqueName('peers');
  await ctx.kc.makeApiClient(k8s.CoreV1Api).createNamespace({ body: { metadata: { name } } });
  return name;
}

/** Deletes the namespace and waits until it is gone, so the next tool sees none of it. */
async function dropNamespace(ctx: PeerContext, name: string): Promise<void> {
  const core = ctx.kc.makeApiClient(k8s.CoreV1Api);
  await core.deleteNamespace({ name }).catch(() => undefined);
  await waitUntil(
    `namespace ${name} gone`,
    async () => {
      try {
        await core.readNamespace({ name });
        return false;
      } catch (err) {
        if ((err as { code?: number }).code === 404) return true;
        throw err;
      }
    },
    300_000,
    500,
  );
}

/** One Ingress per host (h<i>), then its address: a create and a status patch each. */
async function writeIngresses(
  ctx: PeerContext,
  ns: string,
  hosts: string[],
  address: string | undefined,
  writers: number,
): Promise<void> {
  const net = ctx.kc.makeApiClient(k8s.NetworkingV1Api);
  await pool([...hosts.keys()], writers, async (i) => {
    const name = `h${i}`;
    await net.createNamespacedIngress({
      namespace: ns,
      body: {
        metadata: { name, annotations: { 'certroute.io/dns': 'true' } },
        spec: { rules: [{ host: hosts[i] ?? '' }] },
      },
    });
    if (address) await setAddress(net, ns, name, address);
  });
}

function setAddress(net: k8s.NetworkingV1Api, ns: string, name: string, ip: string) {
  return net.patchNamespacedIngressStatus(
    { namespace: ns, name, body: { status: { loadBalancer: { ingress: [{ ip }] } } } },
    mergePatch,
  );
}

function prefixed(prefix: string, m: Record<string, number>): Measures {
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [`${prefix}.${k}`, v]));
}

/**
 * (a) First start: every Ingress already there with its address, then the tool starts. Time
 * until all records (A + ownership TXT) are in, CPU until then, peak RSS, Route53 calls.
 */
export async function firstStart(ctx: PeerContext, id: ToolId, run: number): Promise<Measures> {
  const endpoint = ctx.lab.env.awsEndpoint;
  const zones = await freshZones(ctx, 2, 'peers');
  const hosts = hostsOn(zones, ctx.hosts);
  const ns = await createNamespace(ctx);
  try {
    await writeIngresses(ctx, ns, hosts, ADDRESS, 32);
    const t0 = Date.now();
    const tool = await launch(id, {
      env: ctx.lab.env,
      domains: zones.map((z) => z.name),
      ownerId: `bench-${id}`,
      logName: `${id}-first-start-${run}.log`,
    });
    try {
      const zoneIds = zones.map((z) => z.id);
      const done = await waitAllIn(endpoint, zoneIds, hosts, t0, tool.proc);
      const cpu = cpuMs(tool.pid);
      const peak = rssKb(tool.pid, 'VmHWM');
      const calls = await callsByKind(endpoint, t0, done);
      return {
        allInSeconds: round((done - t0) / 1000),
        cpuSeconds: round(cpu / 1000),
        peakRssMb: mb(peak),
        ...prefixed('calls', calls),
      };
    } finally {
      await tool.stop();
    }
  } finally {
    await dropNamespace(ctx, ns);
  }
}

export interface BurstOptions {
  /** Route53 requests a second the proxy allows the account (0: no limit). */
  rateLimit: number;
  /** Then (d): single address changes, one a second. */
  latency: boolean;
}

/**
 * (b) Burst: the tool runs, synced and idle with no Ingresses; 16 writers create every
 * Ingress with its address. (c) is the same under the account rate limit. (d) follows (b).
 */
export async function burst(
  ctx: PeerContext,
  id: ToolId,
  run: number,
  opts: BurstOptions,
): Promise<Measures> {
  const { lab } = ctx;
  const endpoint = lab.env.awsEndpoint;
  const zones = await freshZones(ctx, 2, 'peers');
  const zoneIds = zones.map((z) => z.id);
  const hosts = hostsOn(zones, ctx.hosts);
  const ns = await createNamespace(ctx);
  await setRateLimit(endpoint, opts.rateLimit);
  const started = Date.now();
  const tag = opts.rateLimit ? `burst-limited` : 'burst';
  const tool = await launch(id, {
    env: lab.env,
    domains: zones.map((z) => z.name),
    ownerId: `bench-${id}`,
    logName: `${id}-${tag}-${run}.log`,
  });
  try {
    await tool.ready();
    await waitSynced(endpoint, zoneIds, started, tool.proc);
    const api0 = await apiRequests(lab);
    const cpu0 = cpuMs(tool.pid);
    const t0 = Date.now();
    await writeIngresses(ctx, ns, hosts, ADDRESS, WRITERS);
    const writesDone = Date.now();
    const done = await waitAllIn(endpoint, zoneIds, hosts, t0, tool.proc);
    const cpu = cpuMs(tool.pid) - cpu0;
    const rssAfter = rssKb(tool.pid, 'VmRSS');
    const calls = await callsByKind(endpoint, t0, done);
    // The tool's API writes that trail its records (status updates) are its cost too.
    await waitApiQuiet(lab);
    const ours = { 'POST ingresses': ctx.hosts, 'PATCH ingresses/status': ctx.hosts };
    const api = apiDelta(await apiRequests(lab), api0, ours);
    const apiTotal = Object.values(api).reduce((a, b) => a + b, 0);
    const out: Measures = {
      writesSeconds: round((writesDone - t0) / 1000),
      allInSeconds: round((done - t0) / 1000),
      cpuSeconds: round(cpu / 1000),
      rssAfterMb: mb(rssAfter),
      peakRssMb: mb(rssKb(tool.pid, 'VmHWM')),
      ...prefixed('calls', calls),
      apiRequestsPerHost: round(apiTotal / ctx.hosts),
      ...prefixed(
        'api',
        Object.fromEntries(Object.entries(api).map(([k, v]) => [k, round(v / ctx.hosts)])),
      ),
    };
    if (opts.rateLimit) await setRateLimit(endpoint, 0);
    if (opts.latency) Object.assign(out, await singleChanges(ctx, tool, ns, hosts, zoneIds));
    return out;
  } finally {
    await setRateLimit(endpoint, 0);
    await tool.stop();
    await dropNamespace(ctx, ns);
  }
}

/**
 * (d) Single-host latency: SINGLE address changes SINGLE_GAP_MS apart, each timed from the
 * moment its status patch is sent to the record's change accepted at the proxy. For
 * certroute, also its own histogram (address seen → change sent).
 */
async function singleChanges(
  ctx: PeerContext,
  tool: RunningTool,
  ns: string,
  hosts: string[],
  zoneIds: string[],
): Promise<Measures> {
  const endpoint = ctx.lab.env.awsEndpoint;
  const net = ctx.kc.makeApiClient(k8s.NetworkingV1Api);
  const own0 = tool.id === 'certroute' ? await scrape(tool.metricsUrl) : undefined;
  const sent: { host: string; at: number }[] = [];
  for (let i = 0; i < Math.min(SINGLE, hosts.length); i++) {
    const at = Date.now();
    await setAddress(net, ns, `h${i}`, `192.0.2.${11 + (i % 200)}`);
    sent.push({ host: hosts[i] ?? '', at });
    await new Promise((r) => setTimeout(r, SINGLE_GAP_MS));
  }
  const since = sent[0]?.at ?? Date.now();
  const zones = new Set(zoneIds);
  let latencies: number[] = [];
  await waitFor(
    'single changes in',
    async () => {
      const changes = (await changesSeen(endpoint, '', since)).filter(
        (c) => zones.has(c.zone) && c.type === 'A' && c.action !== 'DELETE',
      );
      latencies = sent.map(({ host, at }) => {
        const c = changes.find((x) => x.name === host && x.at >= at);
        return c ? c.at - at : NaN;
      });
      return latencies.every((l) => Number.isFinite(l));
    },
    { timeoutMs: 300_000, intervalMs: 250, proc: tool.proc },
  );
  const out: Measures = {
    'latency.p50ms': quantile(latencies, 0.5),
    'latency.p95ms': quantile(latencies, 0.95),
  };
  if (own0) {
    const name = 'certroute_dns_address_to_change_seconds';
    const h = histogramDelta(await scrape(tool.metricsUrl), own0, name);
    out['latency.ownP50ms'] = Math.round(histogramQuantile(h, name, 0.5) * 1000);
    out['latency.ownP95ms'] = Math.round(histogramQuantile(h, name, 0.95) * 1000);
  }
  return out;
}

const UNRELATED_ZONES = Number(process.env.BENCH_UNRELATED_ZONES ?? 40);
const UNRELATED_RECORDS = Number(process.env.BENCH_UNRELATED_RECORDS ?? 30_000);
const BATCH = 1000;

/**
 * (e) set-up: a fresh moto with UNRELATED_ZONES zones holding UNRELATED_RECORDS records in
 * all (written straight to moto in batches of up to 1,000), and the target zone.
 */
export async function seedManyZones(ctx: PeerContext): Promise<Zone> {
  const zones = await freshZones(ctx, UNRELATED_ZONES, 'unrelated');
  const perZone = Math.ceil(UNRELATED_RECORDS / UNRELATED_ZONES);
  for (const z of zones) {
    for (let start = 0; start < perZone; start += BATCH) {
      const changes: Change[] = [];
      for (let k = start; k < Math.min(perZone, start + BATCH); k++) {
        changes.push({
          Action: 'CREATE',
          ResourceRecordSet: {
            Name: `r${k}.${z.name}.`,
            Type: 'A',
            TTL: 300,
            ResourceRecords: [{ Value: `198.51.100.${k % 250}` }],
          },
        });
      }
      await ctx.moto.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: z.id,
          ChangeBatch: { Changes: changes },
        }),
      );
    }
  }
  return await createZone(ctx.moto, 'target');
}

/**
 * (e) one sample: the tool starts with no domain filter (every zone in the account); once
 * ready, one Ingress gets its address: ms from the status patch to its record at the proxy.
 */
export async function manyZonesSample(
  ctx: PeerContext,
  id: ToolId,
  target: Zone,
  label: string,
): Promise<number> {
  const endpoint = ctx.lab.env.awsEndpoint;
  const ns = await createNamespace(ctx);
  const host = `${label}.${target.name}`;
  try {
    await writeIngresses(ctx, ns, [host], undefined, 1);
    const tool = await launch(id, {
      env: ctx.lab.env,
      domains: undefined,
      ownerId: `bench-${id}`,
      logName: `${id}-many-zones-${label}.log`,
    });
    try {
      await tool.ready();
      const net = ctx.kc.makeApiClient(k8s.NetworkingV1Api);
      const at = Date.now();
      await setAddress(net, ns, 'h0', ADDRESS);
      let ms = NaN;
      await waitFor(
        `${host} in`,
        async () => {
          const c = (await changesSeen(endpoint, target.id, at)).find(
            (x) => x.type === 'A' && x.name === host && x.action !== 'DELETE',
          );
          if (c) ms = c.at - at;
          return c !== undefined;
        },
        { timeoutMs: 300_000, intervalMs: 100, proc: tool.proc },
      );
      return ms;
    } finally {
      await tool.stop();
    }
  } finally {
    await dropNamespace(ctx, ns);
  }
}
