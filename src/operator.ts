import * as k8s from '@kubernetes/client-node';
import { hostname } from 'node:os';
import type { Server } from 'node:http';
import type { Config } from './config/index.js';
import { networkInterfaces } from 'node:os';
import { Acm } from './certificates/stores/acm-client.js';
import { observeAcme } from './acme/client.js';
import {
  CertificateController,
  type Cert,
  type CertificateOptions,
} from './certificates/controller.js';
import { DnsController } from './dns/controller.js';
import { dnsEndpointInformer } from './dns/endpoints.js';
import { IssuerController } from './acme/issuer.js';
import { TlsSecretMonitor } from './certificates/tls-secrets.js';
import { ResilientInformer } from './kube/informer.js';
import { scopedInformer } from './kube/scoped-informer.js';
import { Dns01Solver } from './acme/solvers/dns01.js';
import { secretKeyReader } from './kube/secrets.js';
import { TokenServer } from './acme/solvers/http01.js';
import { SolverMembers, type SolverAddress } from './acme/solvers/members.js';
import { IngressShim } from './sources/ingress-shim.js';
import { SourcesShim } from './sources/sources-shim.js';
import { TenancyController } from './tenancy/controller.js';
import { Route53Provider, route53Factory } from './dns/providers/route53.js';
import { Rfc2136Provider } from './dns/providers/rfc2136.js';
import { rfc2136Options } from './dns/providers/rfc2136-config.js';
import { awsRegion } from './config/aws.js';
import { AccountBudgets } from './aws/account-budget.js';
import { CrdClient } from './kube/crd-client.js';
import { EventRecorder } from './kube/events.js';
import { loadPooledKubeConfig } from './kube/kubeconfig.js';
import { LeaderElector } from './kube/leader.js';
import type { Logger } from './observability/logger.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import { closeServer, startMetricsServer, startProbeServer } from './observability/http.js';

export function loadKubeConfig(config: Config): k8s.KubeConfig {
  return loadPooledKubeConfig(config);
}

/**
 * The running operator: controllers, leader election and servers, started and stopped in
 * order. main.ts only parses config and handles signals; tests and benchmarks use this directly.
 */
export class Operator {
  readonly metrics: Metrics;
  readonly shim: IngressShim;
  /** Gateway API routes, Gateways and LoadBalancer Services (--sources). */
  readonly sources: SourcesShim;
  readonly dns: DnsController;
  readonly issuers: IssuerController;
  readonly certificates: CertificateController;
  readonly tenancy: TenancyController;
  readonly tokens = new TokenServer();
  readonly tlsSecrets: TlsSecretMonitor;
  readonly leader: LeaderElector | undefined;
  private readonly members: SolverMembers | undefined;
  private servers: Server[] = [];
  private unobserveAcme: (() => void) | undefined;
  private leading: boolean;

