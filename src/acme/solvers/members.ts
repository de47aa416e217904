import { createHash } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { describeError } from '../../errors.js';
import { managedBy, managedByLabel } from '../../kube/ownership.js';
import type { Logger } from '../../observability/logger.js';

/**
 * Who serves HTTP-01 tokens. Every replica serves every token (they come from Certificate
 * status, which every replica watches), so the solver's EndpointSlices should list every ready
 * replica, not only the leader: then the CA's validation lands on a live replica while one
 * restarts. Each replica keeps a Lease of its own in the operator's namespace, labelled as a
 * solver member and annotated with its solver address; the leader lists them.
 *
 * A Lease and not the operator's own Service's EndpointSlices: the same object kind leader
 * election uses (no new RBAC kind), and it works where replicas are not pods behind a Service.
 */
export const memberLabel = 'certroute.io/solver-member';
const addressAnnotation = 'certroute.io/solver-address';
const portAnnotation = 'certroute.io/solver-port';

export interface SolverAddress {
  address: string;
  port: number;
}

/** The Lease name of one replica: stable per identity, a valid object name. */
export function memberLeaseName(identity: string): string {
  return `certroute-solver-${createHash('sha256').update(identity).digest('hex').slice(0, 12)}`;
}

/**
 * The members whose Lease is still live (renewed within its duration), by address, sorted so
 * the same set always writes the same EndpointSlice. Pure.
 */
export function liveMembers(leases: readonly k8s.V1Lease[], nowMs: number): SolverAddress[] {
  const out: SolverAddress[] = [];
  for (const l of leases) {
    if (!(expiresAt(l) > nowMs)) continue;
    const address = l.metadata?.annotations?.[addressAnnotation];
    const port = Number(l.metadata?.annotations?.[portAnnotation]);
    if (!address || !Number.isInteger(port) || port <= 0 || port > 65535) continue;
    out.push({ address, port });
  }
  return uniqueSorted(out);
}

/** A member Lease that expired over 10 minutes ago: its replica is gone for good. Pure. */
export function expiredLongAgo(l: k8s.V1Lease, nowMs: number): boolean {
  return expiresAt(l) + 600_000 < nowMs;
}

/** When a Lease runs out: its last renewal plus its duration; NaN when never renewed. */
function expiresAt(l: k8s.V1Lease): number {
  const renewed = l.spec?.renewTime ? new Date(l.spec.renewTime).getTime() : NaN;
  return renewed + (l.spec?.leaseDurationSeconds ?? 0) * 1000;
}

/** Each address once, in a stable order. Pure. */
export function uniqueSorted(addresses: readonly SolverAddress[]): SolverAddress[] {
  const byKey = new Map(addresses.map((a) => [`${a.address}:${a.port}`, a]));
  return [...byKey.values()].sort((a, b) =>
    a.address === b.address ? a.port - b.port : a.address < b.address ? -1 : 1,
  );
}

export interface SolverMembersOptions {
  kubeConfig: k8s.KubeConfig;
  namespace: string;
  identity: string;
  self: () => SolverAddress;
  log: Logger;
  /** Called when the set of live members changed (the leader rewrites its solver slices). */
  onChange: () => Promise<void>;
  /** How often the own Lease is renewed and the others are listed. Default 2 s. */
  intervalMs?: number;
  /** A member not renewed this long is gone (a replica killed without leaving). Default 15 s. */
  leaseDurationMs?: number;
}

/** This replica's membership, and the members it sees. */
export class SolverMembers {
  private readonly api: k8s.CoordinationV1Api;
  private readonly name: string;
  private timer: NodeJS.Timeout | undefined;
  private members: SolverAddress[] = [];
  private leaving = false;
  /** The members as last announced through onChange (fresh() lists without announcing). */
  private announced = '';
  /** When the member Leases were last listed, and the listing in flight. */
  private listedAt = 0;
  private listing: Promise<void> | undefined;

  constructor(private readonly o: SolverMembersOptions) {
    this.api = o.kubeConfig.makeApiClient(k8s.CoordinationV1Api);
    this.name = memberLeaseName(o.identity);
  }

