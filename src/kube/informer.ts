import * as k8s from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { describeError } from '../errors.js';
import { jitteredBackoff } from './backoff.js';
import { shared } from './shared-strings.js';
import { watchList } from './watch-list.js';
import { RawApi, StreamWatch } from './raw-api.js';

export type InformerEvent = 'add' | 'update' | 'delete';

/** Watch events that carry an object of the watched kind (not ERROR or BOOKMARK). */
const objectPhases = new Set(['ADDED', 'MODIFIED', 'DELETED']);

/**
 * What the informer asks of a list call. The first list asks for resourceVersion "0", as
 * client-go's reflector does, so the API server answers from its watch cache instead of a
 * quorum read from etcd (on the lab, 5,000 Certificates: about 0.5 s instead of 2 s paged in
 * 500s); the watch that follows starts from the list's version, so nothing written meanwhile
 * is missed. Relists (after a 410 or a restart) leave it unset: a consistent read, never older
 * than what the cache has already seen.
 */
export interface ListOptions {
  resourceVersion?: string;
  /** The informer's own label selector, for the list to apply as its watch does. */
  labelSelector?: string;
}

/**
 * Lists are streamed as watch lists (watch-list.ts) while the API server accepts them; the first
 * refusal (a server without the WatchList feature) switches every informer to plain lists.
 */
export const watchLists = { supported: true };

/**
 * At most two initial plain lists at a time across all informers (watch lists need no limit).
 * A plain list is one JSON document parsed whole (5,000 Secrets: tens of MB until reduced);
 * four at once set the process's peak memory (ADR 0011). Relists are not limited: one that
 * hangs on a broken connection must not hold up another.
 */
const startupLists = new (class {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  async acquire(): Promise<() => void> {
    // A released slot passes straight to the next waiter, so the limit is never exceeded.
    if (this.running < 2) this.running++;
    else await new Promise<void>((r) => this.waiting.push(r));
    return () => {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    };
  }
})();

export type Handler<T> = (event: InformerEvent, obj: T) => void;

/**
 * A filter for informer events that passes creations, deletions and the updates that change
 * `metadata.generation` (the spec), and drops the rest: status writes keep the generation.
 * Keyed by uid, so one filter can serve several informers.
 */
export function specChanges(): (event: InformerEvent, obj: k8s.KubernetesObject) => boolean {
  const generations = new Map<string, number | undefined>();
  return (event, obj) => {
    const uid = obj.metadata?.uid ?? '';
    if (event === 'update' && generations.get(uid) === obj.metadata?.generation) return false;
    if (event === 'delete') generations.delete(uid);
    else generations.set(uid, obj.metadata?.generation);
    return true;
  };
}

export interface InformerOptions<T extends k8s.KubernetesObject> {
  kubeConfig: k8s.KubeConfig;
  /** Watch path, e.g. /apis/networking.k8s.io/v1/ingresses or a namespaced path. */
  path: string;
  /** A short name for logs and metrics (e.g. "ingresses"). */
  resource: string;
  /** The initial list and relists (after a 410 or a restart), with the options given. */
  list: (options: ListOptions) => Promise<k8s.KubernetesListObject<T>>;
  labelSelector?: string;
  /**
   * Reduces each object before it is cached (after managedFields are dropped), e.g. to the
   * Secret keys a controller reads. Handlers see the reduced object too.
   */
  transform?: (obj: T) => T;
  /** Ask the API server to gzip watch lists and watches (`--kube-api-compression`). */
  compression: boolean;
  log: Logger;
  metrics: Metrics;
}

/**
 * client-node's informer, made resilient: it relists on 410 by itself, but after any other
 * watch or list error it stops for good. This wrapper restarts it with jittered exponential
 * backoff, counts and logs every restart, and never stops silently until stop() is called.
 */
export class ResilientInformer<T extends k8s.KubernetesObject> {
  private readonly inner: k8s.Informer<T> & k8s.ObjectCache<T>;
  private readonly handlers: Handler<T>[] = [];
  private stopped = false;
  private failures = 0;
  private hasSynced = false;
  private restarting: Promise<void> | undefined;
  private starting: Promise<void> | undefined;

