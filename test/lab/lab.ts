import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Route53Client } from '@aws-sdk/client-route-53';
import { startAwsProxy } from './aws-proxy.js';
import { invalidateZoneCache, startLabDns, type LabDns } from './dns-server.js';
import {
  harnessIngressClass,
  labPodNetwork,
  startIngressRouter,
  type IngressRouter,
} from './ingress-router.js';
import { apiServerCertFile, startPodIdentity } from './identity.js';
import { adminKubeConfig, startKube, type KubeLab } from './kube.js';
import { startMoto, type MotoLab } from './moto.js';
import { startNetns, startPodNetwork, type LabNetns, type PodNetwork } from './netns.js';
import { installCrds, installGatewayApiCrds } from './operator.js';
import { repoRoot } from './paths.js';
import { startPebble, type PebbleLab, type PebbleOptions } from './pebble.js';
import { freePort, type ManagedProcess } from './process.js';
import { apiServerCa, startTraefik, type TraefikLab } from './traefik.js';
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
  /** The harness router: Ingresses of no class only, reached through Traefik's catch-all. */
  ingress: IngressRouter;
  traefik: TraefikLab;
  netns: LabNetns;
  pods: PodNetwork;
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
      // Gateway API CRDs too: Traefik's Gateway provider watches them from its start.
      startKube(dir, async (kc) => {
        await installCrds(adminKubeConfig(kc));
        await installGatewayApiCrds(adminKubeConfig(kc));
      }),
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
    // Traefik, in the lab's network namespace, is the ingress controller (traefik.ts). Its
    // web entrypoint comes out on root 127.0.0.1:http01Port, where Pebble validates HTTP-01
    // and operators self-check, and 127.0.0.1 is the status address it publishes.
    const ingressAddress = '127.0.0.1';
    const http01Port = await freePort(ingressAddress);
    const netns = await startNetns(dir, log);
    started.push(netns);
    const admin = adminKubeConfig(kube.kubeconfig);
    const pods = startPodNetwork(admin, netns, log);
    started.push({ stop: () => pods.close() });
    // The harness router serves only Ingresses of no class, behind Traefik's catch-all: tests
    // that are not about routing (DNS, ACM, the chart, benchmarks) keep working unchanged.
    const ingress = await startIngressRouter({
      kubeConfig: admin,
      host: '127.0.0.1',
      port: 0,
      ingressClassName: harnessIngressClass,
      podNetwork: labPodNetwork,
    });
    started.push({ stop: () => ingress.close() });
    const [traefikR, pebbleR] = await Promise.allSettled([
      startTraefik({
        dir,
        admin,
        apiServer: kube.server,
        apiServerCa: apiServerCa(join(dir, 'kube', 'certs', 'apiserver.crt')),
        netns,
        rootPort: http01Port,
        statusAddress: ingressAddress,
        harnessPort: ingress.port,
        log,
      }),
      startPebble(dir, { ...opts.pebble, dnsServer: `${dns.host}:${dns.port}`, http01Port }),
    ]);
    if (traefikR.status === 'fulfilled') started.push(traefikR.value);
    if (pebbleR.status === 'fulfilled') started.push({ stop: () => pebbleR.value.proc.stop() });
    if (traefikR.status === 'rejected') throw traefikR.reason;
    if (pebbleR.status === 'rejected') throw pebbleR.reason;
    const [traefik, pebble] = [traefikR.value, pebbleR.value];
    await Promise.all([ingress.ready(), pods.ready()]);
    log(`harness router (Ingresses of no class) on 127.0.0.1:${ingress.port}, behind Traefik`);
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
      ingressClass: traefik.ingressClass,
      netns: netns.name,
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
    const procs = (): ManagedProcess[] => [
      ...kube.processes,
      moto.proc,
      pebble.proc,
      netns.bridge,
      traefik.proc,
    ];
    return {
      env,
      kube,
      moto,
      pebble,
      dns,
      ingress,
      traefik,
      netns,
      pods,
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
