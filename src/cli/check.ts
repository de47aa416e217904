import type * as k8s from '@kubernetes/client-node';
import type { ClusterIssuer, DNSEndpoint } from '../api/v1alpha1.js';
import type { Step } from './explain.js';

/**
 * `check`, pure: a preflight for platform teams from what the API says. Zone reachability is
 * what the operator reports in DNSEndpoint status (the CLI holds no AWS credentials): a zone
 * with published records was reached with the operator's credentials at its last sync.
 */
export const crdNames = [
  'certificates',
  'clusterissuers',
  'issuers',
  'dnsendpoints',
  'domainpolicies',
].map((p) => `${p}.certroute.io`);

export type Found<T> = { ok: true; value: T } | { ok: false; why: string; notFound?: boolean };

export function crdStep(name: string, r: Found<unknown>): Step {
  if (r.ok) return { step: `crd ${name}`, state: 'passed', detail: 'installed' };
  return r.notFound
    ? {
        step: `crd ${name}`,
        state: 'failed',
        detail: 'not installed',
        todo: 'apply crds/ (or install the Helm chart)',
      }
    : { step: `crd ${name}`, state: 'unknown', detail: r.why };
}

/** The leader Lease: held and renewed within its duration (by this machine's clock). */
export function leaderStep(namespace: string, r: Found<k8s.V1Lease>, now: Date): Step {
  const step = 'leader';
  if (!r.ok)
    return r.notFound
      ? {
          step,
          state: 'waiting',
          detail: `no Lease certroute-leader in namespace ${namespace}`,
          todo: 'is the operator running (and with --leader-election)? Pass --operator-namespace if it runs elsewhere',
        }
      : { step, state: 'unknown', detail: r.why };
  const s = r.value.spec ?? {};
  if (!s.holderIdentity)
    return {
      step,
      state: 'waiting',
      detail: 'the Lease has no holder: no leader',
      todo: "read the operator's logs",
    };
  const renewed = s.renewTime ? new Date(s.renewTime) : undefined;
  const ageS = renewed ? Math.round((now.getTime() - renewed.getTime()) / 1000) : undefined;
  const duration = s.leaseDurationSeconds ?? 15;
  if (ageS === undefined || ageS > duration * 2)
    return {
      step,
      state: 'failed',
      detail: `leader ${s.holderIdentity} last renewed ${ageS === undefined ? 'never' : `${ageS}s ago`} (lease ${duration}s)`,
      todo: 'the leader stopped renewing: check the operator pods',
    };
  return {
    step,
    state: 'passed',
    detail: `leader ${s.holderIdentity}, renewed ${Math.max(0, ageS)}s ago`,
  };
}

export function deploymentStep(namespace: string, r: Found<k8s.V1Deployment[]>): Step {
  const step = 'operator';
  if (!r.ok) return { step, state: 'unknown', detail: r.why };
  const [d] = r.value;
  if (!d)
    return {
      step,
      state: 'skipped',
      detail: `no certroute Deployment in namespace ${namespace} (the operator runs elsewhere?)`,
    };
  const want = d.spec?.replicas ?? 1;
  const ready = d.status?.readyReplicas ?? 0;
  return ready >= Math.min(1, want)
    ? { step, state: 'passed', detail: `Deployment ${d.metadata?.name}: ${ready}/${want} Ready` }
    : {
        step,
        state: 'failed',
        detail: `Deployment ${d.metadata?.name}: ${ready}/${want} Ready`,
        todo: 'kubectl describe the pods',
      };
}

export function issuerSteps(kind: string, r: Found<ClusterIssuer[]>): Step[] {
  if (!r.ok) return [{ step: `${kind}s`, state: 'unknown', detail: r.why }];
  return r.value.map((i) => {
    const name = `${kind} ${i.metadata.namespace ? `${i.metadata.namespace}/` : ''}${i.metadata.name}`;
    const ready = i.status?.conditions?.find((c) => c.type === 'Ready');
    if (ready?.status === 'True' && i.status?.acme?.uri)
      return { step: name, state: 'passed', detail: `ACME account ${i.status.acme.uri}` };
    return {
      step: name,
      state: ready?.status === 'False' ? 'failed' : 'waiting',
      detail: ready
        ? `${ready.reason}: ${ready.message}`
        : 'no status yet: is the operator running?',
      ...(ready ? { todo: 'see docs/troubleshooting.md#clusterissuer-reasons' } : {}),
    };
  });
}

interface ZoneTally {
  published: number;
  errors: string[];
}

function tally(endpoints: readonly DNSEndpoint[]): {
  zones: Map<string, ZoneTally>;
  noZone: string[];
} {
  const zones = new Map<string, ZoneTally>();
  const noZone: string[] = [];
  for (const s of endpoints.flatMap((e) => e.status?.endpoints ?? [])) {
    if (s.state === 'NoZone') noZone.push(s.dnsName);
    if (!s.zoneID) continue;
    const z = zones.get(s.zoneID) ?? { published: 0, errors: [] };
    if (s.state === 'Published' || s.state === 'OwnedByOther') z.published++;
    if (s.state === 'Error') z.errors.push(`${s.dnsName}: ${s.message ?? ''}`);
    zones.set(s.zoneID, z);
  }
  return { zones, noZone: [...new Set(noZone)] };
}

function zoneStep(id: string, z: ZoneTally): Step {
  const step = `zone ${id}`;
  if (z.published > 0)
    return {
      step,
      state: 'passed',
      detail: `reachable with the operator's credentials: ${z.published} record(s) synced`,
    };
  if (z.errors.length > 0)
    return {
      step,
      state: 'failed',
      detail: `Route53 refused: ${z.errors.slice(0, 3).join('; ')}`,
      todo: 'see docs/troubleshooting.md#error-route53-refused-the-change',
    };
  return { step, state: 'waiting', detail: 'no record synced yet' };
}

/** Zones as the operator reports them through its records' states. */
export function zoneSteps(r: Found<DNSEndpoint[]>): Step[] {
  if (!r.ok) return [{ step: 'zones', state: 'unknown', detail: r.why }];
  const { zones, noZone } = tally(r.value);
  const steps = [...zones.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([id, z]) => zoneStep(id, z));
  if (noZone.length > 0)
    steps.push({
      step: 'zones',
      state: 'failed',
      detail: `no managed zone for ${noZone.slice(0, 5).join(', ')}${noZone.length > 5 ? ', ...' : ''}`,
      todo: 'see docs/troubleshooting.md#nozone',
    });
  if (steps.length === 0)
    steps.push({
      step: 'zones',
      state: 'skipped',
      detail: 'no records yet: nothing tells whether a zone is reachable',
    });
  return steps;
}
