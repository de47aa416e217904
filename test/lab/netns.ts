/**
 * The lab's network namespace: where Traefik runs, and where "pods" have addresses.
 *
 * The API server refuses loopback addresses in EndpointSlices, so a real ingress controller
 * needs backends at addresses that route; this machine allows non-loopback addresses only
 * inside network namespaces the lab creates itself. So the lab makes one per run
 * (`certroute-<pid>-<random>`), with the pod network 10.244.0.0/24 on its loopback
 * interface, runs Traefik in it, and keeps everything else on the root namespace's loopback.
 * The two sides meet through Unix sockets in the lab directory (forward.ts), opened on the
 * namespace side by netns-bridge.ts:
 *
 *   into the namespace   root 127.0.0.1:P  <-  netns host:P'   (the API server, the harness)
 *   out of it            root 127.0.0.1:P  ->  netns host:P'   (Traefik's web entrypoint)
 *   the pod network      an EndpointSlice address 10.244.0.N:P in the namespace reaches
 *                        127.0.0.N:P in the root namespace (startPodNetwork)
 *
 * The namespace is deleted on stop(), when the process that made it exits, and on the next
 * start of any lab if its maker died without either (the PID is in the name).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { KubeConfig, V1EndpointSlice } from '@kubernetes/client-node';
import { describeAddress, forward, type Forwarder } from './forward.js';
import { watchEndpointSlices } from './ingress-router.js';
import { repoRoot } from './paths.js';
import { isAlive, spawnManaged, waitFor, type ManagedProcess } from './process.js';

/** How long a pod address keeps routing after the last EndpointSlice listing it is gone. */
const podGoneGraceMs = 15_000;

/** Pod addresses: 10.244.0.N inside the namespace stands for 127.0.0.N outside it. */
export const podNetworkPrefix = '10.244.0.';
/** Traefik's own address in the namespace; never a pod of the pod network. */
export const traefikPodAddress = '10.244.0.254';

export interface TcpAddress {
  host: string;
  port: number;
}

const namePattern = /^certroute-(\d+)-[0-9a-f]+$/;

export interface LabNetns {
  readonly name: string;
  /** The bridge process inside the namespace. */
  readonly bridge: ManagedProcess;
  /** Runs a program inside the namespace (`ip netns exec`; the PID is the program's own). */
  spawn(
    name: string,
    command: string,
    opts: { args: string[]; logFile: string; env?: Record<string, string | undefined> },
  ): ManagedProcess;
  /** Makes root-namespace `root` reachable inside the namespace at `at`. */
  intoNetns(root: TcpAddress, at: TcpAddress): Promise<void>;
  /** Makes `inside` reachable from the root namespace at `root`. */
  outOfNetns(inside: TcpAddress, root: TcpAddress): Promise<void>;
  /** Closes what intoNetns opened at `at`. */
  closeInto(at: TcpAddress): Promise<void>;
  stop(): Promise<void>;
}

function ip(args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function deleteNetns(name: string): void {
  try {
    ip(['netns', 'delete', name]);
  } catch {
    /* already gone */
  }
}

/** Namespaces of labs whose process is gone (killed before they could clean up). */
export function sweepStaleNetns(log: (msg: string) => void = () => undefined): string[] {
  let names: string[];
  try {
    names = ip(['netns', 'list'])
      .split('\n')
      .map((l) => l.split(' ')[0] ?? '');
  } catch {
    return [];
  }
  const stale = names.filter((n) => {
    const m = namePattern.exec(n);
    return m !== null && !isAlive(Number(m[1]));
  });
  for (const n of stale) {
    // Whatever still runs in it (a Traefik whose lab was killed) was that lab's.
    let pids: number[] = [];
    try {
      pids = ip(['netns', 'pids', n]).split('\n').filter(Boolean).map(Number);
    } catch {
      /* nothing runs in it */
    }
    log(`deleting the network namespace ${n} of a lab that is gone (pids: ${pids.join(' ')})`);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    deleteNetns(n);
  }
  return stale;
}

export function labNetnsNames(): string[] {
  return ip(['netns', 'list'])
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => namePattern.test(n));
}

