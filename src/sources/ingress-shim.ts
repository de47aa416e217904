import * as k8s from '@kubernetes/client-node';
import type { ControllerDeps } from '../kube/controller-deps.js';
import type { Certificate, DNSEndpoint } from '../api/v1alpha1.js';
import type { Plural } from '../kube/crd-client.js';
import { isNotFound } from '../kube/crd-client.js';
import { createChild, replaceChild } from './child-writer.js';
import {
  addressSeenAnnotation,
  problemsAnnotation,
  type DerivedEndpoints,
} from '../dns/endpoints.js';
import { ResilientInformer, specChanges, type InformerEvent } from '../kube/informer.js';
import { scopedInformer, type Informer } from '../kube/scoped-informer.js';
import { describeError, reportFailure } from '../errors.js';
import { controllerOf, managedSelector } from '../kube/ownership.js';
import { WorkQueue, type ReconcileResult } from '../kube/queue.js';
import { solverLabel } from '../acme/solvers/http01.js';
import type { Logger } from '../observability/logger.js';
import { desiredDnsEndpoint, desiredFor, isWatchedClass, type ShimOptions } from './ingress.js';
import { ChildIndex } from './child-index.js';
import { holdForAddressMs, planChildren, type Child, type ChildPlan } from './children.js';

export interface ShimDeps extends ControllerDeps {
  /** The DNSEndpoint informer shared with the DNS controller (one cache, not two). */
  dnsEndpoints?: Informer<Custom<DNSEndpoint>>;
  /** The Certificate informer shared with the certificate controller. */
  certificates?: Informer<Custom<Certificate>>;
  awsRegion?: string;
}

type Custom<T> = T & k8s.KubernetesObject;

/**
 * Ingress → one Certificate per spec.tls Secret and one DNSEndpoint, owned by the Ingress.
 * Deletion is left to the garbage collector through owner references; this controller only
 * deletes children the Ingress no longer asks for. Only the leader writes.
 */
export class IngressShim {
  readonly ingresses: ResilientInformer<k8s.V1Ingress>[];
  readonly certificates: Informer<Custom<Certificate>>;
  readonly dnsEndpoints: Informer<Custom<DNSEndpoint>>;
  readonly queue: WorkQueue;
  private readonly opts: ShimOptions;
  /** Children by the Ingress that controls them: a reconcile reads only its own. */
  private readonly certificateIndex: ChildIndex<Custom<Certificate>>;
  private readonly dnsEndpointIndex: ChildIndex<Custom<DNSEndpoint>>;
  private readonly log: Logger;
  private resync: NodeJS.Timeout | undefined;
  /** Reconciles write children only once this settles (writesAfter). */
  private gate: Promise<void> = Promise.resolve();
  /** When an Ingress event was last seen: stamped on DNSEndpoints to measure address-to-DNS latency. */
  private readonly seenAt = new Map<string, number>();
  /** DNSEndpoint specs derived from the cached Ingresses, by namespace/name. */
  private readonly derived = new Map<string, Custom<DNSEndpoint>>();
  private readonly derivedHandlers: ((ev: 'update' | 'delete', e: Custom<DNSEndpoint>) => void)[] =
    [];
  /**
   * Until deriveInBackground(): Ingress events whose derivation waits, the latest per key.
   * Undefined once derivation follows events at once.
   */
  private pendingDerive: Map<string, { ev: InformerEvent; ing: k8s.V1Ingress }> | undefined =
    new Map();

