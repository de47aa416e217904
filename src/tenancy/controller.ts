import * as k8s from '@kubernetes/client-node';
import { domainPolicySpec, type DomainPolicy, type DomainPolicyStatus } from '../api/v1alpha1.js';
import { reportFailure } from '../errors.js';
import { canonical, sameStatus } from '../kube/canonical.js';
import { setCondition } from '../kube/conditions.js';
import type { ControllerDeps } from '../kube/controller-deps.js';
import { isNotFound } from '../kube/crd-client.js';
import { ResilientInformer, specChanges, type InformerEvent } from '../kube/informer.js';
import { WorkQueue } from '../kube/queue.js';
import type { Logger } from '../observability/logger.js';
import { OrderBudget, type Take } from './budget.js';
import {
  checkCertificate,
  checkRecord,
  compile,
  ordersPerHour,
  selects,
  type CertificateRequest,
  type CompiledPolicy,
  type NamespaceInfo,
  type RecordRequest,
  type Verdict,
} from './policy.js';

export type { Verdict } from './policy.js';

type PolicyObject = DomainPolicy & k8s.KubernetesObject;

/** What the DNS and certificate controllers ask: one decision each, from the caches. */
export interface Tenancy {
  checkRecord(r: RecordRequest): Verdict;
  checkCertificate(c: CertificateRequest): Verdict;
  /** One new order of the namespace's hourly budget, or when to ask again. */
  takeOrder(namespace: string): Take & { limit?: number; policy?: string };
  /** Would takeOrder succeed now? Takes nothing. */
  peekOrder(namespace: string): Take & { limit?: number; policy?: string };
  /** Called (debounced) after a policy or a selected namespace's labels changed. */
  onChange(cb: () => void): void;
}

/** One object for every namespace without labels (or not in the cache): selections memoise on it. */
const noLabels: Readonly<Record<string, string>> = Object.freeze({});
/** Status lists at most this many matched namespaces (and always the count). */
const matchedCap = 100;
/** Policy and namespace events within this window cause one re-enqueue of the controllers. */
const debounceMs = 100;

/**
 * DomainPolicies and Namespaces (their labels) → the Tenancy the controllers ask, and each
 * policy's status: whether it is accepted and which namespaces it selects. A change that
 * matters re-enqueues every zone and Certificate (onChange), so allowing a name takes effect
 * without a restart.
 */
export class TenancyController implements Tenancy {
  readonly policies: ResilientInformer<PolicyObject>;
  readonly namespaces: ResilientInformer<k8s.V1Namespace>;
  readonly queue: WorkQueue;
  private readonly log: Logger;
  private readonly budget: OrderBudget;
  private compiled: CompiledPolicy[] = [];
  private readonly listeners: (() => void)[] = [];
  private readonly nsLabels = new Map<string, string>();
  private changeTimer: NodeJS.Timeout | undefined;
  /** Our own status writes keep the generation: they change nothing anyone asks. */
  private readonly specChanged = specChanges();

  constructor(
    private readonly d: ControllerDeps,
    now: () => number = Date.now,
  ) {
    this.log = d.log.child({ controller: 'tenancy' });
    this.budget = new OrderBudget(now);
    this.policies = new ResilientInformer<PolicyObject>({
      kubeConfig: d.kubeConfig,
      resource: 'domainpolicies',
      path: d.crds.watchPath('domainpolicies'),
      list: (options) => d.crds.list<PolicyObject>('domainpolicies', undefined, options),
      compression: d.config.kubeApiCompression,
      log: this.log,
      metrics: d.metrics,
    });
    const core = d.kubeConfig.makeApiClient(k8s.CoreV1Api);
    this.namespaces = new ResilientInformer<k8s.V1Namespace>({
      kubeConfig: d.kubeConfig,
      resource: 'namespaces',
      path: '/api/v1/namespaces',
      list: (options) => core.listNamespace(options),
      // Only names and labels are read: the cache keeps nothing else.
      transform: (n) => ({
        metadata: {
          name: n.metadata?.name ?? '',
          ...(n.metadata?.labels ? { labels: n.metadata.labels } : {}),
          ...(n.metadata?.uid ? { uid: n.metadata.uid } : {}),
          ...(n.metadata?.resourceVersion ? { resourceVersion: n.metadata.resourceVersion } : {}),
        },
      }),
      compression: d.config.kubeApiCompression,
      log: this.log,
      metrics: d.metrics,
    });
    this.queue = new WorkQueue({
      name: 'domain-policies',
      concurrency: 1,
      reconcile: (name) => (d.isLeader() ? this.writeStatus(name) : Promise.resolve()),
      log: this.log,
      metrics: d.metrics,
    });
    this.policies.on((ev, p) => {
      if (this.specChanged(ev, p)) this.onPolicy(ev);
    });
    this.namespaces.on((ev, n) => this.onNamespace(ev, n));
  }

