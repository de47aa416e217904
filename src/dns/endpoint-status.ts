import type { Condition, DNSEndpointStatus } from '../api/v1alpha1.js';
import { reportFailure, type FailureReason } from '../errors.js';
import { sameStatus } from '../kube/canonical.js';
import { isNotFound, type CrdClient } from '../kube/crd-client.js';
import type { EventRecorder, EventTarget } from '../kube/events.js';
import { controllerOf } from '../kube/ownership.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { problemsOf, resourceOf, sourceKinds, type Endpoint } from './endpoints.js';
import type { DnsProvider } from './providers/provider.js';
import { statusKey } from './plan.js';
import type { RecordStates } from './records.js';
import type { Zone } from './types.js';

type StatusRecord = NonNullable<DNSEndpointStatus['endpoints']>[number];

export interface EndpointStatusDeps {
  crds: CrdClient;
  events: EventRecorder;
  metrics: Metrics;
  log: Logger;
  states: RecordStates;
  zoneOf: (host: string, zones: readonly Zone[]) => Zone | undefined;
  /** Where records go, for messages (Route53, an RFC 2136 server). */
  provider: Pick<DnsProvider, 'label' | 'zoneNoun'>;
}

/**
 * A DNSEndpoint's status: one state per record (WaitingForAddress, NoZone, or what the last
 * sync of its zone found), a Ready condition, and an Event for each record whose state changes
 * to Published or to a problem. Written only when something anyone reads changed.
 */
export class EndpointStatusWriter {
  constructor(private readonly d: EndpointStatusDeps) {}

  /** `stored` is the object to write status on, `e` the spec its records come from. */
  async write(stored: Endpoint, e: Endpoint, zones: readonly Zone[]): Promise<void> {
    const resource = resourceOf(e);
    const rules = new Map<string, string>();
    const records = (e.spec?.endpoints ?? []).map((ep): StatusRecord => {
      const base = { dnsName: ep.dnsName, recordType: ep.recordType ?? '' };
      if (!ep.recordType || ep.targets.length === 0)
        return {
          ...base,
          state: 'WaitingForAddress' as const,
          message: waitingMessage(e),
        };
      const zone = this.d.zoneOf(ep.dnsName, zones);
      if (!zone)
        return {
          ...base,
          state: 'NoZone' as const,
          message: `no managed ${this.d.provider.zoneNoun} contains ${ep.dnsName}`,
        };
      const s = this.d.states.get(statusKey(resource, ep.dnsName, ep.recordType));
      if (s?.state === 'Denied') rules.set(`${ep.dnsName}|${ep.recordType}`, s.rule ?? 'unknown');
      return {
        ...base,
        zoneID: zone.id,
        state: s?.state ?? ('Pending' as const),
        ...(s?.owner ? { owner: s.owner } : {}),
        ...(s?.message ? { message: s.message } : {}),
      };
    });
    const status = endpointStatus(stored, records);
    if (sameStatus(status, stored.status ?? {})) return;
    const { namespace, name = '' } = stored.metadata ?? {};
    try {
      await this.d.crds.patchStatus('dnsendpoints', namespace, name, status);
    } catch (err) {
      if (isNotFound(err)) return; // deleted meanwhile
      throw err;
    }
    await this.reportEvents(stored, records, stored.status?.endpoints ?? [], rules);
  }

  private async reportEvents(
    e: Endpoint,
    now: StatusRecord[],
    before: StatusRecord[],
    rules: ReadonlyMap<string, string>,
  ): Promise<void> {
    const ingress = ingressOf(e);
    const target = ingress ?? selfTarget(e);
    const prev = new Map(before.map((r) => [`${r.dnsName}|${r.recordType}`, r.state]));
    for (const r of now) {
      if (prev.get(`${r.dnsName}|${r.recordType}`) === r.state) continue;
      const what = `${r.recordType || 'record'} ${r.dnsName}`;
      if (r.state === 'Published')
        await this.d.events.record(
          target,
          'Normal',
          'RecordPublished',
          `${what} published in ${this.d.provider.label}`,
        );
      else if (r.state === 'Denied') await this.reportDenied(e, ingress, r, what, rules);
      else if (r.state === 'OwnedByOther' || r.state === 'NoZone' || r.state === 'Error') {
        const reason: FailureReason = `Record${r.state}`;
        const message = `${what}: ${r.message ?? r.state}`;
        reportFailure(this.d.log, this.d.metrics.failures, 'dns', reason, message, {
          namespace: e.metadata?.namespace,
          name: e.metadata?.name,
        });
        await this.d.events.record(target, 'Warning', reason, message);
      }
    }
  }

