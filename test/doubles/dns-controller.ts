// Doubles for the DNS controller's unit tests: Route53 in memory and a DNSEndpoint informer
// over an array. The fake Route53 keeps Route53's rules that matter here (a change id per
// accepted batch, GetChange PENDING until told, listings reading the zone when they start).
import { setTimeout as sleep } from 'node:timers/promises';
import type * as k8s from '@kubernetes/client-node';
import type { DNSEndpoint, DNSEndpointStatus } from '../../src/api/v1alpha1.js';
import { parseConfig } from '../../src/config/index.js';
import type { DnsProvider } from '../../src/dns/providers/provider.js';
import { recordKey, type Change, type RecordSet, type Zone } from '../../src/dns/types.js';
import type { CrdClient } from '../../src/kube/crd-client.js';
import type { EventRecorder } from '../../src/kube/events.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { DnsController, type DnsDeps } from '../../src/dns/controller.js';
import type { Tenancy } from '../../src/tenancy/controller.js';

export type Endpoint = DNSEndpoint & k8s.KubernetesObject;

export const zone: Zone = { id: 'Z1', name: 'example.test', private: false };
export const resyncMs = 60_000;

/** Route53 in memory. A listing reads the zone when it starts and may be held before it ends. */
export class FakeRoute53 implements DnsProvider {
  readonly label = 'Route53';
  readonly zoneNoun = 'Route53 hosted zone';
  readonly rrsets = new Map<string, RecordSet>();
  readonly calls: string[] = [];
  /** While set, listings wait for it (after reading the zone). */
  hold: Promise<void> | undefined;
  /** Change ids GetChange reports INSYNC for; every other id is PENDING. */
  readonly inSync = new Set<string>();
  /** Errors the next change batches fail with, in order (as Route53 would answer). */
  readonly failChanges: Error[] = [];
  /** Errors the next listings fail with, in order. */
  readonly failLists: Error[] = [];
  private changes = 0;

  zones(): Promise<Zone[]> {
    return Promise.resolve([zone]);
  }

  async records(): Promise<RecordSet[]> {
    const failure = this.failLists.shift();
    if (failure) {
      this.calls.push(`list failed: ${failure.name}`);
      throw failure;
    }
    this.calls.push('list');
    const snapshot = [...this.rrsets.values()];
    await this.hold;
    return snapshot;
  }

  applyChanges(_zoneId: string, changes: Change[]): Promise<string> {
    const failure = this.failChanges.shift();
    if (failure) {
      this.calls.push(`change failed: ${failure.name}`);
      return Promise.reject(failure);
    }
    const id = `C${++this.changes}`;
    this.calls.push(`change ${id}`);
    for (const c of changes) {
      const k = recordKey(c.record.name, c.record.type);
      if (c.action === 'DELETE') this.rrsets.delete(k);
      else this.rrsets.set(k, c.record);
    }
    return Promise.resolve(id);
  }

  recordSet(_zoneId: string, name: string, type: string): Promise<RecordSet | undefined> {
    return Promise.resolve(this.rrsets.get(recordKey(name, type)));
  }

  isInSync(changeId: string): Promise<boolean> {
    this.calls.push(`get ${changeId}`);
    return Promise.resolve(this.inSync.has(changeId));
  }

  since(mark: number): string[] {
    return this.calls.slice(mark);
  }
}

export function endpoint(name: string, ip: string, generation = 1): Endpoint {
  return {
    apiVersion: 'certroute.io/v1alpha1',
    kind: 'DNSEndpoint',
    metadata: { name, namespace: 'ns', uid: `uid-${name}`, generation },
    spec: { endpoints: [{ dnsName: `${name}.example.test`, recordType: 'A', targets: [ip] }] },
  };
}

export function setup(endpoints: Endpoint[], flags: string[] = [], tenancy?: Tenancy) {
  const provider = new FakeRoute53();
  const statuses = new Map<string, DNSEndpointStatus>();
  const events: string[] = [];
  const informer = {
    list: () => endpoints,
    get: (name: string) => endpoints.find((e) => e.metadata?.name === name),
    on: () => undefined,
    synced: true,
    start: () => Promise.resolve(),
    stop: () => Promise.resolve(),
  };
  const crds = {
    patchStatus: (_kind: string, _ns: string, name: string, status: DNSEndpointStatus) => {
      statuses.set(name, status);
      return Promise.resolve();
    },
  };
  const deps: DnsDeps = {
    kubeConfig: {} as DnsDeps['kubeConfig'],
    crds: crds as unknown as CrdClient,
    provider,
    // No pacing unless a test asks for it (--zone-change-interval has tests of its own).
    config: parseConfig(
      [
        '--owner-id=unit',
        `--resync-interval=${resyncMs / 1000}s`,
        '--zone-change-interval=0',
        ...flags,
      ],
      {},
    ),
    log: silentLogger,
    metrics: createMetrics(),
    events: {
      record: (t: { kind: string }, _type: string, reason: string, message: string) => {
        events.push(`${t.kind} ${reason}: ${message}`);
        return Promise.resolve();
      },
    } as unknown as EventRecorder,
    isLeader: () => true,
    endpoints: informer,
    ...(tenancy ? { tenancy } : {}),
  };
  const dns = new DnsController(deps);
  const stateOf = (name: string) => statuses.get(name)?.endpoints?.[0]?.state;
  return { dns, provider, endpoints, stateOf, statuses, events, metrics: deps.metrics };
}

export async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) throw new Error('condition not met in time');
    await sleep(10);
  }
}