/** One request/response channel to the bridge, over its control socket. */
class BridgeClient {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(): void; reject(e: Error): void }>();

  constructor(private readonly sock: Socket) {
    createInterface({ input: sock }).on('line', (line) => {
      const res = JSON.parse(line) as { id: number; ok: boolean; error?: string };
      const p = this.pending.get(res.id);
      this.pending.delete(res.id);
      if (res.ok) p?.resolve();
      else p?.reject(new Error(`[lab] netns bridge: ${res.error ?? 'failed'}`));
    });
    sock.on('close', () => {
      for (const p of this.pending.values()) p.reject(new Error('[lab] netns bridge went away'));
      this.pending.clear();
    });
  }

  request(body: Record<string, unknown>): Promise<void> {
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.sock.write(`${JSON.stringify({ id, ...body })}\n`);
    });
  }

  close(): void {
    this.sock.end();
  }
}

function connectUnix(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ path });
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

export async function startNetns(
  dir: string,
  log: (msg: string) => void = () => undefined,
): Promise<LabNetns> {
  sweepStaleNetns(log);
  const name = `certroute-${process.pid}-${randomBytes(3).toString('hex')}`;
  // Short socket paths: a Unix socket path is limited to 107 bytes.
  const sockDir = join(dir, 'ns');
  mkdirSync(sockDir, { recursive: true });
  try {
    ip(['netns', 'add', name]);
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? String(err);
    throw new Error(
      `[lab] cannot create the lab's network namespace (ip netns add ${name}): ${stderr.trim()}. ` +
        'The lab runs Traefik in a network namespace of its own and needs root ' +
        '(CAP_SYS_ADMIN and CAP_NET_ADMIN) and iproute2 for that.',
      { cause: err },
    );
  }
  const onExit = () => deleteNetns(name);
  process.once('exit', onExit);
  const rootSide = new Set<Forwarder>();
  let bridge: ManagedProcess | undefined;
  let client: BridgeClient | undefined;
  const stop = async () => {
    client?.close();
    await bridge?.stop();
    await Promise.all([...rootSide].map((f) => f.close()));
    deleteNetns(name);
    process.off('exit', onExit);
  };
  try {
    ip(['-n', name, 'link', 'set', 'lo', 'up']);
    ip(['-n', name, 'address', 'add', `${traefikPodAddress}/24`, 'dev', 'lo']);
    const control = join(sockDir, 'control.sock');
    bridge = spawnManaged('netns-bridge', 'ip', {
      args: [
        'netns',
        'exec',
        name,
        process.execPath,
        '--import',
        'tsx',
        join(repoRoot, 'test', 'lab', 'netns-bridge.ts'),
        control,
      ],
      logFile: join(dir, 'netns-bridge.log'),
    });
    let sock: Socket | undefined;
    await waitFor(
      'the netns bridge',
      async () => {
        sock = await connectUnix(control);
        return true;
      },
      { proc: bridge, timeoutMs: 30_000, intervalMs: 50 },
    );
    client = new BridgeClient(sock as Socket);
    log(`network namespace ${name}: pods at ${podNetworkPrefix}0/24, bridge pid ${bridge.pid}`);
  } catch (err) {
    await stop();
    throw err;
  }
  const bridgeClient = client;
  const sockFor = (kind: string, a: TcpAddress) =>
    join(sockDir, `${kind}-${a.host.split('.').pop() ?? a.host}-${a.port}.sock`);
  const into = new Map<string, Forwarder>();
  return {
    name,
    bridge,
    spawn: (procName, command, opts) =>
      spawnManaged(procName, 'ip', {
        args: ['netns', 'exec', name, command, ...opts.args],
        logFile: opts.logFile,
        ...(opts.env ? { env: opts.env } : {}),
      }),
    intoNetns: async (root, at) => {
      const path = sockFor('in', at);
      const fwd = await forward({ path }, root, log);
      rootSide.add(fwd);
      into.set(describeAddress(at), fwd);
      await bridgeClient.request({ op: 'forward', from: at, to: { path } });
    },
    outOfNetns: async (inside, root) => {
      const path = sockFor('out', inside);
      await bridgeClient.request({ op: 'forward', from: { path }, to: inside });
      rootSide.add(await forward(root, { path }, log));
    },
    closeInto: async (at) => {
      const key = describeAddress(at);
      await bridgeClient.request({ op: 'close', key });
      const fwd = into.get(key);
      into.delete(key);
      if (fwd) rootSide.delete(fwd);
      await fwd?.close();
    },
    stop,
  };
}

