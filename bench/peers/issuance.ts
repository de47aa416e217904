// Issuance side by side (issue 23): the same N Certificates (two names each) issued by
// certroute and by cert-manager, one tool at a time, on the same lab: Pebble, moto behind the
// lab AWS proxy (which logs every Route53 call, whoever makes it), the lab DNS.
// DNS-01: each Certificate is a host and its wildcard. HTTP-01: a host and its www name (a
// wildcard cannot be validated over HTTP), with A records to the HTTP-01 front (front.ts).
import {
  ChangeResourceRecordSetsCommand,
  DeleteHostedZoneCommand,
  ListResourceRecordSetsCommand,
  type ResourceRecordSet,
  type Route53Client,
} from '@aws-sdk/client-route-53';
import * as k8s from '@kubernetes/client-node';
import { callsSeen } from '../../test/lab/aws-proxy.js';
import { failedValidations, ordersPlaced } from '../../test/lab/acme-helpers.js';
import { adminKubeConfig } from '../../test/lab/kube.js';
import { route53For, type Lab } from '../../test/lab/lab.js';
import { uniqueName } from '../../test/lab/names.js';
import { ensureNamespace } from '../../test/lab/operator.js';
import type { ManagedProcess } from '../../test/lab/process.js';
import { createZone } from '../../test/lab/route53-helpers.js';
import { cpuMs, pool, rssKb } from '../lib.js';
import { startCertManager } from './cert-manager.js';
import { startCertroute } from './certroute.js';
import { http01Front } from './front.js';
import { countByOperation } from './summary.js';

export type IssuanceTool = 'certroute' | 'cert-manager';
export type Challenge = 'dns01' | 'http01';

export interface IssuanceOptions {
  tool: IssuanceTool;
  certs: number;
  challenge: Challenge;
}

export interface IssuanceResult {
  tool: IssuanceTool;
  challenge: Challenge;
  certs: number;
  /** From the first Certificate created until every one is Ready. */
  seconds: number;
  /** Route53 calls by operation, as the lab AWS proxy saw them, from the first Certificate until
   * every one is Ready and the challenge records are cleaned up. */
  route53Calls: Record<string, number>;
  /** CPU (user + system) of the tool's controller process over the same span. */
  cpuS: number;
  /** The controller's peak RSS (VmHWM) over its whole life. */
  peakRssMb: number;
  /** Orders Pebble added over the span. */
  orders: number;
  /** Certificates Ready at the end. */
  certificatesIssued: number;
  /** Authorizations Pebble set invalid over the span. */
  failedValidations: number;
  /** cert-manager HTTP-01 only: CPU of the acmesolver processes (its solver pods). */
  solverCpuS?: number;
  /** Challenge TXT records still in the zone when the span ended (DNS-01; should be 0). */
  challengeRecordsLeft?: number;
}

/** One tool, running against the lab for one workload. */
export interface ToolRun {
  /** The controller process whose CPU and memory are measured. */
  proc: ManagedProcess;
  /** Creates Certificate `name` for `dnsNames` in the workload's namespace. */
  createCertificate(name: string, dnsNames: string[]): Promise<void>;
  /** How many of the workload's Certificates are Ready. */
  readyCount(): Promise<number>;
  /** CPU ms of helper processes (solver pods) so far. */
  helperCpuMs?(): number;
  stop(): Promise<void>;
}

export interface Workload {
  namespace: string;
  zone: { id: string; name: string };
  challenge: Challenge;
  /** Cluster-scoped names (the issuer) carry this, so runs never share state. */
  id: string;
}

const readyTimeoutMs = Number(process.env.BENCH_READY_TIMEOUT_S ?? 1800) * 1000;
const cleanupTimeoutMs = 120_000;

export function namesFor(i: number, zone: string, challenge: Challenge): string[] {
  const host = `h${i}.${zone}`;
  return challenge === 'dns01' ? [host, `*.${host}`] : [host, `www.${host}`];
}