  constructor(
    readonly config: Config,
    readonly kubeConfig: k8s.KubeConfig,
    readonly log: Logger,
    options: OperatorOptions = {},
  ) {
    if (!config.ownerId)
      throw new Error('the owner id must be settled before the Operator is made (resolveOwnerId)');
    this.metrics = createMetrics();
    if (config.skipSelfChecks)
      log.info(
        'self-checks are off (--skip-self-checks): challenges are accepted without checking that the CA will see them',
      );
    const identity = config.podName || `${hostname()}-${process.pid}`;
    const events = new EventRecorder(kubeConfig, 'certroute', identity, log, this.metrics);
    const crds = new CrdClient(kubeConfig);
    this.leading = !config.leaderElection;
    const region = awsRegion();
    // One Route53 request budget per AWS account, shared by the records controller and every
    // DNS-01 solver (docs/adr/0024-route53-account-budget.md).
    const budgets = new AccountBudgets();
    const dnsEndpoints = dnsEndpointInformer(
      kubeConfig,
      crds,
      log,
      this.metrics,
      config.kubeApiCompression,
      config.watchNamespaces,
    );
    // One Certificate cache for the shim (its children) and the certificate controller (all);
    // with --watch-namespaces, one informer per watched namespace and none cluster-wide.
    const certificates = scopedInformer(
      config.watchNamespaces,
      (ns) =>
        new ResilientInformer<Cert>({
          kubeConfig,
          resource: ns ? `certificates/${ns}` : 'certificates',
          path: crds.watchPath('certificates', ns),
          list: (options) => crds.list<Cert>('certificates', ns, options),
          compression: config.kubeApiCompression,
          log,
          metrics: this.metrics,
        }),
    );
    // What every controller is given (kube/controller-deps.ts).
    const deps = {
      kubeConfig,
      crds,
      config,
      log,
      metrics: this.metrics,
      events,
      isLeader: () => this.isLeader,
    };
    this.tenancy = new TenancyController(deps);
    this.shim = new IngressShim({ ...deps, dnsEndpoints, certificates, awsRegion: region });
    this.sources = new SourcesShim({ ...deps, dnsEndpoints, certificates, awsRegion: region });
    this.dns = new DnsController({
      ...deps,
      endpoints: dnsEndpoints,
      provider:
        config.provider === 'rfc2136'
          ? new Rfc2136Provider(rfc2136Options(config))
          : new Route53Provider({ metrics: this.metrics, region, budgets, log }),
      // Records follow Ingress changes in memory, not after a round trip through the API.
      derived: this.shim.derivedEndpoints,
      tenancy: this.tenancy,
    });
    this.issuers = new IssuerController({
      ...deps,
      onReady: (key) => this.certificates.enqueueIssuer(key),
    });
    this.certificates = new CertificateController({
      ...deps,
      issuers: this.issuers,
      certificates,
      ingress: (namespace, name) => this.shim.ingress(namespace, name),
      tokens: this.tokens,
      dns01: new Dns01Solver({
        providers: route53Factory(this.metrics, budgets, log),
        secrets: secretKeyReader(kubeConfig.makeApiClient(k8s.CoreV1Api)),
        filter: {
          domainFilter: config.domainFilter,
          zoneIdFilter: config.zoneIdFilter,
          zoneType: config.zoneType,
        },
        nameservers: config.recursiveNameservers,
        nameserverPort: config.dns01NameserverPort,
        defaultRegion: region,
        log,
      }),
      acm: new Acm(this.metrics, config.ownerId),
      solverEndpoints: () => this.solverEndpoints(),
      tenancy: this.tenancy,
      ...(options.certificates ? { options: options.certificates } : {}),
    });
    this.tenancy.onChange(() => this.certificates.enqueueAll());
    // An Ingress getting its address ends its Certificates' preflight wait at once.
    for (const inf of this.shim.ingresses)
      inf.on((_ev, ing) =>
        this.certificates.ingressChanged(ing.metadata?.namespace ?? '', ing.metadata?.name ?? ''),
      );
    this.tlsSecrets = new TlsSecretMonitor({
      kubeConfig,
      ingresses: this.shim.ingresses,
      managed: this.certificates.secrets,
      metrics: this.metrics,
      log,
      isLeader: () => this.isLeader,
      intervalMs: config.resyncInterval,
    });
    // With leader election there may be several replicas: each one serving tokens is a member.
    this.members = config.leaderElection
      ? new SolverMembers({
          kubeConfig,
          namespace: config.namespace,
          identity,
          self: () => this.solverSelf(),
          log,
          onChange: () => this.certificates.solversChanged(),
        })
      : undefined;
    this.leader = config.leaderElection
      ? new LeaderElector({
          kubeConfig,
          namespace: config.namespace,
          name: 'certroute-leader',
          identity,
          leaseDurationMs: config.leaseDuration,
          log,
          metrics: this.metrics,
          onStartedLeading: () => {
            this.leading = true;
            this.enqueueAll();
          },
          onStoppedLeading: () => {
            // As client-go does: a replica that lost the lease exits, so it can never write
            // alongside the new leader; its restart rejoins as a follower.
            this.leading = false;
            this.log.fatal('lost leadership; exiting');
            process.exit(1);
          },
        })
      : undefined;
    if (!config.leaderElection) this.metrics.isLeader.set(1);
  }

  /** Where /metrics is served (the bound port, also when configured as :0). */
  get metricsUrl(): string | undefined {
    const a = this.servers[1]?.address();
    return a && typeof a === 'object' ? `http://127.0.0.1:${a.port}/metrics` : undefined;
  }

  /** This replica's token server as the solver slices list it. */
  private solverSelf(): SolverAddress {
    return { address: this.config.solverPodIP || podAddress(), port: this.tokens.port ?? 8089 };
  }

  /**
   * What a solver EndpointSlice lists: every member serving on this replica's port (replicas of
   * one Deployment share it), or this replica alone.
   */
  private async solverEndpoints(): Promise<{ port: number; addresses: string[] }> {
    const me = this.solverSelf();
    const addresses = (this.members ? await this.members.fresh() : [me])
      .filter((m) => m.port === me.port)
      .map((m) => m.address);
    return { port: me.port, addresses: addresses.length > 0 ? addresses : [me.address] };
  }

  get isLeader(): boolean {
    // The elector's own answer too: false once its renew deadline passed on the local clock,
    // even before its step-down callback has run.
    return this.leading && (this.leader?.isLeader ?? true);
  }

