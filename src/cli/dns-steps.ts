import { adviceFor } from './advice.js';
import { recordsFor, ref, type EndpointRecord, type HostView, type Step } from './model.js';
import type { Claim } from './sources.js';

/** The DNS half of explain: zone, owner TXT, the source's address, the record. */
const noRecord = (step: string): Step => ({
  step,
  state: 'skipped',
  detail: 'no record asked for (the source has no certroute.io/dns: "true")',
});

const gwRef = (p: { namespace: string; name: string }) => `Gateway ${p.namespace}/${p.name}`;

/** A route's address is its parent Gateways': which have none, or could not be read. */
function routeWaiting(claim: Claim, parents: NonNullable<Claim['parents']>): Step {
  const who = ref(claim);
  if (parents.length === 0)
    return {
      step: 'address',
      state: 'waiting',
      detail: `${who} names no parent Gateway`,
      todo: 'add a parentRef to the Gateway that serves it',
    };
  const bare = parents.filter((p) => p.addresses);
  const unread = parents.filter((p) => !p.addresses);
  const parts = [
    ...(bare.length ? [`parent ${bare.map(gwRef).join(', ')} has no address`] : []),
    ...(unread.length ? [`parent ${unread.map(gwRef).join(', ')} could not be read`] : []),
  ];
  const said = claim.problems?.find((p) => p.reason === 'GatewayNoAddress');
  const operator =
    said && claim.problemsFrom === 'operator' ? ' (the operator: GatewayNoAddress)' : '';
  return {
    step: 'address',
    state: unread.length && !bare.length ? 'unknown' : 'waiting',
    detail: `${who}: ${parts.join('; ')}${operator}`,
    todo: `wait for the Gateway's controller to write its status.addresses, or check that one serves its GatewayClass (or set certroute.io/dns-target on the route or the Gateway); ${adviceFor('WaitingForAddress')}`,
  };
}

/** Who gives each kind its address, for the message. */
function waitFor(claim: Claim | undefined): string {
  const cls = claim?.className ? ` (${claim.className})` : '';
  if (claim?.kind === 'Service')
    return `wait for its load balancer controller (the cloud provider's, or MetalLB), or check that one serves it${cls}`;
  if (claim?.kind === 'Gateway')
    return `wait for its Gateway controller to write status.addresses, or check that one serves its GatewayClass${cls}`;
  return `wait for its ingress controller, or check that one serves its class${cls}`;
}

function addressStep(claim: Claim | undefined): Step {
  const who = claim ? ref(claim) : 'the source';
  const addresses = claim?.addresses ?? [];
  const through = claim?.parents?.filter((p) => p.addresses?.length) ?? [];
  if (addresses.length > 0)
    return {
      step: 'address',
      state: 'passed',
      detail: `${who} has address ${addresses.join(', ')}${through.length ? ` (parent ${through.map(gwRef).join(', ')})` : ''}`,
    };
  if (claim?.parents) return routeWaiting(claim, claim.parents);
  return {
    step: 'address',
    state: 'waiting',
    detail: `${who} has no ${claim?.kind === 'Gateway' ? '' : 'load balancer '}address yet`,
    todo: `${waitFor(claim)}; ${adviceFor('WaitingForAddress')}`,
  };
}

function zoneStep(s: EndpointRecord | undefined): Step {
  if (s?.zoneID) return { step: 'zone', state: 'passed', detail: `hosted zone ${s.zoneID}` };
  if (s?.state === 'NoZone')
    return {
      step: 'zone',
      state: 'failed',
      detail: s.message ?? 'no managed zone holds the host',
      todo: `${adviceFor('RecordNoZone')} (#nozone): add the zone to --domain-filter or create it`,
    };
  if (s?.state === 'WaitingForAddress')
    return { step: 'zone', state: 'waiting', detail: 'looked up once the record has an address' };
  return {
    step: 'zone',
    state: 'waiting',
    detail: "the operator has not written this record's status yet",
  };
}

function ownerStep(s: EndpointRecord | undefined): Step {
  if (s?.state === 'OwnedByOther') {
    const owner = s.owner ? `: TXT owner "${s.owner}"` : '';
    return {
      step: 'owner',
      state: 'failed',
      detail: `the name is owned by someone else${owner}${s.message ? ` (${s.message})` : ''}`,
      todo: 'another owner holds it: remove that record set or its TXT, or adopt it; see docs/troubleshooting.md#ownedbyother-and-adoption',
    };
  }
  if (s?.state === 'Published')
    return {
      step: 'owner',
      state: 'passed',
      detail: `TXT ownership: ${s.owner ? `owner "${s.owner}"` : "this operator's owner id"}`,
    };
  return { step: 'owner', state: 'waiting', detail: 'checked when the zone is synced' };
}

type Rec = ReturnType<typeof recordsFor>[number];

function recordStep(host: string, rec: Rec): Step {
  const s = rec.status;
  switch (s?.state) {
    case 'Published':
      return {
        step: 'record',
        state: 'passed',
        detail: `${rec.spec.recordType ?? ''} ${host} -> ${rec.spec.targets.join(', ')} published`,
      };
    case 'Error':
      return {
        step: 'record',
        state: 'failed',
        detail: s.message ?? 'Route53 refused the change',
        todo: adviceFor('RecordError'),
      };
    case 'WaitingForAddress':
      return {
        step: 'record',
        state: 'waiting',
        detail: s.message ?? 'waiting for the address',
        todo: adviceFor('WaitingForAddress'),
      };
    case 'Pending':
    case undefined:
      return { step: 'record', state: 'waiting', detail: 'not yet in sync with Route53' };
    default:
      return {
        step: 'record',
        state: 'failed',
        detail: `${s?.state ?? ''}: ${s?.message ?? ''}`.trim(),
      };
  }
}

export function dnsSteps(v: HostView, claim: Claim | undefined): Step[] {
  const address = addressStep(claim);
  const [rec] = recordsFor(v.host, v.endpoints);
  if (!rec) return [noRecord('zone'), noRecord('owner'), address, noRecord('record')];
  return [zoneStep(rec.status), ownerStep(rec.status), address, recordStep(v.host, rec)];
}
