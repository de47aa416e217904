/**
 * The parts of Gateway API objects (gateway.networking.k8s.io) that certroute reads, as plain
 * JSON from the API server. Only what the sources use is typed; the rest passes through.
 */

export const gatewayGroup = 'gateway.networking.k8s.io';

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  creationTimestamp?: string | Date;
  deletionTimestamp?: string | Date;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  resourceVersion?: string;
}

export interface GatewayCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  observedGeneration?: number;
}

export interface SecretObjectReference {
  group?: string;
  kind?: string;
  name: string;
  namespace?: string;
}

export interface Listener {
  name: string;
  hostname?: string;
  port: number;
  protocol: string;
  tls?: { mode?: string; certificateRefs?: SecretObjectReference[] };
  allowedRoutes?: {
    namespaces?: { from?: 'All' | 'Same' | 'Selector' };
    kinds?: { group?: string; kind: string }[];
  };
}

export interface GatewayAddress {
  /** IPAddress (the default), Hostname, or an implementation-specific type. */
  type?: string;
  value: string;
}

export interface Gateway {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec?: { gatewayClassName?: string; listeners?: Listener[] };
  status?: { addresses?: GatewayAddress[]; conditions?: GatewayCondition[] };
}

export interface GatewayClass {
  metadata?: ObjectMeta;
  spec?: { controllerName?: string };
}

export interface ParentReference {
  group?: string;
  kind?: string;
  namespace?: string;
  name: string;
  sectionName?: string;
  port?: number;
}

export interface RouteParentStatus {
  parentRef: ParentReference;
  controllerName?: string;
  conditions?: GatewayCondition[];
}

/** The route kinds certroute reads hostnames from. */
export type RouteKind = 'HTTPRoute' | 'GRPCRoute' | 'TLSRoute';

export interface Route {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec?: { parentRefs?: ParentReference[]; hostnames?: string[] };
  status?: { parents?: RouteParentStatus[] };
}

/** Where each route kind lives: TLSRoute is still v1alpha2 (an optional, experimental CRD). */
export const routeResources: Record<RouteKind, { version: string; plural: string }> = {
  HTTPRoute: { version: 'v1', plural: 'httproutes' },
  GRPCRoute: { version: 'v1', plural: 'grpcroutes' },
  TLSRoute: { version: 'v1alpha2', plural: 'tlsroutes' },
};

export const gatewayResource = { version: 'v1', plural: 'gateways' };
export const gatewayClassResource = { version: 'v1', plural: 'gatewayclasses' };