  constructor(private readonly d: ShimDeps) {
    this.log = d.log.child({ controller: 'ingress-shim' });
    this.opts = {
      dnsDefault: d.config.dnsDefault,
      defaultIssuer: d.config.defaultIssuer,
      awsRegion: d.awsRegion,
      ingressClasses: d.config.ingressClasses,
    };
    // Lists as plain JSON, like the watch events that follow: client-node's typed models (class
    // instances, Date objects) cost twice the memory for nothing certroute reads.
    const raw = d.kubeConfig.makeApiClient(k8s.CustomObjectsApi);
    const ingresses = { group: 'networking.k8s.io', version: 'v1', plural: 'ingresses' };
    const namespaces = d.config.watchNamespaces.length > 0 ? d.config.watchNamespaces : [undefined];
    this.ingresses = namespaces.map(
      (ns) =>
        new ResilientInformer<k8s.V1Ingress>({
          kubeConfig: d.kubeConfig,
          resource: ns ? `ingresses/${ns}` : 'ingresses',
          path: ns
            ? `/apis/networking.k8s.io/v1/namespaces/${ns}/ingresses`
            : '/apis/networking.k8s.io/v1/ingresses',
          list: async (options) =>
            (await (ns
              ? raw.listNamespacedCustomObject({ ...ingresses, namespace: ns, ...options })
              : raw.listClusterCustomObject({
                  ...ingresses,
                  ...options,
                }))) as k8s.KubernetesListObject<k8s.V1Ingress>,
          transform: slimIngress,
          compression: d.config.kubeApiCompression,
          log: this.log,
          metrics: d.metrics,
        }),
    );
    this.certificates = d.certificates ?? this.childInformer<Certificate>('certificates');
    this.dnsEndpoints = d.dnsEndpoints ?? this.childInformer<DNSEndpoint>('dnsendpoints');
    this.queue = new WorkQueue({
      name: 'ingress-shim',
      concurrency: d.config.workers,
      reconcile: (k) => this.reconcile(k),
      log: this.log,
      metrics: d.metrics,
    });
    for (const inf of this.ingresses) {
      inf.on((ev, ing) => {
        const key = keyOf(ing.metadata);
        if (ev === 'delete') this.seenAt.delete(key);
        else this.seenAt.set(key, Date.now());
        if (this.pendingDerive) this.pendingDerive.set(key, { ev, ing });
        else this.derive(ev, ing, key);
        this.queue.add(key);
      });
    }
    // Children's status writes (by the DNS and certificate controllers) keep the generation:
    // only spec changes, creations and deletions can make an Ingress's children drift.
    const changed = specChanges();
    const enqueueOwner = (ev: InformerEvent, o: Child & k8s.KubernetesObject) => {
      if (!changed(ev, o)) return;
      const owner = controllerOf(o);
      if (owner?.kind === 'Ingress' && owner.name)
        this.queue.add(`${o.metadata?.namespace}/${owner.name}`);
    };
    this.certificates.on(enqueueOwner);
    this.dnsEndpoints.on(enqueueOwner);
    this.certificateIndex = new ChildIndex(this.certificates);
    this.dnsEndpointIndex = new ChildIndex(this.dnsEndpoints);
  }

  /**
   * The DNSEndpoint spec this Ingress asks for, computed the moment the Ingress changes and
   * handed to the DNS controller in memory (see DnsDeps.derived). The reconcile still writes
   * the same spec to the API, where it is visible and carries status.
   */
  private derive(ev: InformerEvent, ing: k8s.V1Ingress, key: string): void {
    const before = this.derived.get(key);
    const live = ev !== 'delete' && !ing.metadata?.deletionTimestamp;
    const dns = live && this.watchedIngress(ing) ? desiredDnsEndpoint(ing, this.opts) : undefined;
    if (dns) {
      const at = new Date(this.seenAt.get(key) ?? Date.now()).toISOString();
      dns.metadata.annotations = { ...dns.metadata.annotations, [addressSeenAnnotation]: at };
      const e = dns as Custom<DNSEndpoint>;
      this.derived.set(key, e);
      for (const h of this.derivedHandlers) h('update', e);
    } else if (before) {
      this.derived.delete(key);
      for (const h of this.derivedHandlers) h('delete', before);
    }
  }

  /**
   * Derives what the initial list left pending, a slice per event-loop turn, then follows
   * Ingress events at once. The operator calls it once every cache has synced (ADR 0013): the
   * derivation of thousands of Ingresses is not part of reaching ready, and the slices let the
   * Lease and probe requests through. A reader of the derived specs never waits for it: it
   * derives what is still pending first.
   */
  deriveInBackground(sliceSize = 250): Promise<void> {
    return new Promise((resolve) => {
      const slice = () => {
        if (!this.derivePending(sliceSize)) return void setImmediate(slice);
        this.pendingDerive = undefined;
        resolve();
      };
      slice();
    });
  }

  /** Derives up to `limit` pending Ingresses (a reader: all of them); true when none is left. */
  private derivePending(limit = Infinity): boolean {
    const pending = this.pendingDerive;
    if (!pending) return true;
    let n = 0;
    for (const [key, { ev, ing }] of pending) {
      if (n++ === limit) return false;
      pending.delete(key);
      this.derive(ev, ing, key);
    }
    return true;
  }

  /** DNSEndpoints as derived from the cached Ingresses, for the DNS controller. */
  readonly derivedEndpoints: DerivedEndpoints = {
    list: () => {
      this.derivePending();
      return [...this.derived.values()];
    },
    get: (namespace, name) => {
      this.derivePending();
      return this.derived.get(`${namespace}/${name}`);
    },
    on: (handler) => {
      this.derivedHandlers.push(handler);
    },
  };

  /** certroute's own HTTP-01 solver Ingresses are routing plumbing, never a source. */
  private watchedIngress(ing: k8s.V1Ingress): boolean {
    return isWatchedClass(ing, this.opts.ingressClasses) && !ing.metadata?.labels?.[solverLabel];
  }