  /** Joins once this replica serves tokens (its caches synced); then renews and lists. */
  async start(): Promise<void> {
    await this.tick();
    const every = this.o.intervalMs ?? 2000;
    this.timer = setInterval(() => void this.tick(), every);
    this.timer.unref();
  }

  /**
   * The live members as listed at most `maxAgeMs` ago: what a solver slice is written with, so
   * a new leader never puts back a replica that left just before it took over.
   */
  async fresh(maxAgeMs = 500): Promise<SolverAddress[]> {
    if (Date.now() - this.listedAt > maxAgeMs)
      // The API server not answering: the members last seen are the best guess.
      await this.list().catch((err: unknown) =>
        this.o.log.warn(
          { err: describeError(err) },
          'solver members not listed; using the last seen',
        ),
      );
    return this.current();
  }

  /** The live members, this replica included while it has not left. */
  current(): SolverAddress[] {
    const self = this.o.self();
    const others = this.members.filter((m) => m.address !== self.address || m.port !== self.port);
    return this.leaving ? others : uniqueSorted([self, ...others]);
  }

  /**
   * Leaves before shutting down: the Lease goes, so the leader (this replica, or another on its
   * next listing) takes this address out of every solver slice while it still serves.
   */
  async leave(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.leaving = true;
    try {
      await this.api.deleteNamespacedLease({ name: this.name, namespace: this.o.namespace });
    } catch (err) {
      if ((err as { code?: number }).code !== 404)
        this.o.log.warn({ err: describeError(err) }, 'could not delete the solver member Lease');
    }
    await this.o.onChange();
  }

  private async tick(): Promise<void> {
    if (this.leaving) return;
    try {
      await this.renew();
      await this.list();
      const now = JSON.stringify(this.members);
      if (now !== this.announced) {
        this.announced = now;
        this.o.log.info(
          { members: this.members.map((m) => `${m.address}:${m.port}`) },
          'solver members',
        );
        await this.o.onChange();
      }
    } catch (err) {
      this.o.log.warn({ err: describeError(err) }, 'solver membership: renew or list failed');
    }
  }

  /** Lists the member Leases (one listing at a time). */
  private list(): Promise<void> {
    this.listing ??= (async () => {
      try {
        const list = await this.api.listNamespacedLease({
          namespace: this.o.namespace,
          labelSelector: `${memberLabel}=true`,
        });
        const now = Date.now();
        const next = liveMembers(list.items, now);
        this.listedAt = now;
        await this.sweep(list.items, now);
        this.members = next;
      } finally {
        this.listing = undefined;
      }
    })();
    return this.listing;
  }

  /** Leases of replicas killed without leaving, expired for 10 minutes, go (404 is fine). */
  private async sweep(leases: readonly k8s.V1Lease[], nowMs: number): Promise<void> {
    for (const l of leases) {
      if (!expiredLongAgo(l, nowMs)) continue;
      const name = l.metadata?.name ?? '';
      await this.api
        .deleteNamespacedLease({ name, namespace: this.o.namespace })
        .catch((err: unknown) => {
          if ((err as { code?: number }).code !== 404) throw err;
        });
    }
  }

  private async renew(): Promise<void> {
    const { address, port } = this.o.self();
    const body: k8s.V1Lease = {
      metadata: {
        name: this.name,
        namespace: this.o.namespace,
        labels: { [memberLabel]: 'true', [managedByLabel]: managedBy },
        annotations: { [addressAnnotation]: address, [portAnnotation]: String(port) },
      },
      spec: {
        holderIdentity: this.o.identity,
        leaseDurationSeconds: Math.ceil((this.o.leaseDurationMs ?? 15_000) / 1000),
        renewTime: new k8s.V1MicroTime(),
      },
    };
    try {
      const cur = await this.api.readNamespacedLease({
        name: this.name,
        namespace: this.o.namespace,
      });
      body.metadata = { ...body.metadata, resourceVersion: cur.metadata?.resourceVersion };
      await this.api.replaceNamespacedLease({ name: this.name, namespace: this.o.namespace, body });
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
      await this.api.createNamespacedLease({ namespace: this.o.namespace, body });
    }
  }
}