export interface PodNetwork {
  /** Resolves once the EndpointSlice informer has synced and its forwards are open. */
  ready(): Promise<void>;
  /** Pod addresses (address:port) currently forwarded. */
  forwarded(): string[];
  close(): Promise<void>;
}

/** 10.244.0.N -> 127.0.0.N; undefined for addresses outside the pod network (or Traefik's). */
export function podToLoopback(address: string): string | undefined {
  if (!address.startsWith(podNetworkPrefix) || address === traefikPodAddress) return undefined;
  const n = Number(address.slice(podNetworkPrefix.length));
  return Number.isInteger(n) && n >= 1 && n <= 253 ? `127.0.0.${n}` : undefined;
}

/** address:port pairs the EndpointSlices ask for, mapped to where they really listen. */
export function podTargets(
  slices: readonly V1EndpointSlice[],
): Map<string, { at: TcpAddress; root: TcpAddress }> {
  const out = new Map<string, { at: TcpAddress; root: TcpAddress }>();
  for (const slice of slices) {
    if (slice.addressType !== 'IPv4') continue;
    const ports = (slice.ports ?? []).filter(
      (p) => (p.protocol ?? 'TCP') === 'TCP' && p.port !== undefined,
    );
    for (const ep of slice.endpoints ?? []) {
      for (const address of ep.addresses ?? []) {
        const loopback = podToLoopback(address);
        if (!loopback) continue;
        for (const p of ports) {
          const port = p.port as number;
          out.set(`${address}:${port}`, {
            at: { host: address, port },
            root: { host: loopback, port },
          });
        }
      }
    }
  }
  return out;
}

/**
 * The lab's kube-proxy, in effect: for every EndpointSlice address in the pod network it
 * opens that address and port inside the namespace, forwarded to the process listening on
 * the matching loopback address outside (an operator's HTTP-01 token server, a test's
 * backend). Forwards open as slices appear and close as they go.
 */
export function startPodNetwork(
  kc: KubeConfig,
  netns: LabNetns,
  log: (msg: string) => void = () => undefined,
): PodNetwork {
  const open = new Map<string, TcpAddress>();
  /** Forwards no slice lists any more, closing after the grace period. */
  const closing = new Map<string, NodeJS.Timeout>();
  let chain = Promise.resolve();
  let closed = false;
  const reconcile = (slices: () => readonly V1EndpointSlice[]) => {
    chain = chain.then(async () => {
      if (closed) return;
      const want = podTargets(slices());
      for (const [key, t] of want) {
        if (open.has(key)) continue;
        try {
          await netns.intoNetns(t.root, t.at);
          open.set(key, t.at);
        } catch (err) {
          log(
            `pod network: cannot open ${key}: ${err instanceof Error ? err.message : String(err)}`,
          );
        }
      }
      for (const [key, at] of [...open]) {
        if (want.has(key)) {
          clearTimeout(closing.get(key));
          closing.delete(key);
          continue;
        }
        // A pod's address routes as long as the pod runs, whatever the slices list: the
        // ingress controller may still send it a request it routed before the slice changed.
        // So a forward outlives its last slice by a grace period, then closes.
        if (closing.has(key)) continue;
        const timer = setTimeout(() => {
          chain = chain.then(async () => {
            closing.delete(key);
            if (closed || want.has(key)) return;
            open.delete(key);
            await netns.closeInto(at).catch(() => undefined);
          });
        }, podGoneGraceMs);
        timer.unref();
        closing.set(key, timer);
      }
    });
  };
  const watch = watchEndpointSlices(kc, log, (list) => reconcile(list));
  return {
    ready: async () => {
      await watch.synced;
      await chain;
    },
    forwarded: () => [...open.keys()].sort(),
    close: async () => {
      closed = true;
      for (const t of closing.values()) clearTimeout(t);
      await watch.stop();
      await chain;
    },
  };
}