  /** Children in the watched namespaces only (one informer each), or in all. */
  private childInformer<T>(plural: Plural): Informer<Custom<T>> {
    return scopedInformer(
      this.d.config.watchNamespaces,
      (ns) =>
        new ResilientInformer<Custom<T>>({
          kubeConfig: this.d.kubeConfig,
          resource: ns ? `${plural}/${ns}` : plural,
          path: this.d.crds.watchPath(plural, ns),
          list: (options) => this.d.crds.list<Custom<T>>(plural, ns, options),
          labelSelector: managedSelector,
          compression: this.d.config.kubeApiCompression,
          log: this.log,
          metrics: this.d.metrics,
        }),
    );
  }

  get synced(): boolean {
    return (
      this.ingresses.every((i) => i.synced) && this.certificates.synced && this.dnsEndpoints.synced
    );
  }

  async start(): Promise<void> {
    await Promise.all([
      ...this.ingresses.map((i) => i.start()),
      this.certificates.start(),
      this.dnsEndpoints.start(),
    ]);
    this.resync = setInterval(() => this.enqueueAll(), this.d.config.resyncInterval);
    this.resync.unref();
  }

  /** Called when this replica becomes leader: everything may have changed meanwhile. */
  enqueueAll(): void {
    for (const inf of this.ingresses)
      for (const ing of inf.list()) this.queue.add(keyOf(ing.metadata));
  }

  async stop(): Promise<void> {
    clearInterval(this.resync);
    await this.queue.shutdown();
    await Promise.all([
      ...this.ingresses.map((i) => i.stop()),
      this.certificates.stop(),
      this.dnsEndpoints.stop(),
    ]);
  }

  /** The cached Ingress, for other controllers (its address, its class). */
  ingress(namespace: string, name: string): k8s.V1Ingress | undefined {
    return this.findIngress(namespace, name);
  }

  private findIngress(namespace: string, name: string): k8s.V1Ingress | undefined {
    for (const inf of this.ingresses) {
      const ing = inf.get(name, namespace);
      if (ing) return ing;
    }
    return undefined;
  }

