import * as k8s from '@kubernetes/client-node';
import type { Certificate, DNSEndpoint } from '../api/v1alpha1.js';
import { problemsAnnotation, type SourceProblem } from '../dns/endpoints.js';
import { describeError, failureReasons, reportFailure, type FailureReason } from '../errors.js';
import type { ControllerDeps } from '../kube/controller-deps.js';
import { isNotFound, type Plural } from '../kube/crd-client.js';
import { createChild, replaceChild } from './child-writer.js';
import { ResilientInformer, specChanges, type InformerEvent } from '../kube/informer.js';
import { controllerOf } from '../kube/ownership.js';
import { WorkQueue, type ReconcileResult } from '../kube/queue.js';
import { scopedInformer, type Informer } from '../kube/scoped-informer.js';
import type { Logger } from '../observability/logger.js';
import { ChildIndex } from './child-index.js';
import { planChildren, type Child } from './children.js';
import {
  gatewayClassResource,
  gatewayGroup,
  gatewayResource,
  routeResources,
  type GatewayClass,
  type Route,
  type RouteKind,
} from './gateway-api.js';
import type { RouteLookup } from './routes.js';
import {
  apiVersionOf,
  desiredForGateway,
  desiredForRoute,
  desiredForService,
  parentGatewaysOf,
  type SourceDesired,
  type SourceKind,
} from './source-desired.js';

type Custom<T> = T & k8s.KubernetesObject;
type Obj = k8s.KubernetesObject;

export interface SourcesShimDeps extends ControllerDeps {
  dnsEndpoints: Informer<Custom<DNSEndpoint>>;
  certificates: Informer<Custom<Certificate>>;
  awsRegion?: string;
}

const routeKinds: RouteKind[] = ['HTTPRoute', 'GRPCRoute', 'TLSRoute'];

/**
 * The sources beyond Ingress: Gateway API routes (→ a DNSEndpoint each), Gateways (→ a
 * Certificate per listener Secret) and LoadBalancer Services (→ a DNSEndpoint), with the
 * Ingress shim's rules: children owned by the source, problems as Warning Events and on the
 * DNSEndpoint's SourceValid condition, deletion left to the garbage collector. Which kinds
 * exist is found at start (the Gateway API CRDs are optional, TLSRoute is experimental); a
 * kind that does not is skipped with one log line. Only the leader writes.
 */
export class SourcesShim {
  readonly queue: WorkQueue;
  private readonly log: Logger;
  private readonly informers = new Map<SourceKind, Informer<Obj>>();
  private classes: Informer<Custom<GatewayClass>> | undefined;
  private readonly certificateIndex: ChildIndex<Custom<Certificate>>;
  private readonly dnsEndpointIndex: ChildIndex<Custom<DNSEndpoint>>;
  private started = false;
  private resync: NodeJS.Timeout | undefined;

  constructor(private readonly d: SourcesShimDeps) {
    this.log = d.log.child({ controller: 'sources' });
    this.queue = new WorkQueue({
      name: 'sources',
      concurrency: d.config.workers,
      reconcile: (k) => this.reconcile(k),
      log: this.log,
      metrics: d.metrics,
    });
    const changed = specChanges();
    const enqueueOwner = (ev: InformerEvent, o: Child & Obj) => {
      if (!changed(ev, o)) return;
      const owner = controllerOf(o);
      if (owner?.kind && owner.name && this.informers.has(owner.kind as SourceKind))
        this.queue.add(`${owner.kind}/${o.metadata?.namespace}/${owner.name}`);
    };
    d.certificates.on(enqueueOwner);
    d.dnsEndpoints.on(enqueueOwner);
    this.certificateIndex = new ChildIndex(d.certificates);
    this.dnsEndpointIndex = new ChildIndex(d.dnsEndpoints);
  }

  /** The kinds being watched (after start). */
  get kinds(): SourceKind[] {
    return [...this.informers.keys()];
  }

  get synced(): boolean {
    return (
      this.started &&
      [...this.informers.values()].every((i) => i.synced) &&
      (this.classes?.synced ?? true)
    );
  }

