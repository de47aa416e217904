import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every metric certroute exposes, created in one place against one registry.
 * Names follow Prometheus conventions: certroute_<subsystem>_<name>_<unit>.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const r = [registry];
  return {
    registry,
    queueDepth: new Gauge({
      name: 'certroute_workqueue_depth',
      help: 'Keys waiting in a work queue',
      labelNames: ['controller'],
      registers: r,
    }),
    reconcileDuration: new Histogram({
      name: 'certroute_reconcile_duration_seconds',
      help: 'Time spent reconciling one object',
      labelNames: ['controller', 'result'],
      buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: r,
    }),
    failures: new Counter({
      name: 'certroute_failures_total',
      help: 'Failures reported to users (a condition or an Event), by reason and class (src/errors.ts)',
      labelNames: ['controller', 'reason', 'class'],
      registers: r,
    }),
    reconcileErrors: new Counter({
      name: 'certroute_reconcile_errors_total',
      help: 'Reconciles that failed and will be retried',
      labelNames: ['controller'],
      registers: r,
    }),
    informerRestarts: new Counter({
      name: 'certroute_informer_restarts_total',
      help: 'Informer watch restarts after an error',
      labelNames: ['resource'],
      registers: r,
    }),
    isLeader: new Gauge({
      name: 'certroute_leader',
      help: '1 while this replica holds the leader Lease',
      registers: r,
    }),
    awsCalls: new Counter({
      name: 'certroute_aws_api_calls_total',
      help: 'AWS API call attempts by service, operation and outcome',
      labelNames: ['service', 'operation', 'outcome'],
      registers: r,
    }),
    awsThrottles: new Counter({
      name: 'certroute_aws_throttles_total',
      help: 'AWS API attempts refused by throttling',
      labelNames: ['service', 'operation'],
      registers: r,
    }),
    awsBudgetWaiting: new Gauge({
      name: 'certroute_aws_budget_waiting',
      help: "Route53 calls waiting for a token of their AWS account's request budget",
      labelNames: ['account'],
      registers: r,
    }),
    dnsRecords: new Gauge({
      name: 'certroute_dns_records_managed',
      help: 'Records certroute owns, by zone',
      labelNames: ['zone'],
      registers: r,
    }),
    dnsChanges: new Counter({
      name: 'certroute_dns_changes_total',
      help: 'Record changes applied, by action',
      labelNames: ['zone', 'action'],
      registers: r,
    }),
    dnsRecordsInGrace: new Gauge({
      name: 'certroute_dns_records_in_grace',
      help: 'Records of ours nothing asks for any more, kept until their claim grace period ends, by zone',
      labelNames: ['zone'],
      registers: r,
    }),
    dnsDeletionsBlocked: new Gauge({
      name: 'certroute_dns_deletions_blocked',
      help: 'Records the last sync of a zone would have deleted but did not: more than --max-deletions-per-zone, not approved',
      labelNames: ['zone'],
      registers: r,
    }),
    dnsLastSync: new Gauge({
      name: 'certroute_dns_last_sync_timestamp_seconds',
      help: 'Time of the last successful sync of a zone',
      labelNames: ['zone'],
      registers: r,
    }),
    dnsSyncErrors: new Counter({
      name: 'certroute_dns_sync_errors_total',
      help: 'Zone syncs that failed',
      labelNames: ['zone'],
      registers: r,
    }),
    dnsLatency: new Histogram({
      name: 'certroute_dns_address_to_change_seconds',
      help: 'From an Ingress address change being seen to the Route53 change being sent',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1, 2, 5, 10, 20, 40, 80],
      registers: r,
    }),
    certExpiry: new Gauge({
      name: 'certroute_certificate_expiration_timestamp_seconds',
      help: 'notAfter of the current certificate of a Certificate',
      labelNames: ['namespace', 'name', 'issuer'],
      registers: r,
    }),
    certRenewal: new Gauge({
      name: 'certroute_certificate_renewal_timestamp_seconds',
      help: 'When certroute will renew the certificate',
      labelNames: ['namespace', 'name', 'issuer'],
      registers: r,
    }),
    certReady: new Gauge({
      name: 'certroute_certificate_ready_status',
      help: '1 while the Certificate is Ready, else 0',
      labelNames: ['namespace', 'name', 'issuer'],
      registers: r,
    }),
    certFailures: new Gauge({
      name: 'certroute_certificate_failed_attempts',
      help: 'Consecutive failed issuance or renewal attempts',
      labelNames: ['namespace', 'name', 'issuer'],
      registers: r,
    }),
    acmeRequests: new Counter({
      name: 'certroute_acme_requests_total',
      help: 'ACME HTTP requests by action and HTTP status ("error" when no answer)',
      labelNames: ['action', 'status'],
      registers: r,
    }),
    acmeOrders: new Counter({
      name: 'certroute_acme_orders_total',
      help: 'ACME orders finished, by result',
      labelNames: ['result'],
      registers: r,
    }),
    acmeLocalLimit: new Counter({
      name: 'certroute_acme_local_limit_total',
      help: "new orders certroute did not place because a CA limit it keeps count of would be crossed, by limit (new-orders, failed-validations, or ca-<scope> for a rateLimited answer's backoff)",
      labelNames: ['limit'],
      registers: r,
    }),
    acmeRateLimited: new Counter({
      name: 'certroute_acme_rate_limited_total',
      help: "newOrder answers of rateLimited from the CA, by the scope read from the problem's detail (account, registered-domain, hostname, identifier-set)",
      labelNames: ['scope'],
      registers: r,
    }),
    acmePreflightWaits: new Counter({
      name: 'certroute_acme_preflight_waits_total',
      help: 'orders not placed because the preflight waits, counted when the wait starts or changes, by reason (WaitingForAddress, WaitingForDNS, SolverUnreachable, SolverRouteNotAccepted)',
      labelNames: ['reason'],
      registers: r,
    }),
    acmeOrdersTimedOut: new Counter({
      name: 'certroute_acme_orders_timed_out_total',
      help: 'orders abandoned because they were still not valid --order-timeout after being placed (their pending authorizations deactivated)',
      registers: r,
    }),
    issuerReady: new Gauge({
      name: 'certroute_issuer_ready_status',
      help: '1 while the ClusterIssuer or Issuer is Ready, else 0',
      labelNames: ['kind', 'namespace', 'name'],
      registers: r,
    }),
    tlsSecretExpiry: new Gauge({
      name: 'certroute_tls_secret_expiration_timestamp_seconds',
      help: 'notAfter of each TLS Secret referenced by an Ingress, managed or not',
      labelNames: ['namespace', 'secret', 'managed'],
      registers: r,
    }),
    policyDenials: new Counter({
      name: 'certroute_policy_denials_total',
      help: 'Records and certificates a DomainPolicy denied (counted when the denial is first reported), by kind and failed rule',
      labelNames: ['kind', 'reason'],
      registers: r,
    }),
    orderBudgetExhausted: new Counter({
      name: 'certroute_order_budget_exhausted_total',
      help: "ACME orders held back because the namespace's DomainPolicy ordersPerHour budget was used up",
      labelNames: ['namespace'],
      registers: r,
    }),
    eventsEmitted: new Counter({
      name: 'certroute_events_total',
      help: 'Kubernetes Events recorded',
      labelNames: ['type', 'reason'],
      registers: r,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