  /**
   * Holds children's writes until `first` settles, or `capMs` at most: on a first start (or a
   * new leader) the DNS controller publishes every record from the derived specs first, and
   * thousands of DNSEndpoint and Certificate writes follow instead of competing with it for
   * the event loop and the API server (docs/adr/0027). Records never wait for these writes.
   */
  writesAfter(first: Promise<void>, capMs = 20_000): void {
    let timer: NodeJS.Timeout | undefined;
    const cap = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, capMs);
      timer.unref();
    });
    this.gate = Promise.race([first.catch(() => undefined), cap]).finally(() =>
      clearTimeout(timer),
    );
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    if (!this.d.isLeader()) return;
    await this.gate;
    const [namespace = '', name = ''] = key.split('/');
    const ing = this.findIngress(namespace, name);
    // A deleted Ingress's children go with it through the garbage collector.
    if (!ing?.metadata?.uid || ing.metadata.deletionTimestamp) return;
    const hold = this.holdMs(ing, namespace, ing.metadata.uid);
    if (hold > 0) return { requeueAfterMs: hold };
    const log = this.log.child({ namespace, name });
    const desired = this.watchedIngress(ing)
      ? desiredFor(ing, this.opts)
      : { certificates: [], problems: [] };
    for (const p of desired.problems) {
      reportFailure(log, this.d.metrics.failures, 'ingress-shim', p.reason, p.message);
      await this.d.events.record(ingressRef(ing), 'Warning', p.reason, p.message);
    }
    // DNS and certificates are independent: a failure in one must not hold back the other.
    const results = await Promise.allSettled([
      // Malformed or conflicting issuer annotations leave the Certificates as they are.
      'holdCertificates' in desired && desired.holdCertificates
        ? Promise.resolve()
        : this.applyChildren(ing, 'certificates', desired.certificates, log),
      this.applyChildren(
        ing,
        'dnsendpoints',
        desired.dnsEndpoint ? [desired.dnsEndpoint] : [],
        log,
      ),
    ]);
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (failed.length > 0)
      throw new Error(`[ingress ${key}] ${failed.map(describeError).join('; ')}`, {
        cause: failed[0],
      });
  }

  /** How long to wait for a fresh Ingress's address before its first children (0: now). */
  private holdMs(ing: k8s.V1Ingress, namespace: string, uid: string): number {
    const hold = holdForAddressMs(ing, Date.now());
    return hold > 0 && this.dnsEndpointIndex.relevant(namespace, uid, []).length === 0 ? hold : 0;
  }

  /** One kind of child against those the Ingress controls and whoever holds its names. */
  private planFor<T extends Child>(
    ing: k8s.V1Ingress,
    plural: 'certificates' | 'dnsendpoints',
    desired: T[],
    uid: string,
  ): ChildPlan<T> {
    const dns = plural === 'dnsendpoints';
    const wanted = desired.map((c) => c.metadata.name ?? '');
    const index = dns ? this.dnsEndpointIndex : this.certificateIndex;
    const existing = index.relevant(ing.metadata?.namespace ?? '', uid, wanted) as unknown as T[];
    const plan = planChildren(desired, existing, uid, dns ? [problemsAnnotation] : []);
    if (!dns) return plan;
    const at = new Date(this.seenAt.get(keyOf(ing.metadata)) ?? Date.now()).toISOString();
    for (const o of [...plan.create, ...plan.update]) {
      const m = o.metadata as { annotations?: Record<string, string> };
      m.annotations = { ...m.annotations, [addressSeenAnnotation]: at };
    }
    return plan;
  }

  private async applyChildren<T extends Child & { kind: string }>(
    ing: k8s.V1Ingress,
    plural: 'certificates' | 'dnsendpoints',
    desired: T[],
    log: Logger,
  ): Promise<void> {
    const uid = ing.metadata?.uid ?? '';
    const plan = this.planFor(ing, plural, desired, uid);
    const ref = ingressRef(ing);
    const kind = kindOf(plural);
    for (const c of plan.conflicts) await this.conflict(ing, plural, c.name, c.owner);
    for (const o of plan.create) {
      if (!(await this.create(ing, plural, o, uid))) continue;
      log.info({ kind, child: o.metadata.name }, 'created');
      // A DNSEndpoint's creation is plumbing: its RecordPublished Event (or a Warning) says
      // what came of it. One Event per host less in a burst (docs/adr/0027).
      if (plural !== 'dnsendpoints')
        await this.d.events.record(
          ref,
          'Normal',
          `${kind}Created`,
          `created ${kind} ${o.metadata.name}`,
        );
    }
    for (const o of plan.update) {
      await replaceChild(this.d.crds, plural, o);
      log.info({ kind, child: o.metadata.name }, 'updated');
    }
    for (const o of plan.delete) {
      await this.d.crds
        .delete(plural, ing.metadata?.namespace ?? '', o.metadata.name ?? '')
        .catch(ignoreNotFound);
      log.info({ kind, child: o.metadata.name }, 'deleted: no longer asked for');
      await this.d.events.record(
        ref,
        'Normal',
        `${kind}Deleted`,
        `deleted ${kind} ${o.metadata.name}: the Ingress no longer asks for it`,
      );
    }
  }

  /** Creates a child; false when an object we must not take over already holds the name. */
  private async create<T extends Child>(
    ing: k8s.V1Ingress,
    plural: Plural,
    o: T,
    uid: string,
  ): Promise<boolean> {
    const heldBy = await createChild(this.d.crds, plural, o, uid);
    if (heldBy === undefined) return true;
    await this.conflict(ing, plural, o.metadata.name ?? '', heldBy);
    return false;
  }

  private async conflict(
    ing: k8s.V1Ingress,
    plural: Plural,
    name: string,
    owner: string,
  ): Promise<void> {
    const kind = kindOf(plural);
    const reason = kind === 'Certificate' ? 'SecretClaimedElsewhere' : 'DNSEndpointConflict';
    const message = `${kind} ${name} already exists and is controlled by ${owner}; certroute will not take it over`;
    reportFailure(this.log, this.d.metrics.failures, 'ingress-shim', reason, message, {
      namespace: ing.metadata?.namespace,
      ingress: ing.metadata?.name,
    });
    await this.d.events.record(ingressRef(ing), 'Warning', reason, message);
  }
}

function kindOf(plural: Plural): string {
  return plural === 'certificates'
    ? 'Certificate'
    : plural === 'dnsendpoints'
      ? 'DNSEndpoint'
      : 'ClusterIssuer';
}

function ignoreNotFound(err: unknown): void {
  if (!isNotFound(err)) throw err;
}

export function keyOf(m: k8s.V1ObjectMeta | undefined): string {
  return `${m?.namespace ?? ''}/${m?.name ?? ''}`;
}

export function ingressRef(ing: k8s.V1Ingress) {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: ing.metadata };
}

/**
 * An Ingress as cached: everything but the backends of its rules and its default backend,
 * which no controller reads (hosts, TLS, class, annotations and status are what matter).
 * Writes to Ingresses are merge patches, never replacements of a cached copy.
 */
export function slimIngress(ing: k8s.V1Ingress): k8s.V1Ingress {
  const spec = ing.spec;
  if (!spec || (!spec.rules && !spec.defaultBackend)) return ing;
  const slim: k8s.V1IngressSpec = {};
  if (spec.ingressClassName !== undefined) slim.ingressClassName = spec.ingressClassName;
  if (spec.tls) slim.tls = spec.tls;
  if (spec.rules) slim.rules = spec.rules.map((r) => (r.host ? { host: r.host } : {}));
  return { ...ing, spec: slim };
}
