import type * as k8s from '@kubernetes/client-node';
import type { Certificate, ClusterIssuer, DNSEndpoint, DomainPolicy } from '../api/v1alpha1.js';
import { compile, type CompiledPolicy, type NamespaceInfo } from '../tenancy/policy.js';
import { issuerKey, type HostView } from './explain.js';
import { inspectSecret, type SecretReport } from './inspect.js';
import { kinds, type Api } from './kube.js';
import { covers, listClaims, type Claim } from './sources.js';

/** Everything the read commands need, read once with the user's rights. */
export interface Snapshot {
  scope: string;
  claims: Claim[];
  endpoints: DNSEndpoint[];
  certificates: Certificate[];
  policies?: CompiledPolicy[];
  namespaces: Map<string, NamespaceInfo | undefined>;
  issuers: Map<string, ClusterIssuer | undefined>;
  secrets: Map<string, SecretReport | { unread: string }>;
  unread: string[];
}

/**
 * Reads in one namespace, or all (`namespace` undefined). When listing everywhere is
 * forbidden, falls back to the context's namespace and says so.
 */
export async function snapshot(api: Api, namespace: string | undefined): Promise<Snapshot> {
  let ns = namespace;
  const unread: string[] = [];
  let probe = await api.list<DNSEndpoint>(kinds.dnsEndpoint, ns);
  if (!probe.ok && ns === undefined && probe.why.startsWith('forbidden')) {
    unread.push(`${probe.why}: looked in namespace ${api.namespace} only`);
    ns = api.namespace;
    probe = await api.list<DNSEndpoint>(kinds.dnsEndpoint, ns);
  }
  const endpoints = probe.ok ? probe.items : (unread.push(probe.why), []);
  const certs = await api.list<Certificate>(kinds.certificate, ns);
  if (!certs.ok) unread.push(certs.why);
  const claims = await listClaims(api, ns, endpoints);
  unread.push(...claims.unread);
  const pol = await api.list<DomainPolicy>(kinds.domainPolicy);
  if (!pol.ok) unread.push(pol.why);
  const snap: Snapshot = {
    scope: ns ?? 'all namespaces',
    claims: claims.claims,
    endpoints,
    certificates: certs.ok ? certs.items : [],
    ...(pol.ok ? { policies: pol.items.map((p) => compile(p.metadata.name ?? '', p.spec)) } : {}),
    namespaces: new Map(),
    issuers: new Map(),
    secrets: new Map(),
    unread,
  };
  return snap;
}

/** The hosts the snapshot knows, sorted. */
export function hostsOf(s: Snapshot): string[] {
  const hosts = new Set<string>();
  for (const c of s.claims) for (const h of c.managed) hosts.add(h);
  for (const e of s.endpoints) for (const r of e.spec.endpoints ?? []) hosts.add(r.dnsName);
  for (const c of s.certificates) for (const n of c.spec.dnsNames) hosts.add(n);
  return [...hosts].sort();
}

async function namespaceInfo(
  api: Api,
  s: Snapshot,
  name: string,
): Promise<NamespaceInfo | undefined> {
  if (!s.namespaces.has(name)) {
    const r = await api.get<k8s.V1Namespace>(kinds.namespace, name);
    s.namespaces.set(name, r.ok ? { name, labels: r.item.metadata?.labels ?? {} } : undefined);
  }
  return s.namespaces.get(name);
}

async function issuerOf(api: Api, s: Snapshot, c: Certificate): Promise<void> {
  const key = issuerKey(c);
  if (s.issuers.has(key)) return;
  const kind = c.spec.issuerRef.kind === 'Issuer' ? kinds.issuer : kinds.clusterIssuer;
  const r = await api.get<ClusterIssuer>(
    kind,
    c.spec.issuerRef.name,
    kind === kinds.issuer ? c.metadata.namespace : undefined,
  );
  if (r.ok) s.issuers.set(key, r.item);
  else if (r.notFound) s.issuers.set(key, undefined);
}

async function secretOf(api: Api, s: Snapshot, c: Certificate): Promise<void> {
  if (!c.spec.secretName) return;
  const key = `${c.metadata.namespace}/${c.spec.secretName}`;
  if (s.secrets.has(key)) return;
  const r = await api.get<k8s.V1Secret>(kinds.secret, c.spec.secretName, c.metadata.namespace);
  s.secrets.set(
    key,
    r.ok ? inspectSecret(r.item, c) : { unread: r.notFound ? 'does not exist yet' : r.why },
  );
}

/** The view of one host, reading the few objects it needs beyond the snapshot. */
export async function viewOf(
  api: Api,
  s: Snapshot,
  host: string,
  now = new Date(),
): Promise<HostView> {
  const claims = s.claims.filter(
    (c) => c.managed.some((h) => covers(h, host)) || c.unmanaged.includes(host),
  );
  const endpoints = s.endpoints.filter((e) =>
    (e.spec.endpoints ?? []).some((r) => r.dnsName === host),
  );
  const certificates = s.certificates.filter((c) => c.spec.dnsNames.some((n) => covers(n, host)));
  const nsName =
    claims[0]?.namespace ?? endpoints[0]?.metadata.namespace ?? certificates[0]?.metadata.namespace;
  const namespace = nsName ? await namespaceInfo(api, s, nsName) : undefined;
  for (const c of certificates) {
    await issuerOf(api, s, c);
    await secretOf(api, s, c);
  }
  return {
    host,
    claims,
    endpoints,
    certificates,
    ...(s.policies ? { policies: s.policies } : {}),
    ...(namespace ? { namespace } : {}),
    issuers: s.issuers,
    secrets: s.secrets,
    unread: s.unread,
    now,
  };
}
