import { validateCronExpression } from 'cron';
import { z } from 'zod';

/**
 * Every operator setting, declared once: its flag, its environment variable, its default and
 * its schema. `--help`, parsing, validation and the Helm values docs all read this table.
 */
export interface FlagSpec<S extends z.ZodType = z.ZodType> {
  flag: string;
  env: string;
  description: string;
  /** Raw (string) default, parsed by the schema like any user value. */
  default?: string;
  schema: S;
}

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const list = z.string().transform((s) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0),
);
const duration = z.string().transform((s, ctx) => {
  const ms = parseDuration(s);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `not a duration like 30s, 5m, 1h: "${s}"` });
    return z.NEVER;
  }
  return ms;
});
const address = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[a-zA-Z0-9.-]*):\d{1,5}$/, 'expected host:port, e.g. 0.0.0.0:8080')
  .refine((s) => Number(s.slice(s.lastIndexOf(':') + 1)) <= 65535, 'port must be 0-65535');
/** A Kubernetes namespace name (RFC 1123 label). */
const namespaceName = z
  .string()
  .regex(
    /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/,
    'expected a namespace name (lower-case RFC 1123 label)',
  );
const dnsName = z
  .string()
  .regex(
    /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i,
    'expected a DNS name',
  );
const nameservers = list.pipe(z.array(address));

function validCron(s: string): boolean {
  return validateCronExpression(s).valid;
}

function spec<S extends z.ZodType>(s: FlagSpec<S>): FlagSpec<S> {
  return s;
}

