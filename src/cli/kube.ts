import * as k8s from '@kubernetes/client-node';

/**
 * The CLI's only door to the API: the user's kubeconfig and their rights. Every read answers
 * either the objects or why not (forbidden, not installed), so each command degrades and says
 * what it could not read instead of failing.
 */
export type Read<T> = { ok: true; items: T[] } | { ok: false; why: string; notInstalled?: true };
export type One<T> =
  { ok: true; item: T } | { ok: false; why: string; notFound?: boolean; forbidden?: boolean };

export interface Kind {
  apiVersion: string;
  kind: string;
  /** Plural resource name, for messages ("list certificates.certroute.io"). */
  resource: string;
}

export const kinds = {
  ingress: {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    resource: 'ingresses.networking.k8s.io',
  },
  service: { apiVersion: 'v1', kind: 'Service', resource: 'services' },
  gateway: {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    resource: 'gateways.gateway.networking.k8s.io',
  },
  gatewayClass: {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'GatewayClass',
    resource: 'gatewayclasses.gateway.networking.k8s.io',
  },
  httpRoute: {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    resource: 'httproutes.gateway.networking.k8s.io',
  },
  grpcRoute: {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'GRPCRoute',
    resource: 'grpcroutes.gateway.networking.k8s.io',
  },
  tlsRoute: {
    apiVersion: 'gateway.networking.k8s.io/v1alpha2',
    kind: 'TLSRoute',
    resource: 'tlsroutes.gateway.networking.k8s.io',
  },
  certificate: {
    apiVersion: 'certroute.io/v1alpha1',
    kind: 'Certificate',
    resource: 'certificates.certroute.io',
  },
  dnsEndpoint: {
    apiVersion: 'certroute.io/v1alpha1',
    kind: 'DNSEndpoint',
    resource: 'dnsendpoints.certroute.io',
  },
  clusterIssuer: {
    apiVersion: 'certroute.io/v1alpha1',
    kind: 'ClusterIssuer',
    resource: 'clusterissuers.certroute.io',
  },
  issuer: { apiVersion: 'certroute.io/v1alpha1', kind: 'Issuer', resource: 'issuers.certroute.io' },
  domainPolicy: {
    apiVersion: 'certroute.io/v1alpha1',
    kind: 'DomainPolicy',
    resource: 'domainpolicies.certroute.io',
  },
  namespace: { apiVersion: 'v1', kind: 'Namespace', resource: 'namespaces' },
  secret: { apiVersion: 'v1', kind: 'Secret', resource: 'secrets' },
  event: { apiVersion: 'v1', kind: 'Event', resource: 'events' },
  lease: {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    resource: 'leases.coordination.k8s.io',
  },
  deployment: { apiVersion: 'apps/v1', kind: 'Deployment', resource: 'deployments.apps' },
  crd: {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    resource: 'customresourcedefinitions.apiextensions.k8s.io',
  },
} as const satisfies Record<string, Kind>;

export interface Api {
  /** The namespace of the kubeconfig's context ("default" when it names none). */
  readonly namespace: string;
  readonly context: string;
  /** Lists in one namespace, or in all (undefined; cluster-scoped kinds too). */
  list<T>(kind: Kind, namespace?: string, labelSelector?: string): Promise<Read<T>>;
  get<T>(kind: Kind, name: string, namespace?: string): Promise<One<T>>;
  /** Merges annotations into an object's metadata (a JSON merge patch). */
  annotate(
    kind: Kind,
    name: string,
    namespace: string,
    annotations: Record<string, string>,
  ): Promise<One<unknown>>;
}

export interface KubeOptions {
  kubeconfig?: string | undefined;
  context?: string | undefined;
}

function statusOf(err: unknown): number | undefined {
  if (err instanceof k8s.ApiException) return err.code;
  const code = (err as { code?: unknown; statusCode?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

function why(err: unknown, verb: string, kind: Kind, namespace?: string, name?: string): string {
  const code = statusOf(err);
  const what = `${verb} ${kind.resource}${name ? ` ${name}` : ''}${namespace ? ` in namespace ${namespace}` : verb === 'list' ? ' in all namespaces' : ''}`;
  if (code === 403) return `forbidden: your kubeconfig may not ${what}`;
  if (code === 404) return `not found: ${what}`;
  if (code === 401) return `unauthorized: the API server refused your credentials (${what})`;
  const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
  return `${what} failed: ${msg}`;
}

/** The CRD is not installed: discovery knows no such kind. */
function isUnknownKind(err: unknown): boolean {
  return (
    statusOf(err) === 404 ||
    (err instanceof Error && /Unrecognized API version and kind/.test(err.message))
  );
}

export function loadKubeConfig(o: KubeOptions): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  if (o.kubeconfig) kc.loadFromFile(o.kubeconfig);
  else kc.loadFromDefault();
  if (o.context) {
    if (!kc.getContextObject(o.context))
      throw new UsageError(`no context "${o.context}" in the kubeconfig`);
    kc.setCurrentContext(o.context);
  }
  return kc;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export function kubeApi(kc: k8s.KubeConfig): Api {
  const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
  const ctx = kc.getContextObject(kc.getCurrentContext());
  return {
    namespace: ctx?.namespace ?? 'default',
    context: kc.getCurrentContext(),
    async list<T>(kind: Kind, namespace?: string, labelSelector?: string): Promise<Read<T>> {
      try {
        const l = await objects.list(
          kind.apiVersion,
          kind.kind,
          namespace,
          undefined,
          undefined,
          undefined,
          undefined,
          labelSelector,
        );
        return { ok: true, items: l.items as T[] };
      } catch (err) {
        if (isUnknownKind(err))
          return {
            ok: false,
            why: `not installed: the API server knows no ${kind.resource} (apply the CRDs)`,
            notInstalled: true,
          };
        return { ok: false, why: why(err, 'list', kind, namespace) };
      }
    },
    async get<T>(kind: Kind, name: string, namespace?: string): Promise<One<T>> {
      try {
        const o = await objects.read({
          apiVersion: kind.apiVersion,
          kind: kind.kind,
          metadata: { name, ...(namespace ? { namespace } : {}) },
        });
        return { ok: true, item: o as T };
      } catch (err) {
        const code = statusOf(err);
        return {
          ok: false,
          why: why(err, 'get', kind, namespace, name),
          notFound: code === 404,
          forbidden: code === 403,
        };
      }
    },
    async annotate(
      kind: Kind,
      name: string,
      namespace: string,
      annotations: Record<string, string>,
    ): Promise<One<unknown>> {
      try {
        const o = await objects.patch(
          {
            apiVersion: kind.apiVersion,
            kind: kind.kind,
            metadata: { name, namespace, annotations },
          },
          undefined,
          undefined,
          undefined,
          undefined,
          k8s.PatchStrategy.MergePatch,
        );
        return { ok: true, item: o };
      } catch (err) {
        const code = statusOf(err);
        return {
          ok: false,
          why: why(err, 'patch', kind, namespace, name),
          notFound: code === 404,
          forbidden: code === 403,
        };
      }
    },
  };
}