  /** A Denied record: counted, logged, and an Event on the DNSEndpoint and its Ingress. */
  private async reportDenied(
    e: Endpoint,
    ingress: EventTarget | undefined,
    r: StatusRecord,
    what: string,
    rules: ReadonlyMap<string, string>,
  ): Promise<void> {
    const message = `${what}: ${r.message ?? r.state}`;
    const rule = rules.get(`${r.dnsName}|${r.recordType}`) ?? 'unknown';
    this.d.metrics.policyDenials.inc({ kind: 'record', reason: rule });
    reportFailure(this.d.log, this.d.metrics.failures, 'dns', 'Denied', message, {
      namespace: e.metadata?.namespace,
      name: e.metadata?.name,
      rule,
    });
    const self = selfTarget(e);
    for (const t of ingress ? [ingress, self] : [self])
      await this.d.events.record(t, 'Warning', 'Denied', message);
  }
}

/** The source (Ingress, route, Service) that controls a DNSEndpoint, as an Event target. */
function ingressOf(e: Endpoint): EventTarget | undefined {
  const owner = controllerOf(e);
  const apiVersion = owner?.kind !== undefined ? sourceKinds[owner.kind] : undefined;
  if (!owner?.kind || !apiVersion) return undefined;
  return {
    apiVersion,
    kind: owner.kind,
    metadata: { name: owner.name, namespace: e.metadata?.namespace, uid: owner.uid },
  };
}

/** Why a host has no record yet, in the words of its source's kind. */
function waitingMessage(e: Endpoint): string {
  const kind = controllerOf(e)?.kind;
  if (kind === 'HTTPRoute' || kind === 'GRPCRoute' || kind === 'TLSRoute')
    return `the ${kind}'s Gateway has no address in status.addresses yet`;
  return `the ${kind === 'Service' ? 'Service' : 'Ingress'} has no load balancer address yet`;
}

function selfTarget(e: Endpoint): EventTarget {
  return { apiVersion: 'certroute.io/v1alpha1', kind: 'DNSEndpoint', metadata: e.metadata ?? {} };
}

function endpointStatus(e: Endpoint, records: StatusRecord[]): DNSEndpointStatus {
  const generation = e.metadata?.generation;
  return {
    observedGeneration: generation,
    endpoints: records,
    conditions: [readyCondition(e, records), ...sourceCondition(e)],
  };
}

/**
 * What the source asks that certroute cannot do (problemsAnnotation), as `SourceValid=False`
 * naming each problem; no condition when there is none.
 */
function sourceCondition(e: Endpoint): Condition[] {
  const problems = problemsOf(e);
  if (problems.length === 0) return [];
  const reason = problems[0]?.reason ?? 'InvalidSource';
  const message = problems.map((p) => `${p.reason}: ${p.message}`).join('; ');
  const prior = e.status?.conditions?.find((c) => c.type === 'SourceValid');
  const same = prior?.reason === reason && prior.message === message;
  return [
    {
      type: 'SourceValid',
      status: 'False',
      reason,
      message,
      lastTransitionTime: same && prior ? prior.lastTransitionTime : new Date().toISOString(),
      observedGeneration: e.metadata?.generation,
    },
  ];
}

function readyCondition(e: Endpoint, records: StatusRecord[]): Condition {
  const bad = records.find((r) => r.state !== 'Published');
  const status = records.length > 0 && !bad ? 'True' : 'False';
  const reason = bad ? bad.state : 'Published';
  const message = bad
    ? `${bad.recordType || 'record'} ${bad.dnsName}: ${bad.message ?? bad.state}`
    : `all ${records.length} records published`;
  const prior = e.status?.conditions?.find((c) => c.type === 'Ready');
  const same = prior?.status === status && prior.reason === reason && prior.message === message;
  const lastTransitionTime = same && prior ? prior.lastTransitionTime : new Date().toISOString();
  return {
    type: 'Ready',
    status,
    reason,
    message,
    lastTransitionTime,
    observedGeneration: e.metadata?.generation,
  };
}
