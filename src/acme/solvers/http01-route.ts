import * as k8s from '@kubernetes/client-node';
import type { GatewayHTTPRoute } from '../../api/gateway-http01.js';

/**
 * HTTP-01 through Gateway API: with `http01.gatewayHTTPRoute`, a host's challenges reach the
 * operator through an HTTPRoute attached to the issuer's Gateways instead of an Ingress. The
 * route sends `/.well-known/acme-challenge/` of the host to the same selector-less Service
 * (and EndpointSlice) as the Ingress would (http01.ts), so the probe before an order and every
 * order's token go through one object, made once. A route only routes once its Gateway's
 * controller has accepted it: `status.parents` says so, per parent.
 */
export const routeGroup = 'gateway.networking.k8s.io';
export const routeVersion = 'v1';
const plural = 'httproutes';

export interface HTTPRouteParentStatus {
  parentRef: {
    group?: string;
    kind?: string;
    name: string;
    namespace?: string;
    sectionName?: string;
    port?: number;
  };
  controllerName?: string;
  conditions?: {
    type: string;
    status: string;
    reason?: string;
    message?: string;
    observedGeneration?: number;
  }[];
}

export interface HTTPRouteObject {
  apiVersion: string;
  kind: 'HTTPRoute';
  metadata: k8s.V1ObjectMeta;
  spec: {
    parentRefs: {
      group: string;
      kind: string;
      name: string;
      namespace?: string;
      sectionName?: string;
      port?: number;
    }[];
    hostnames: string[];
    rules: {
      matches: { path: { type: 'PathPrefix'; value: string } }[];
      backendRefs: { group: ''; kind: 'Service'; name: string; port: number }[];
    }[];
  };
  status?: { parents?: HTTPRouteParentStatus[] };
}

/**
 * The challenge HTTPRoute of one host: `metadata` is the solver objects' own (name, namespace,
 * labels, owner); the issuer's labels are added under certroute's, its annotations as given.
 */
export function challengeRoute(
  metadata: k8s.V1ObjectMeta & { name: string; labels: Record<string, string> },
  host: string,
  path: string,
  route: GatewayHTTPRoute,
): HTTPRouteObject {
  return {
    apiVersion: `${routeGroup}/${routeVersion}`,
    kind: 'HTTPRoute',
    metadata: {
      ...metadata,
      labels: { ...route.labels, ...metadata.labels },
      ...(route.annotations ? { annotations: { ...route.annotations } } : {}),
    },
    spec: {
      parentRefs: route.parentRefs.map((p) => ({
        group: routeGroup,
        kind: 'Gateway',
        name: p.name,
        ...(p.namespace !== undefined ? { namespace: p.namespace } : {}),
        ...(p.sectionName !== undefined ? { sectionName: p.sectionName } : {}),
        ...(p.port !== undefined ? { port: p.port } : {}),
      })),
      hostnames: [host],
      rules: [
        {
          matches: [{ path: { type: 'PathPrefix', value: path } }],
          backendRefs: [{ group: '', kind: 'Service', name: metadata.name, port: 80 }],
        },
      ],
    },
  };
}

export type RouteAcceptance = { ok: true } | { ok: false; message: string };

/**
 * Whether every parent of the route has accepted it, for the route's current generation:
 * `Accepted=True` (and `ResolvedRefs` not False: the Service is found) in the parent's entry of
 * `status.parents`. Parents are matched as Gateway API does: name, namespace (default: the
 * route's), sectionName and port.
 */
export function routeAcceptance(route: HTTPRouteObject): RouteAcceptance {
  const ns = route.metadata.namespace ?? '';
  const who = `HTTPRoute ${ns}/${route.metadata.name ?? ''}`;
  for (const want of route.spec.parentRefs) {
    const entry = (route.status?.parents ?? []).find((p) => sameParent(p.parentRef, want, ns));
    const why = parentVerdict(entry, route.metadata.generation);
    if (why === undefined) continue;
    const gw = `Gateway ${want.namespace ?? ns}/${want.name}${want.sectionName ? ` (listener ${want.sectionName})` : ''}`;
    return { ok: false, message: why(who, gw) };
  }
  return { ok: true };
}