  ready(): { ok: boolean; detail: string } {
    if (
      !this.shim.synced ||
      !this.sources.synced ||
      !this.dns.synced ||
      !this.issuers.synced ||
      !this.certificates.synced ||
      !this.tenancy.synced
    )
      return { ok: false, detail: 'caches syncing' };
    if (this.leader && !this.leader.stateKnown)
      return { ok: false, detail: 'leader state unknown' };
    return { ok: true, detail: this.isLeader ? 'ready (leader)' : 'ready (follower)' };
  }

  async start(): Promise<void> {
    const t0 = performance.now();
    this.servers.push(
      await startProbeServer(this.config.probeAddress, { ready: () => this.ready() }),
    );
    this.servers.push(await startMetricsServer(this.config.metricsAddress, this.metrics.registry));
    // Work waits until every cache has its initial list: a reconcile needs the whole picture,
    // and reconciling while thousands of list items arrive slows both down.
    for (const q of this.queues()) q.hold();
    await this.tokens.start(this.config.solverAddress);
    this.unobserveAcme = observeAcme(this.metrics);
    // The Lease is contested while the caches fill (it needs none of them), so the leader state
    // is known when they are synced; a new leader's work waits in the held queues meanwhile.
    this.leader?.start();
    await Promise.all([
      this.tenancy.start(),
      this.shim.start(),
      this.sources.start(),
      this.dns.start(),
      this.issuers.start(),
      this.certificates.start(),
    ]);
    for (const q of this.queues()) q.release();
    // Only now does this replica know every token: it joins the solver endpoints.
    await this.members?.start();
    this.tlsSecrets.start();
    if (!this.leader) this.enqueueAll();
    void this.shim.deriveInBackground();
    this.log.info(
      {
        ms: Math.round(performance.now() - t0),
        sinceProcessStartMs: Math.round(process.uptime() * 1000),
        leaderElection: this.config.leaderElection,
      },
      'caches synced; operator started',
    );
  }

  private queues() {
    return [
      this.shim.queue,
      this.sources.queue,
      this.dns.queue,
      this.dns.statusQueue,
      this.issuers.queue,
      this.certificates.queue,
      this.tenancy.queue,
    ];
  }

  private enqueueAll(): void {
    // DNS first: every record is published from the derived specs before the shim writes the
    // DNSEndpoints and Certificates that carry status (docs/adr/0027).
    this.dns.enqueueAll();
    this.shim.writesAfter(this.dns.settled());
    this.shim.enqueueAll();
    this.sources.enqueueAll();
    this.issuers.enqueueAll();
    this.certificates.enqueueAll();
    this.tenancy.enqueueAll();
    this.tlsSecrets.soon(0);
  }

  /** Stop intake, finish in-flight work, release the Lease, close servers. */
  async stop(): Promise<void> {
    // Out of the solver endpoints first, while still serving tokens (see the drain below).
    const leftAt = Date.now();
    await this.members?.leave();
    await Promise.all([
      this.shim.queue.shutdown(),
      this.sources.queue.shutdown(),
      this.dns.queue.shutdown(),
      this.dns.statusQueue.shutdown(),
      this.issuers.queue.shutdown(),
      this.certificates.queue.shutdown(),
      this.tenancy.queue.shutdown(),
    ]);
    await this.tlsSecrets.stop();
    await this.leader?.stop();
    // A validation routed here just before the slices changed still finds its token, also a
    // token of an order the next leader places meanwhile: the ingress controller takes a
    // moment to see the new endpoints, so the caches (and the token server) run a while more.
    const drain = this.members && this.tokens.size > 0 ? solverDrainMs - (Date.now() - leftAt) : 0;
    if (drain > 0) await new Promise((r) => setTimeout(r, drain));
    await Promise.all([
      this.shim.stop(),
      this.sources.stop(),
      this.dns.stop(),
      this.issuers.stop(),
      this.certificates.stop(),
      this.tenancy.stop(),
    ]);
    await this.tokens.stop();
    this.unobserveAcme?.();
    for (const s of this.servers) await closeServer(s);
    this.servers = [];
  }
}

/** How long a replica that left the solver endpoints keeps serving tokens before it stops. */
const solverDrainMs = 5000;

export interface OperatorOptions {
  /** Certificate controller knobs (tests shorten retry and ARI intervals). */
  certificates?: CertificateOptions;
}

/** This replica's first non-internal address, when the Downward API gave none. */
function podAddress(): string {
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) if (!a.internal && a.family === 'IPv4') return a.address;
  return '127.0.0.1';
}