  constructor(private readonly opts: InformerOptions<T>) {
    // client-node's ListWatch with a watch that trims objects before they are cached: the
    // cache holds thousands of Ingresses and children, and managedFields alone can double them.
    const watch = new StreamWatch(new RawApi(opts.kubeConfig, opts.compression));
    const reduce = (o: unknown): T => {
      const t = trim(o as T);
      return opts.transform ? opts.transform(t) : t;
    };
    const trimming = {
      watch: (
        path: string,
        query: Record<string, string | number | boolean | undefined>,
        cb: (phase: string, obj: unknown, raw?: unknown) => void,
        done: (err: unknown) => void,
      ) =>
        watch.watch(
          path,
          query,
          (phase, obj, raw) => cb(phase, objectPhases.has(phase) ? reduce(obj) : obj, raw),
          done,
        ),
    } as unknown as k8s.Watch;
    const selector = opts.labelSelector ? { labelSelector: opts.labelSelector } : {};
    let listed = false;
    const list = async (): Promise<k8s.KubernetesListObject<T>> => {
      const first = !listed;
      const resourceVersion = first ? '0' : '';
      if (watchLists.supported) {
        const streamed = await watchList(
          watch,
          opts.path,
          { resourceVersion, ...selector },
          reduce,
        );
        if ('list' in streamed) {
          listed = true;
          return streamed.list;
        }
        const { failure } = streamed;
        if (failure.refused) watchLists.supported = false;
        opts.log.info(
          { resource: opts.resource, reason: failure.reason, refused: failure.refused },
          failure.refused
            ? 'the API server refused a watch list; listing the plain way from now on'
            : 'watch list failed; listing the plain way this time',
        );
      }
      const release = first ? await startupLists.acquire() : () => undefined;
      try {
        const res = await opts.list(first ? { resourceVersion, ...selector } : selector);
        listed = true;
        res.items = res.items.map(reduce);
        return res;
      } finally {
        release();
      }
    };
    this.inner = new k8s.ListWatch<T>(opts.path, trimming, list, false, opts.labelSelector);
    this.inner.on('add', (o) => this.dispatch('add', o));
    this.inner.on('update', (o) => this.dispatch('update', o));
    this.inner.on('delete', (o) => this.dispatch('delete', o));
    this.inner.on('connect', () => {
      this.failures = 0;
    });
    this.inner.on('error', (err: unknown) => this.onError(err));
  }

  on(handler: Handler<T>): void {
    this.handlers.push(handler);
  }

  get synced(): boolean {
    return this.hasSynced;
  }

  /** Lists, then watches. Resolves once the first list is in the cache (retrying until it is). */
  start(): Promise<void> {
    // Shared informers are started by each user; the first call does the work.
    this.starting ??= this.doStart();
    return this.starting;
  }

  private async doStart(): Promise<void> {
    this.stopped = false;
    const t0 = performance.now();
    for (;;) {
      const before = this.failures;
      try {
        await this.inner.start();
      } catch (err) {
        this.failures++;
        this.opts.log.warn(
          { resource: this.opts.resource, err: describeError(err) },
          'initial list/watch failed',
        );
      }
      if (this.failures === before || this.stopped) break;
      // The initial list failed: onError scheduled nothing yet because we own the retry here.
      await sleep(jitteredBackoff(this.failures, 200, 30_000));
    }
    this.hasSynced = true;
    this.opts.log.info(
      {
        resource: this.opts.resource,
        objects: this.inner.list().length,
        ms: Math.round(performance.now() - t0),
      },
      'cache synced',
    );
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.inner.stop();
  }

  get(name: string, namespace?: string): T | undefined {
    return this.inner.get(name, namespace);
  }

  list(namespace?: string): T[] {
    return [...this.inner.list(namespace)];
  }

  private dispatch(event: InformerEvent, obj: T): void {
    for (const h of this.handlers) {
      try {
        h(event, obj);
      } catch (err) {
        this.opts.log.error({ err, resource: this.opts.resource }, 'informer handler threw');
      }
    }
  }

  private onError(err: unknown): void {
    this.failures++;
    if (this.stopped || !this.hasSynced || this.restarting) return;
    const delay = jitteredBackoff(this.failures, 200, 30_000);
    this.opts.metrics.informerRestarts.inc({ resource: this.opts.resource });
    this.opts.log.warn(
      {
        resource: this.opts.resource,
        err: describeError(err),
        retryInMs: Math.round(delay),
        failures: this.failures,
      },
      'watch failed; restarting informer',
    );
    this.restarting = (async () => {
      await sleep(delay);
      this.restarting = undefined;
      if (!this.stopped) await this.inner.start();
    })().catch((e: unknown) => {
      this.restarting = undefined;
      this.onError(e);
    });
  }
}