  get synced(): boolean {
    return this.policies.synced && this.namespaces.synced;
  }

  async start(): Promise<void> {
    await Promise.all([this.policies.start(), this.namespaces.start()]);
    this.recompile();
  }

  async stop(): Promise<void> {
    clearTimeout(this.changeTimer);
    await this.queue.shutdown();
    await Promise.all([this.policies.stop(), this.namespaces.stop()]);
  }

  enqueueAll(): void {
    for (const p of this.policies.list()) this.queue.add(p.metadata?.name ?? '');
  }

  onChange(cb: () => void): void {
    this.listeners.push(cb);
  }

  checkRecord(r: RecordRequest): Verdict {
    return checkRecord(this.compiled, this.namespace(r.namespace), r);
  }

  checkCertificate(c: CertificateRequest): Verdict {
    return checkCertificate(this.compiled, this.namespace(c.namespace), c);
  }

  takeOrder(namespace: string): Take & { limit?: number; policy?: string } {
    const b = ordersPerHour(this.compiled, this.namespace(namespace));
    if (!b) return { ok: true };
    return { ...this.budget.take(namespace, b.limit), ...b };
  }

  peekOrder(namespace: string): Take & { limit?: number; policy?: string } {
    const b = ordersPerHour(this.compiled, this.namespace(namespace));
    if (!b) return { ok: true };
    return { ...this.budget.peek(namespace, b.limit), ...b };
  }

  private namespace(name: string): NamespaceInfo {
    return { name, labels: this.namespaces.get(name)?.metadata?.labels ?? noLabels };
  }

  private recompile(): void {
    this.compiled = this.policies
      .list()
      .map((p) => {
        const name = p.metadata?.name ?? '';
        const parsed = domainPolicySpec.safeParse(p.spec);
        if (parsed.success) return compile(name, parsed.data);
        const c = compile(name, { namespaces: {}, domains: [] });
        return { ...c, problem: `spec: ${parsed.error.issues.map((i) => i.message).join('; ')}` };
      })
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  private onPolicy(ev: InformerEvent): void {
    this.recompile();
    if (!this.policies.synced) return;
    if (ev !== 'delete') this.enqueueAll();
    this.changed();
  }

  /** A namespace's labels matter only while some policy exists. */
  private onNamespace(ev: InformerEvent, n: k8s.V1Namespace): void {
    const name = n.metadata?.name ?? '';
    const labels = canonical(n.metadata?.labels ?? {});
    const before = this.nsLabels.get(name);
    if (ev === 'delete') this.nsLabels.delete(name);
    else this.nsLabels.set(name, labels);
    if (!this.namespaces.synced || this.compiled.length === 0) return;
    if (ev === 'update' && before === labels) return;
    this.enqueueAll();
    this.changed();
  }

  private changed(): void {
    clearTimeout(this.changeTimer);
    this.changeTimer = setTimeout(() => {
      for (const cb of this.listeners) cb();
    }, debounceMs);
    this.changeTimer.unref();
  }

  private async writeStatus(name: string): Promise<void> {
    const p = this.policies.get(name);
    const c = this.compiled.find((x) => x.name === name);
    if (!p || !c) return;
    const matched = this.namespaces
      .list()
      .map((n) => n.metadata?.name ?? '')
      .filter((n) => selects(c, this.namespace(n)))
      .sort();
    const status = policyStatus(p, matched, c.problem);
    if (sameStatus(status, p.status ?? {})) return;
    try {
      await this.d.crds.patchStatus('domainpolicies', undefined, name, status);
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    if (
      c.problem &&
      p.status?.conditions?.find((x) => x.type === 'Accepted')?.message !== c.problem
    ) {
      reportFailure(this.log, this.d.metrics.failures, 'tenancy', 'InvalidPolicy', c.problem, {
        name,
      });
      await this.d.events.record(
        { apiVersion: 'certroute.io/v1alpha1', kind: 'DomainPolicy', metadata: p.metadata ?? {} },
        'Warning',
        'InvalidPolicy',
        `${c.problem}; this policy allows nothing until fixed`,
      );
    }
  }
}

/** Accepted (or not, and why) and the namespaces matched, sorted and capped. */
function policyStatus(
  p: PolicyObject,
  matched: string[],
  problem: string | undefined,
): DomainPolicyStatus {
  const accepted = problem
    ? { status: 'False' as const, reason: 'InvalidPolicy', message: problem }
    : {
        status: 'True' as const,
        reason: 'Accepted',
        message: `selects ${matched.length} namespace(s)`,
      };
  const generation = p.metadata?.generation;
  return {
    observedGeneration: generation,
    matchedNamespaces: matched.slice(0, matchedCap),
    matchedNamespaceCount: matched.length,
    conditions: setCondition(p.status?.conditions, {
      type: 'Accepted',
      ...accepted,
      observedGeneration: generation,
    }),
  };
}