  /** Finds which kinds the API server serves, then lists and watches them. */
  async start(): Promise<void> {
    const wanted = new Set(this.d.config.sources);
    if (wanted.has('service')) this.add('Service', '', 'v1', 'services');
    if (wanted.has('gateway')) {
      const v1 = await this.served(gatewayGroup, 'v1');
      const alpha = await this.served(gatewayGroup, 'v1alpha2');
      if (v1.has(gatewayResource.plural)) {
        this.add('Gateway', gatewayGroup, gatewayResource.version, gatewayResource.plural);
        this.classes = this.clusterInformer<GatewayClass>(gatewayClassResource.plural);
        this.classes.on(() => this.enqueueRoutes(() => true));
      } else
        this.log.info('no Gateway API CRDs (gateway.networking.k8s.io/v1): Gateway sources off');
      for (const kind of routeKinds) {
        const r = routeResources[kind];
        const served = r.version === 'v1' ? v1 : alpha;
        if (served.has(r.plural) && v1.has(gatewayResource.plural))
          this.add(kind, gatewayGroup, r.version, r.plural);
        else if (v1.has(gatewayResource.plural))
          this.log.info({ kind }, `${kind} CRD not installed: that source is off`);
      }
    }
    await Promise.all([
      ...[...this.informers.values()].map((i) => i.start()),
      this.classes?.start(),
    ]);
    this.started = true;
    this.log.info({ kinds: this.kinds }, 'sources watched');
    this.resync = setInterval(() => this.enqueueAll(), this.d.config.resyncInterval);
    this.resync.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.resync);
    await this.queue.shutdown();
    await Promise.all([...[...this.informers.values()].map((i) => i.stop()), this.classes?.stop()]);
  }

  enqueueAll(): void {
    for (const [kind, inf] of this.informers)
      for (const o of inf.list())
        this.queue.add(`${kind}/${o.metadata?.namespace}/${o.metadata?.name}`);
  }

  /** The resources a group/version serves; empty when the API server does not know it. */
  private async served(group: string, version: string): Promise<Set<string>> {
    try {
      const api = this.d.kubeConfig.makeApiClient(k8s.CustomObjectsApi);
      const list = await api.getAPIResources({ group, version });
      return new Set(list.resources.map((r) => r.name));
    } catch (err) {
      if (isNotFound(err)) return new Set();
      throw err;
    }
  }

  private add(kind: SourceKind, group: string, version: string, plural: string): void {
    const raw = this.d.kubeConfig.makeApiClient(k8s.CustomObjectsApi);
    const core = this.d.kubeConfig.makeApiClient(k8s.CoreV1Api);
    const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
    const inf = scopedInformer<Obj>(
      this.d.config.watchNamespaces,
      (ns) =>
        new ResilientInformer<Obj>({
          kubeConfig: this.d.kubeConfig,
          resource: ns ? `${plural}/${ns}` : plural,
          path: ns ? `${base}/namespaces/${ns}/${plural}` : `${base}/${plural}`,
          list: async (options) =>
            (kind === 'Service'
              ? await (ns
                  ? core.listNamespacedService({ namespace: ns, ...options })
                  : core.listServiceForAllNamespaces(options))
              : await (ns
                  ? raw.listNamespacedCustomObject({
                      group,
                      version,
                      plural,
                      namespace: ns,
                      ...options,
                    })
                  : raw.listClusterCustomObject({
                      group,
                      version,
                      plural,
                      ...options,
                    }))) as k8s.KubernetesListObject<Obj>,
          compression: this.d.config.kubeApiCompression,
          log: this.log,
          metrics: this.d.metrics,
        }),
    );
    inf.on((_ev, o) => {
      this.queue.add(`${kind}/${o.metadata?.namespace}/${o.metadata?.name}`);
      // A Gateway's addresses, listeners and annotations shape its routes' records.
      if (kind === 'Gateway') {
        const key = `${o.metadata?.namespace}/${o.metadata?.name}`;
        this.enqueueRoutes((r) => parentGatewaysOf(r).includes(key));
      }
    });
    this.informers.set(kind, inf);
  }

  private clusterInformer<T>(plural: string): Informer<Custom<T>> {
    const raw = this.d.kubeConfig.makeApiClient(k8s.CustomObjectsApi);
    return new ResilientInformer<Custom<T>>({
      kubeConfig: this.d.kubeConfig,
      resource: plural,
      path: `/apis/${gatewayGroup}/v1/${plural}`,
      list: async (options) =>
        (await raw.listClusterCustomObject({
          group: gatewayGroup,
          version: 'v1',
          plural,
          ...options,
        })) as k8s.KubernetesListObject<Custom<T>>,
      compression: this.d.config.kubeApiCompression,
      log: this.log,
      metrics: this.d.metrics,
    });
  }

  private enqueueRoutes(match: (r: Route) => boolean): void {
    for (const kind of routeKinds)
      for (const r of this.informers.get(kind)?.list() ?? [])
        if (match(r)) this.queue.add(`${kind}/${r.metadata?.namespace}/${r.metadata?.name}`);
  }

  private readonly lookup: RouteLookup = {
    gateway: (ns, name) => this.informers.get('Gateway')?.get(name, ns),
    controllerOf: (className) => this.classes?.get(className)?.spec?.controllerName,
  };

  /** What one source asks for. Pure apart from the caches it reads. */
  desired(kind: SourceKind, o: Obj): SourceDesired {
    const opts = {
      dnsDefault: this.d.config.dnsDefault,
      defaultIssuer: this.d.config.defaultIssuer,
      awsRegion: this.d.awsRegion,
    };
    if (kind === 'Service') return desiredForService(o, opts);
    if (kind === 'Gateway') return desiredForGateway(o, opts);
    return desiredForRoute(o, kind, this.lookup, opts);
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    if (!this.d.isLeader()) return;
    const [k = '', namespace = '', name = ''] = key.split('/');
    const kind = k as SourceKind;
    const o = this.informers.get(kind)?.get(name, namespace);
    if (!o?.metadata?.uid || o.metadata.deletionTimestamp) return;
    const log = this.log.child({ kind, namespace, name });
    const desired = this.desired(kind, o);
    const ref = { apiVersion: apiVersionOf[kind], kind, metadata: o.metadata };
    for (const p of desired.problems) {
      reportFailure(log, this.d.metrics.failures, 'sources', reasonOf(p), p.message);
      await this.d.events.record(ref, 'Warning', p.reason, p.message);
    }
    const results = await Promise.allSettled([
      desired.holdCertificates
        ? Promise.resolve()
        : this.apply(ref, 'certificates', desired.certificates, log),
      this.apply(ref, 'dnsendpoints', desired.dnsEndpoint ? [desired.dnsEndpoint] : [], log),
    ]);
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (failed.length > 0)
      throw new Error(`[${key}] ${failed.map(describeError).join('; ')}`, { cause: failed[0] });
  }

  private async apply<T extends Child & { kind: string }>(
    ref: { apiVersion: string; kind: string; metadata: k8s.V1ObjectMeta },
    plural: 'certificates' | 'dnsendpoints',
    desired: T[],
    log: Logger,
  ): Promise<void> {
    const uid = ref.metadata.uid ?? '';
    const ns = ref.metadata.namespace ?? '';
    const index = plural === 'dnsendpoints' ? this.dnsEndpointIndex : this.certificateIndex;
    const wanted = desired.map((c) => c.metadata.name ?? '');
    const existing = index.relevant(ns, uid, wanted) as unknown as T[];
    const plan = planChildren(
      desired,
      existing,
      uid,
      plural === 'dnsendpoints' ? [problemsAnnotation] : [],
    );
    const kind = plural === 'certificates' ? 'Certificate' : 'DNSEndpoint';
    for (const c of plan.conflicts) await this.conflict(ref, kind, c.name, c.owner, log);
    for (const o of plan.create) {
      if (!(await this.create(ref, plural, o, uid, log))) continue;
      log.info({ child: o.metadata.name, childKind: kind }, 'created');
      if (kind === 'Certificate')
        await this.d.events.record(
          ref,
          'Normal',
          'CertificateCreated',
          `created Certificate ${o.metadata.name}`,
        );
    }
    for (const o of plan.update) {
      await replaceChild(this.d.crds, plural, o);
      log.info({ child: o.metadata.name, childKind: kind }, 'updated');
    }
    for (const o of plan.delete) {
      await this.d.crds.delete(plural, ns, o.metadata.name ?? '').catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
      log.info({ child: o.metadata.name, childKind: kind }, 'deleted: no longer asked for');
      await this.d.events.record(
        ref,
        'Normal',
        `${kind}Deleted`,
        `deleted ${kind} ${o.metadata.name}: the ${ref.kind} no longer asks for it`,
      );
    }
  }

  /** Creates a child; false when another object holds the name (never taken over). */
  private async create<T extends Child>(
    ref: { apiVersion: string; kind: string; metadata: k8s.V1ObjectMeta },
    plural: Plural,
    o: T,
    uid: string,
    log: Logger,
  ): Promise<boolean> {
    const heldBy = await createChild(this.d.crds, plural, o, uid);
    if (heldBy === undefined) return true;
    const kind = plural === 'certificates' ? 'Certificate' : 'DNSEndpoint';
    await this.conflict(ref, kind, o.metadata.name ?? '', heldBy, log);
    return false;
  }

  private async conflict(
    ref: { apiVersion: string; kind: string; metadata: k8s.V1ObjectMeta },
    kind: string,
    name: string,
    owner: string,
    log: Logger,
  ): Promise<void> {
    const reason = kind === 'Certificate' ? 'SecretClaimedElsewhere' : 'DNSEndpointConflict';
    const message = `${kind} ${name} already exists and is controlled by ${owner}; certroute will not take it over`;
    reportFailure(log, this.d.metrics.failures, 'sources', reason, message);
    await this.d.events.record(ref, 'Warning', reason, message);
  }
}

function reasonOf(p: SourceProblem): FailureReason {
  return p.reason in failureReasons ? (p.reason as FailureReason) : 'InvalidAnnotation';
}
