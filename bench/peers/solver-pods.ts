// The kubelet and endpoint controller cert-manager's HTTP-01 solver pods need, for the lab.
// The lab has no kubelet and no EndpointSlice controller: for every solver Pod cert-manager
// creates in the namespace, this runs cert-manager's own acmesolver binary with the Pod's
// arguments (its own port each: they all share one pod address), writes the Pod's status
// (Running, Ready, the pod address), and gives each solver Service an EndpointSlice with that
// address, which the lab's pod network (test/lab/netns.ts) routes from Traefik to the process.
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { freePort, spawnManaged, type ManagedProcess } from '../../test/lab/process.js';
import { cpuMs } from '../lib.js';

/** The pod address every solver "pod" gets; the pod network maps it to 127.0.0.200. */
export const solverPodIp = '10.244.0.200';
const solverLabel = 'acme.cert-manager.io/http01-solver=true';

export interface SolverPods {
  /** CPU ms of every acmesolver run so far (finished ones included). */
  cpuMs(): number;
  /** Solver processes started so far. */
  started(): number;
  stop(): Promise<void>;
}

interface Running {
  proc: ManagedProcess;
  port: number;
  labels: Record<string, string>;
}

/** `args` with --listen-port set to `port`. */
export function withListenPort(args: readonly string[], port: number): string[] {
  return [...args.filter((a) => !a.startsWith('--listen-port=')), `--listen-port=${port}`];
}

/** Whether `selector` (a Service's) selects a Pod with `labels`. */
export function selects(
  selector: Record<string, string> | undefined,
  labels: Record<string, string>,
): boolean {
  const entries = Object.entries(selector ?? {});
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

export function startSolverPods(
  kc: k8s.KubeConfig,
  opts: { namespace: string; binary: string; logDir: string },
): SolverPods {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
  const running = new Map<string, Running>();
  const sliced = new Set<string>();
  let finishedCpu = 0;
  let count = 0;
  let stopped = false;

  const stopOne = async (uid: string) => {
    const r = running.get(uid);
    if (!r) return;
    running.delete(uid);
    finishedCpu += safeCpu(r.proc.pid);
    await r.proc.stop();
  };

  const startPod = async (pod: k8s.V1Pod) => {
    const name = pod.metadata?.name ?? '';
    const port = await freePort('0.0.0.0');
    const proc = spawnManaged(`acmesolver ${name}`, opts.binary, {
      args: withListenPort(pod.spec?.containers?.[0]?.args ?? [], port),
      logFile: join(opts.logDir, `acmesolver-${name}.log`),
    });
    count++;
    running.set(pod.metadata?.uid ?? '', { proc, port, labels: pod.metadata?.labels ?? {} });
    await markRunning(core, opts.namespace, name).catch(() => undefined);
  };

  const syncPods = async () => {
    const pods = (
      await core.listNamespacedPod({ namespace: opts.namespace, labelSelector: solverLabel })
    ).items.filter((p) => !p.metadata?.deletionTimestamp);
    const live = new Set(pods.map((p) => p.metadata?.uid ?? ''));
    for (const pod of pods) if (!running.has(pod.metadata?.uid ?? '')) await startPod(pod);
    for (const uid of [...running.keys()]) if (!live.has(uid)) await stopOne(uid);
  };

  const syncSlices = async () => {
    const services = (
      await core.listNamespacedService({ namespace: opts.namespace, labelSelector: solverLabel })
    ).items;
    for (const svc of services) {
      const name = svc.metadata?.name ?? '';
      if (sliced.has(name)) continue;
      const pod = [...running.values()].find((r) => selects(svc.spec?.selector, r.labels));
      if (!pod) continue;
      await discovery.createNamespacedEndpointSlice({
        namespace: opts.namespace,
        body: endpointSlice(svc, pod.port),
      });
      sliced.add(name);
    }
  };

  const tick = async () => {
    await syncPods();
    await syncSlices();
  };

  const loop = (async () => {
    while (!stopped) {
      await tick().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 200));
    }
  })();

  return {
    cpuMs: () => finishedCpu + [...running.values()].reduce((n, r) => n + safeCpu(r.proc.pid), 0),
    started: () => count,
    stop: async () => {
      stopped = true;
      await loop;
      for (const uid of [...running.keys()]) await stopOne(uid);
    },
  };
}

function safeCpu(pid: number): number {
  try {
    return cpuMs(pid);
  } catch {
    return 0;
  }
}

/** The Pod's status as a kubelet would write it once its container is up. */
async function markRunning(core: k8s.CoreV1Api, namespace: string, name: string) {
  const now = new Date().toISOString();
  await core.patchNamespacedPodStatus(
    {
      namespace,
      name,
      body: {
        status: {
          phase: 'Running',
          podIP: solverPodIp,
          podIPs: [{ ip: solverPodIp }],
          conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }],
        },
      },
    },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
}

export function endpointSlice(svc: k8s.V1Service, port: number): k8s.V1EndpointSlice {
  const name = svc.metadata?.name ?? '';
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `${name}-lab`,
      namespace: svc.metadata?.namespace,
      labels: {
        'kubernetes.io/service-name': name,
        'endpointslice.kubernetes.io/managed-by': 'peers-bench.certroute.io',
      },
      ownerReferences: [
        { apiVersion: 'v1', kind: 'Service', name, uid: svc.metadata?.uid ?? '', controller: true },
      ],
    },
    addressType: 'IPv4',
    endpoints: [{ addresses: [solverPodIp], conditions: { ready: true, serving: true } }],
    ports: (svc.spec?.ports ?? []).map((p) => ({ name: p.name, port, protocol: 'TCP' })),
  };
}