export async function runIssuance(lab: Lab, opts: IssuanceOptions): Promise<IssuanceResult> {
  const env = lab.env;
  const kc = adminKubeConfig(env.kubeconfig);
  const r53 = route53For(env.awsEndpoint);
  // The harness's own reads during the measured span go to moto directly, past the call log.
  const direct = route53For(env.motoEndpoint);
  const id = uniqueName(opts.tool === 'certroute' ? 'cr' : 'cm');
  const w: Workload = {
    namespace: `peers-${id}`,
    zone: await createZone(r53, 'peers'),
    challenge: opts.challenge,
    id,
  };
  await ensureNamespace(kc, w.namespace);
  if (opts.challenge === 'http01') {
    const front = await http01Front(lab);
    await pool([...Array(opts.certs).keys()], 8, async (i) => {
      for (const name of namesFor(i, w.zone.name, 'http01'))
        await upsertA(r53, w.zone.id, name, front.address);
    });
  }
  const tool =
    opts.tool === 'certroute' ? await startCertroute(lab, w) : await startCertManager(lab, w);
  try {
    const orders0 = ordersPlaced(env);
    const failed0 = failedValidations(env);
    const cpu0 = cpuMs(tool.proc.pid);
    const helper0 = tool.helperCpuMs?.() ?? 0;
    const since = Date.now();
    const t0 = performance.now();
    await pool([...Array(opts.certs).keys()], 16, (i) =>
      tool.createCertificate(`c${i}`, namesFor(i, w.zone.name, opts.challenge)),
    );
    await until(
      `${opts.certs} ${opts.tool} Certificates Ready`,
      async () => (await tool.readyCount()) === opts.certs,
      tool.proc,
      readyTimeoutMs,
    );
    const seconds = (performance.now() - t0) / 1000;
    let left: number | undefined;
    if (opts.challenge === 'dns01') {
      await until(
        'challenge records cleaned up',
        async () => (await challengeRecords(direct, w.zone.id)) === 0,
        tool.proc,
        cleanupTimeoutMs,
      ).catch(() => undefined);
      left = await challengeRecords(direct, w.zone.id);
    }
    const result: IssuanceResult = {
      tool: opts.tool,
      challenge: opts.challenge,
      certs: opts.certs,
      seconds: round(seconds, 1),
      route53Calls: countByOperation(await callsSeen(env.awsEndpoint, since)),
      cpuS: round((cpuMs(tool.proc.pid) - cpu0) / 1000, 2),
      peakRssMb: Math.round(rssKb(tool.proc.pid, 'VmHWM') / 1024),
      orders: ordersPlaced(env) - orders0,
      certificatesIssued: await tool.readyCount(),
      failedValidations: failedValidations(env) - failed0,
      ...(tool.helperCpuMs ? { solverCpuS: round((tool.helperCpuMs() - helper0) / 1000, 2) } : {}),
      ...(left === undefined ? {} : { challengeRecordsLeft: left }),
    };
    return result;
  } finally {
    await tool.stop();
    await cleanUp(kc, r53, w);
  }
}

async function until(
  what: string,
  fn: () => Promise<boolean>,
  proc: ManagedProcess,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== undefined) throw new Error(`${proc.name} exited; see ${proc.logFile}`);
    if (await fn().catch(() => false)) return;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; see ${proc.logFile}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** Every record set of the zone, page by page. */
async function records(r53: Route53Client, zoneId: string): Promise<ResourceRecordSet[]> {
  const out: ResourceRecordSet[] = [];
  let next: { name?: string; type?: string } = {};
  for (;;) {
    const page = await r53.send(
      new ListResourceRecordSetsCommand({
        HostedZoneId: zoneId,
        StartRecordName: next.name,
        StartRecordType: next.type as 'A' | undefined,
      }),
    );
    out.push(...(page.ResourceRecordSets ?? []));
    if (!page.IsTruncated) return out;
    next = { name: page.NextRecordName, type: page.NextRecordType };
  }
}

async function challengeRecords(r53: Route53Client, zoneId: string): Promise<number> {
  return (await records(r53, zoneId)).filter((r) => (r.Name ?? '').startsWith('_acme-challenge'))
    .length;
}

async function upsertA(r53: Route53Client, zoneId: string, name: string, ip: string) {
  await r53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: zoneId,
      ChangeBatch: {
        Changes: [
          {
            Action: 'UPSERT',
            ResourceRecordSet: { Name: name, Type: 'A', TTL: 60, ResourceRecords: [{ Value: ip }] },
          },
        ],
      },
    }),
  );
}

/** The workload's namespace (Certificates, Secrets, solver objects) and its zone go. */
async function cleanUp(kc: k8s.KubeConfig, r53: Route53Client, w: Workload): Promise<void> {
  await kc
    .makeApiClient(k8s.CoreV1Api)
    .deleteNamespace({ name: w.namespace })
    .catch(() => undefined);
  const sets = (await records(r53, w.zone.id).catch(() => [])).filter(
    (r) => r.Type !== 'SOA' && r.Type !== 'NS',
  );
  if (sets.length > 0)
    await r53
      .send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: w.zone.id,
          ChangeBatch: {
            Changes: sets.map((s) => ({ Action: 'DELETE' as const, ResourceRecordSet: s })),
          },
        }),
      )
      .catch(() => undefined);
  await r53.send(new DeleteHostedZoneCommand({ Id: w.zone.id })).catch(() => undefined);
}