export const flags = {
  kubeconfig: spec({
    flag: 'kubeconfig',
    env: 'KUBECONFIG',
    description: 'kubeconfig file; empty means in-cluster service account',
    default: '',
    schema: z.string(),
  }),
  inClusterRoot: spec({
    flag: 'in-cluster-root',
    env: 'CERTROUTE_IN_CLUSTER_ROOT',
    description:
      "with no kubeconfig: a directory prefixed to /var/run/secrets/kubernetes.io/serviceaccount/ (token, ca.crt, namespace); empty reads the pod's own files",
    default: '',
    schema: z.string(),
  }),
  kubeApiCompression: spec({
    flag: 'kube-api-compression',
    env: 'CERTROUTE_KUBE_API_COMPRESSION',
    description:
      "ask the API server to gzip the informers' watch lists and watches (false saves the API server CPU; certroute's own start-up is a little faster with gzip)",
    default: 'true',
    schema: bool,
  }),
  namespace: spec({
    flag: 'namespace',
    env: 'CERTROUTE_NAMESPACE',
    description:
      "the operator's own namespace: ClusterIssuers' account key Secrets and the leader Lease live here",
    default: 'certroute',
    schema: namespaceName,
  }),
  ownerId: spec({
    flag: 'owner-id',
    env: 'CERTROUTE_OWNER_ID',
    description:
      "id written into TXT ownership records; unique per cluster sharing a zone. Empty derives one from the kube-system namespace's UID (stable per cluster)",
    default: '',
    schema: z
      .string()
      .regex(/^([A-Za-z0-9._-]{1,63})?$/, 'expected 1-63 of [A-Za-z0-9._-], or empty to derive'),
  }),
  adoptOwnerIds: spec({
    flag: 'adopt-owner-ids',
    env: 'CERTROUTE_ADOPT_OWNER_IDS',
    description: 'external-dns owner ids whose records certroute may adopt (comma-separated)',
    default: '',
    schema: list,
  }),
  domainFilter: spec({
    flag: 'domain-filter',
    env: 'CERTROUTE_DOMAIN_FILTER',
    description: 'domains certroute may manage (comma-separated); empty means every zone',
    default: '',
    schema: list.pipe(z.array(dnsName)),
  }),
  zoneIdFilter: spec({
    flag: 'zone-id-filter',
    env: 'CERTROUTE_ZONE_ID_FILTER',
    description: 'Route53 hosted zone ids certroute may manage (comma-separated); empty means all',
    default: '',
    schema: list,
  }),
  zoneType: spec({
    flag: 'zone-type',
    env: 'CERTROUTE_ZONE_TYPE',
    description: 'which hosted zones to use: public, private or all',
    default: 'all',
    schema: z.enum(['public', 'private', 'all']),
  }),
  policy: spec({
    flag: 'policy',
    env: 'CERTROUTE_POLICY',
    description: 'DNS policy: sync (create, update, delete), upsert-only, create-only',
    default: 'sync',
    schema: z.enum(['sync', 'upsert-only', 'create-only']),
  }),
  claimGracePeriod: spec({
    flag: 'claim-grace-period',
    env: 'CERTROUTE_CLAIM_GRACE_PERIOD',
    description:
      'how long a record nothing asks for any more is kept, still claimed by its Ingress, before it is deleted (0s deletes at once)',
    default: '10m',
    schema: duration,
  }),
  maxDeletionsPerZone: spec({
    flag: 'max-deletions-per-zone',
    env: 'CERTROUTE_MAX_DELETIONS_PER_ZONE',
    description:
      'a zone sync that would delete more records than this deletes none until the cap is raised or the set is approved (0 means no cap)',
    default: '100',
    schema: z.coerce.number().int().min(0),
  }),
  dnsDefault: spec({
    flag: 'dns-default',
    env: 'CERTROUTE_DNS_DEFAULT',
    description: 'manage DNS for an Ingress without a certroute.io/dns annotation',
    default: 'true',
    schema: bool,
  }),
  ingressClasses: spec({
    flag: 'ingress-classes',
    env: 'CERTROUTE_INGRESS_CLASSES',
    description: 'ingress classes to watch (comma-separated); empty means all',
    default: '',
    schema: list,
  }),
  watchNamespaces: spec({
    flag: 'watch-namespaces',
    env: 'CERTROUTE_WATCH_NAMESPACES',
    description: 'namespaces to watch (comma-separated); empty means all',
    default: '',
    schema: list.pipe(z.array(namespaceName)),
  }),
  defaultIssuer: spec({
    flag: 'default-issuer',
    env: 'CERTROUTE_DEFAULT_ISSUER',
    description: 'ClusterIssuer used by kubernetes.io/tls-acme: "true" Ingresses',
    default: '',
    schema: z.string(),
  }),
  resyncInterval: spec({
    flag: 'resync-interval',
    env: 'CERTROUTE_RESYNC_INTERVAL',
    description: 'how often every object is reconciled and zones are re-read',
    default: '10m',
    schema: duration.pipe(z.number().min(10_000, 'must be at least 10s')),
  }),
  zoneChangeInterval: spec({
    flag: 'zone-change-interval',
    env: 'CERTROUTE_ZONE_CHANGE_INTERVAL',
    description:
      'the least time between two Route53 change calls to one hosted zone: a change to a zone quiet this long goes out at once, later ones gather into the next batch (0: every sync sends at once)',
    default: '1s',
    schema: duration.pipe(z.number().max(60_000, 'at most 1m')),
  }),
  recursiveNameservers: spec({
    flag: 'recursive-nameservers',
    env: 'CERTROUTE_RECURSIVE_NAMESERVERS',
    description: 'resolvers (host:port, comma-separated) for DNS self-checks; empty means system',
    default: '',
    schema: nameservers,
  }),
  dns01NameserverPort: spec({
    flag: 'dns01-nameserver-port',
    env: 'CERTROUTE_DNS01_NAMESERVER_PORT',
    description:
      "port the DNS-01 self-check asks each of a zone's authoritative nameservers on (53 in production; for labs and split setups)",
    default: '53',
    schema: z.coerce.number().int().min(1).max(65535),
  }),
  skipSelfChecks: spec({
    flag: 'skip-self-checks',
    env: 'CERTROUTE_SKIP_SELF_CHECKS',
    description:
      'accept challenges without checking first that the CA will see them (the DNS-01 propagation check; the HTTP-01 DNS check and probe): for split-horizon DNS, where certroute cannot see what the CA sees',
    default: 'false',
    schema: bool,
  }),
  metricsAddress: spec({
    flag: 'metrics-address',
    env: 'CERTROUTE_METRICS_ADDRESS',
    description: 'where /metrics is served',
    default: '0.0.0.0:8080',
    schema: address,
  }),
  probeAddress: spec({
    flag: 'probe-address',
    env: 'CERTROUTE_PROBE_ADDRESS',
    description: 'where /healthz and /readyz are served',
    default: '0.0.0.0:8081',
    schema: address,
  }),
  solverAddress: spec({
    flag: 'solver-address',
    env: 'CERTROUTE_SOLVER_ADDRESS',
    description: 'where HTTP-01 challenge tokens are served',
    default: '0.0.0.0:8089',
    schema: address,
  }),
  http01Port: spec({
    flag: 'http01-port',
    env: 'CERTROUTE_HTTP01_PORT',
    description:
      'port the CA validates HTTP-01 on, and self-checks use (80 in production; labs differ)',
    default: '80',
    schema: z.coerce.number().int().min(1).max(65535),
  }),
  solverPodIP: spec({
    flag: 'solver-pod-ip',
    env: 'POD_IP',
    description:
      "this replica's pod IP, written into HTTP-01 solver EndpointSlices (the Downward API sets it)",
    default: '',
    schema: z.union([z.literal(''), z.ipv4(), z.ipv6()]),
  }),
  renewalSchedule: spec({
    flag: 'renewal-schedule',
    env: 'CERTROUTE_RENEWAL_SCHEDULE',
    description: 'cron schedule of the sweep that catches any certificate a renewal timer missed',
    default: '*/10 * * * *',
    schema: z.string().refine(validCron, 'expected a 5- or 6-field cron expression'),
  }),
  leaderElection: spec({
    flag: 'leader-election',
    env: 'CERTROUTE_LEADER_ELECTION',
    description: 'elect one writer among replicas with a Lease',
    default: 'true',
    schema: bool,
  }),
  leaseDuration: spec({
    flag: 'lease-duration',
    env: 'CERTROUTE_LEASE_DURATION',
    description: 'how long a leader Lease is valid without renewal',
    default: '15s',
    schema: duration.pipe(z.number().min(2000, 'must be at least 2s')),
  }),
  dryRun: spec({
    flag: 'dry-run',
    env: 'CERTROUTE_DRY_RUN',
    description: 'plan and log every change, write nothing to Route53, ACME or ACM',
    default: 'false',
    schema: bool,
  }),
  workers: spec({
    flag: 'workers',
    env: 'CERTROUTE_WORKERS',
    description: 'objects reconciled in parallel per controller',
    default: '8',
    schema: z.coerce.number().int().min(1).max(256),
  }),
  acmeLimitNewOrders: spec({
    flag: 'acme-limit-new-orders',
    env: 'CERTROUTE_ACME_LIMIT_NEW_ORDERS',
    description:
      "new orders per ACME account in a sliding 3 hours before certroute waits instead of asking the CA (Let's Encrypt's limit is 300); 0 counts nothing",
    default: '300',
    schema: z.coerce.number().int().min(0),
  }),
  acmeLimitFailedValidations: spec({
    flag: 'acme-limit-failed-validations',
    env: 'CERTROUTE_ACME_LIMIT_FAILED_VALIDATIONS',
    description:
      "failed validations per ACME account per hostname in a sliding hour before certroute orders for that hostname no more until the hour frees (Let's Encrypt's limit is 5); 0 counts nothing",
    default: '5',
    schema: z.coerce.number().int().min(0),
  }),
  orderTimeout: spec({
    flag: 'order-timeout',
    env: 'CERTROUTE_ORDER_TIMEOUT',
    description:
      'an ACME order still not valid this long after it was placed (its preflight passed) is abandoned: its pending authorizations are deactivated, the solver removed, and the retry backs off',
    default: '1h',
    schema: duration.refine((ms) => ms >= 1000, 'at least 1s'),
  }),
  logLevel: spec({
    flag: 'log-level',
    env: 'CERTROUTE_LOG_LEVEL',
    description: 'trace, debug, info, warn or error',
    default: 'info',
    schema: z.enum(['trace', 'debug', 'info', 'warn', 'error']),
  }),
  podName: spec({
    flag: 'pod-name',
    env: 'POD_NAME',
    description: "this replica's identity for leader election (the Downward API sets it)",
    default: '',
    schema: z.string(),
  }),
  // -- the sources beyond Ingress (issue 24)
  sources: spec({
    flag: 'sources',
    env: 'CERTROUTE_SOURCES',
    description:
      'sources watched besides Ingresses (comma-separated): gateway (Gateways, HTTPRoutes, GRPCRoutes, TLSRoutes, where their CRDs exist), service (type LoadBalancer); empty: Ingresses only',
    default: 'gateway,service',
    schema: list.pipe(z.array(z.enum(['gateway', 'service']))),
  }),
  // --- DNS provider for records (RFC 2136: docs/providers.md) ---
  provider: spec({
    flag: 'provider',
    env: 'CERTROUTE_PROVIDER',
    description:
      'where DNS records are written: route53, or rfc2136 (dynamic updates signed with TSIG, e.g. BIND; the --rfc2136-* flags)',
    default: 'route53',
    schema: z.enum(['route53', 'rfc2136']),
  }),
  rfc2136Server: spec({
    flag: 'rfc2136-server',
    env: 'CERTROUTE_RFC2136_SERVER',
    description:
      'with --provider=rfc2136: host:port of the primary server that takes updates and transfers',
    default: '',
    schema: z.union([z.literal(''), address]),
  }),
  rfc2136Zones: spec({
    flag: 'rfc2136-zones',
    env: 'CERTROUTE_RFC2136_ZONES',
    description:
      'with --provider=rfc2136: the zones certroute may manage on that server (comma-separated)',
    default: '',
    schema: list.pipe(z.array(dnsName)),
  }),
  rfc2136TsigKeyName: spec({
    flag: 'rfc2136-tsig-key-name',
    env: 'CERTROUTE_RFC2136_TSIG_KEY_NAME',
    description: "with --provider=rfc2136: the TSIG key's name, as the server knows it",
    default: '',
    schema: z.string(),
  }),
  rfc2136TsigAlgorithm: spec({
    flag: 'rfc2136-tsig-algorithm',
    env: 'CERTROUTE_RFC2136_TSIG_ALGORITHM',
    description: 'with --provider=rfc2136: hmac-sha256, hmac-sha512 or hmac-sha1',
    default: 'hmac-sha256',
    schema: z.enum(['hmac-sha256', 'hmac-sha512', 'hmac-sha1']),
  }),
  rfc2136TsigSecret: spec({
    flag: 'rfc2136-tsig-secret',
    env: 'CERTROUTE_RFC2136_TSIG_SECRET',
    description:
      "with --provider=rfc2136: the TSIG key's secret, base64 (set the variable from a Secret; prefer it or the file to the flag)",
    default: '',
    schema: z.string(),
  }),
  rfc2136TsigSecretFile: spec({
    flag: 'rfc2136-tsig-secret-file',
    env: 'CERTROUTE_RFC2136_TSIG_SECRET_FILE',
    description:
      'with --provider=rfc2136: a file holding the base64 TSIG secret (a mounted Secret), read at start',
    default: '',
    schema: z.string(),
  }),
} as const;

export type Flags = typeof flags;
export type Config = Readonly<{ [K in keyof Flags]: z.output<Flags[K]['schema']> }>;

/** 90s, 5m, 1h30m, 250ms, or a bare number of seconds. */
export function parseDuration(s: string): number | undefined {
  if (/^\d+$/.test(s)) return Number(s) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
  let total = 0;
  let matched = 0;
  for (const m of s.matchAll(re)) {
    total += Number(m[1]) * unit[m[2] as keyof typeof unit];
    matched += m[0].length;
  }
  return matched === s.length && matched > 0 ? total : undefined;
}
