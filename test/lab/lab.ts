import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Route53Client } from '@aws-sdk/client-route-53';
import { startAwsProxy } from './aws-proxy.js';
import { invalidateZoneCache, startLabDns, type LabDns } from './dns-server.js';
import { labPodNetwork, startIngressRouter, type IngressRouter } from './ingress-router.js';
import { apiServerCertFile, startPodIdentity } from './identity.js';
import { adminKubeConfig, startKube, type KubeLab } from './kube.js';
import { startMoto, type MotoLab } from './moto.js';
import { installCrds } from './operator.js';
import { repoRoot } from './paths.js';
import { startPebble, type PebbleLab, type PebbleOptions } from './pebble.js';
import { freePort, type ManagedProcess } from './process.js';
import type { LabEnv } from './types.js';

export const labAws = {
  region: 'us-east-1',
  accessKeyId: 'lab-access-key',
  secretAccessKey: 'lab-secret-key',
} as const;

export interface LabOptions {
  /** Where logs and data go; a fresh directory under .lab/ by default. */
  dir?: string;
  pebble?: Omit<PebbleOptions, 'dnsServer' | 'http01Port'>;
  log?: (msg: string) => void;
}

export interface Lab {
  env: LabEnv;
  kube: KubeLab;
  moto: MotoLab;
  pebble: PebbleLab;
  dns: LabDns;
  ingress: IngressRouter;
  /** PIDs of every child process, for `lab down` and leak checks. */
  pids(): number[];
  stop(): Promise<void>;
}

export function route53For(endpoint: string): Route53Client {
  return new Route53Client({
    endpoint,
    region: labAws.region,
    credentials: { accessKeyId: labAws.accessKeyId, secretAccessKey: labAws.secretAccessKey },
  });
}

export async function startLab(opts: LabOptions = {}): Promise<Lab> {
  const log = opts.log ?? (() => undefined);
  const dir = opts.dir ?? newLabDir();
  mkdirSync(dir, { recursive: true });
  const started: { stop(): Promise<void> }[] = [];
  const stopAll = async () => {
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
  };
  try {
    log('starting etcd, kube-apiserver, kube-controller-manager and moto');
    const [kubeR, motoR] = await Promise.allSettled([
      startKube(dir, (kc) => installCrds(adminKubeConfig(kc))),
      startMoto(dir),
    ]);
    if (kubeR.status === 'fulfilled') started.push(kubeR.value);
    if (motoR.status === 'fulfilled') started.push({ stop: () => motoR.value.proc.stop() });
    if (kubeR.status === 'rejected') throw kubeR.reason;
    if (motoR.status === 'rejected') throw motoR.reason;
    const [kube, moto] = [kubeR.value, motoR.value];
    const aws = await startAwsProxy(moto.endpoint, invalidateZoneCache);
    started.push({ stop: () => aws.close() });
    const dns = await startLabDns({ route53: route53For(moto.endpoint) });
    started.push({ stop: () => dns.close() });
    log(`lab DNS on ${dns.host}:${dns.port}`);
    const ingressAddress = '127.0.0.1';
    const http01Port = await freePort(ingressAddress);
    const ingress = await startIngressRouter({
      kubeConfig: adminKubeConfig(kube.kubeconfig),
      host: ingressAddress,
      port: http01Port,
      podNetwork: labPodNetwork,
    });
    started.push({ stop: () => ingress.close() });
    await ingress.ready();
    log(`ingress stand-in on ${ingressAddress}:${http01Port}`);
    const pebble = await startPebble(dir, {
      ...opts.pebble,
      dnsServer: `${dns.host}:${dns.port}`,
      http01Port,
    });
    started.push({ stop: () => pebble.proc.stop() });
    log(`pebble at ${pebble.directory}`);
    const env: LabEnv = {
      kubeconfig: kube.kubeconfig,
      kubeApiServer: kube.server,
      acmeDirectory: pebble.directory,
      acmeCaFile: pebble.caFile,
      acmeManagement: pebble.management,
      http01Port,
      awsEndpoint: aws.endpoint,
      motoEndpoint: moto.endpoint,
      awsRegion: labAws.region,
      awsAccessKeyId: labAws.accessKeyId,
      awsSecretAccessKey: labAws.secretAccessKey,
      dnsHost: dns.host,
      dnsPort: dns.port,
      ingressAddress,
      dir,
    };
    // Operators run as the chart's ServiceAccount in a pod would (see identity.ts).
    const pod = await startPodIdentity(adminKubeConfig(kube.kubeconfig), {
      server: kube.server,
      caFile: apiServerCertFile(dir),
      dir,
      namespace: 'certroute',
    });
    started.push({ stop: () => Promise.resolve(pod.stop()) });
    env.podIdentity = pod.identity;
    const procs = (): ManagedProcess[] => [...kube.processes, moto.proc, pebble.proc];
    return {
      env,
      kube,
      moto,
      pebble,
      dns,
      ingress,
      pids: () => procs().map((p) => p.pid),
      stop: async () => {
        await stopAll();
        if (!process.env.LAB_KEEP) rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

function newLabDir(): string {
  const base = join(repoRoot, '.lab');
  mkdirSync(base, { recursive: true });
  return mkdtempSync(join(base, 'run-'));
}