type Ref = HTTPRouteParentStatus['parentRef'];

/** Gateway API's parent identity: kind Gateway, name, namespace (default: the route's), listener. */
function sameParent(got: Ref, want: Ref, ns: string): boolean {
  return (
    (got.kind ?? 'Gateway') === 'Gateway' &&
    got.name === want.name &&
    (got.namespace ?? ns) === (want.namespace ?? ns) &&
    got.sectionName === want.sectionName &&
    got.port === want.port
  );
}

/** Undefined when this parent routes the route; else what to say, given the route and Gateway. */
function parentVerdict(
  entry: HTTPRouteParentStatus | undefined,
  generation: number | undefined,
): ((who: string, gw: string) => string) | undefined {
  const cond = (type: string) => entry?.conditions?.find((c) => c.type === type);
  const said = (c: { reason?: string; message?: string }) =>
    `${c.reason ?? 'Unknown'}${c.message ? `: ${c.message}` : ''}`;
  const accepted = cond('Accepted');
  if (!accepted)
    return (who, gw) =>
      `${who} has no status from ${gw} yet (is the Gateway's controller running, and the Gateway's class one it serves?)`;
  if ((accepted.observedGeneration ?? Infinity) < (generation ?? 0))
    return (who, gw) => `${who}: ${gw} has not seen generation ${generation ?? 0} yet`;
  if (accepted.status !== 'True')
    return (who, gw) => `${who} is not accepted by ${gw}: ${said(accepted)}`;
  const refs = cond('ResolvedRefs');
  if (refs?.status === 'False')
    return (who, gw) => `${who}: ${gw} cannot resolve its backend: ${said(refs)}`;
  return undefined;
}

/** The challenge HTTPRoutes in the API: made, checked for acceptance, and removed. */
export class Http01Routes {
  private readonly api: k8s.CustomObjectsApi;

  constructor(kubeConfig: k8s.KubeConfig) {
    this.api = kubeConfig.makeApiClient(k8s.CustomObjectsApi);
  }

  /** Creates the route; one already there (this host's, by its name) is left as it is. */
  async create(route: HTTPRouteObject): Promise<void> {
    try {
      await this.api.createNamespacedCustomObject({
        group: routeGroup,
        version: routeVersion,
        namespace: route.metadata.namespace ?? '',
        plural,
        body: route,
      });
    } catch (err) {
      if (code(err) !== 409) throw err;
    }
  }

  /** Whether the route is accepted by all its parents; a missing route is not. */
  async accepted(namespace: string, name: string): Promise<RouteAcceptance> {
    try {
      const route = (await this.api.getNamespacedCustomObject({
        group: routeGroup,
        version: routeVersion,
        namespace,
        plural,
        name,
      })) as HTTPRouteObject;
      return routeAcceptance(route);
    } catch (err) {
      if (code(err) !== 404) throw err;
      return { ok: false, message: `HTTPRoute ${namespace}/${name} does not exist` };
    }
  }

  /**
   * Deletes the routes matching `labelSelector`; returns how many. No HTTPRoute CRD in the
   * cluster (404 on the list) means there are none.
   */
  async cleanup(namespace: string, labelSelector: string): Promise<number> {
    let items: HTTPRouteObject[];
    try {
      const list = (await this.api.listNamespacedCustomObject({
        group: routeGroup,
        version: routeVersion,
        namespace,
        plural,
        labelSelector,
      })) as { items: HTTPRouteObject[] };
      items = list.items;
    } catch (err) {
      if (code(err) === 404) return 0;
      throw err;
    }
    await Promise.all(
      items.map(async (r) => {
        try {
          await this.api.deleteNamespacedCustomObject({
            group: routeGroup,
            version: routeVersion,
            namespace,
            plural,
            name: r.metadata.name ?? '',
          });
        } catch (err) {
          if (code(err) !== 404) throw err;
        }
      }),
    );
    return items.length;
  }
}

function code(err: unknown): number | undefined {
  return (err as { code?: number }).code;
}