/**
 * Drops what certroute never reads and the API server keeps on every object. Builds a new
 * metadata object rather than using `delete`: a deleted property turns a V8 object into a
 * dictionary, about twice the size, for each of thousands of cached objects.
 * Also shares the values that thousands of cached objects repeat (see shareCommon).
 */
export function trim<T>(obj: T): T {
  const o = obj as {
    metadata?: { managedFields?: unknown; annotations?: Record<string, string> };
  };
  const m = o.metadata;
  if (!m) return obj;
  const rest = omit(m, 'managedFields');
  const lastApplied = 'kubectl.kubernetes.io/last-applied-configuration';
  if (rest.annotations && lastApplied in rest.annotations)
    rest.annotations = omit(rest.annotations, lastApplied);
  o.metadata = rest;
  shareCommon(obj);
  return obj;
}

interface Common {
  apiVersion?: string;
  kind?: string;
  type?: string;
  metadata?: {
    namespace?: string;
    labels?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string }[];
  };
  spec?: {
    ingressClassName?: string;
    issuerRef?: { name?: string; kind?: string };
    endpoints?: { recordType?: string; targets?: string[] }[];
  };
  status?: {
    conditions?: { type?: string; status?: string; reason?: string }[];
    endpoints?: { recordType?: string; state?: string; message?: string }[];
    renewalReason?: string;
    loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] };
  };
}

/**
 * JSON.parse gives every object its own copy of every string value: "certroute.io/v1alpha1"
 * 10,000 times over for 5,000 Certificates and DNSEndpoints. The values that repeat across
 * objects (API versions, kinds, namespaces, labels, owner kinds, condition types and reasons,
 * record targets) are replaced by one shared copy each. Names, uids and timestamps are not.
 */
function shareCommon(obj: unknown): void {
  const o = obj as Common;
  share(o, 'apiVersion');
  share(o, 'kind');
  share(o, 'type');
  if (o.metadata) shareMetadata(o.metadata);
  if (o.spec) shareSpec(o.spec);
  if (o.status) shareStatus(o.status);
}

function shareMetadata(m: NonNullable<Common['metadata']>): void {
  share(m, 'namespace');
  const labels = m.labels;
  if (labels) for (const k of Object.keys(labels)) share(labels, k);
  for (const ref of m.ownerReferences ?? []) {
    share(ref, 'apiVersion');
    share(ref, 'kind');
  }
}

function shareSpec(spec: NonNullable<Common['spec']>): void {
  share(spec, 'ingressClassName');
  if (spec.issuerRef) {
    share(spec.issuerRef, 'name');
    share(spec.issuerRef, 'kind');
  }
  for (const e of Array.isArray(spec.endpoints) ? spec.endpoints : []) {
    share(e, 'recordType');
    if (Array.isArray(e.targets)) for (let i = 0; i < e.targets.length; i++) share(e.targets, i);
  }
}

function shareStatus(st: NonNullable<Common['status']>): void {
  for (const c of Array.isArray(st.conditions) ? st.conditions : []) {
    share(c, 'type');
    share(c, 'status');
    share(c, 'reason');
  }
  for (const e of Array.isArray(st.endpoints) ? st.endpoints : []) {
    share(e, 'recordType');
    share(e, 'state');
    share(e, 'message');
  }
  share(st, 'renewalReason');
  for (const a of st.loadBalancer?.ingress ?? []) {
    share(a, 'ip');
    share(a, 'hostname');
  }
}

/** Replaces a string property by its shared copy; adds nothing where there is none. */
function share<O extends object>(o: O, key: keyof O & (string | number)): void {
  const v = o[key];
  if (typeof v === 'string') o[key] = shared(v) as O[typeof key];
}

/** A copy without one key (a fresh object with fast properties, built in key order). */
function omit<O extends object>(o: O, key: string): O {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o)) if (k !== key) out[k] = (o as Record<string, unknown>)[k];
  return out as O;
}
