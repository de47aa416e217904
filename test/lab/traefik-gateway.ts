/**
 * Traefik's Kubernetes Gateway provider in the lab (traefik.ts starts it beside the Ingress
 * provider): a GatewayClass of Traefik's controller, the RBAC rules the provider reads and
 * writes, and a readiness check that a Gateway of that class gets its status from Traefik.
 *
 * Standard channel only: the experimental channel makes the provider watch TCPRoutes and
 * TLSRoutes, and the lab installs no TCPRoute CRD, so its informer would never sync.
 * A Gateway's listeners bind to Traefik's entrypoints by port: an HTTP listener on
 * `traefikWebPort` is the `web` entrypoint, reached on the lab's HTTP-01 port.
 */
import * as k8s from '@kubernetes/client-node';
import { waitFor, type ManagedProcess } from './process.js';

export const traefikGatewayClass = 'traefik';
export const traefikGatewayController = 'traefik.io/gateway-controller';
/** Port of the web entrypoint inside the lab's network namespace: HTTP listeners use it. */
export const traefikWebPort = 8000;

export const gatewayGroup = 'gateway.networking.k8s.io';
const readyGateway = 'traefik-ready';

/** What the Gateway provider reads (standard channel) and the status it writes. */
export function traefikGatewayRules(): k8s.V1PolicyRule[] {
  return [
    // Namespaces for allowedRoutes selectors; ConfigMaps for BackendTLSPolicy CA references.
    { apiGroups: [''], resources: ['namespaces', 'configmaps'], verbs: ['list', 'watch'] },
    {
      apiGroups: [gatewayGroup],
      resources: [
        'gatewayclasses',
        'gateways',
        'httproutes',
        'grpcroutes',
        'referencegrants',
        'backendtlspolicies',
      ],
      verbs: ['list', 'watch'],
    },
    {
      apiGroups: [gatewayGroup],
      resources: [
        'gatewayclasses/status',
        'gateways/status',
        'httproutes/status',
        'grpcroutes/status',
        'backendtlspolicies/status',
      ],
      verbs: ['update'],
    },
  ];
}

/** The GatewayClass `traefik`, of Traefik's controller (created or left as it is). */
export async function installGatewayClass(admin: k8s.KubeConfig): Promise<void> {
  await admin
    .makeApiClient(k8s.CustomObjectsApi)
    .createClusterCustomObject({
      group: gatewayGroup,
      version: 'v1',
      plural: 'gatewayclasses',
      body: {
        apiVersion: `${gatewayGroup}/v1`,
        kind: 'GatewayClass',
        metadata: { name: traefikGatewayClass },
        spec: { controllerName: traefikGatewayController },
      },
    })
    .catch((err: unknown) => {
      if ((err as { code?: number }).code !== 409) throw err;
    });
}

/** The static configuration of the Gateway provider (external-cluster client, as the Ingress one). */
export function gatewayProviderConfig(opts: {
  endpoint: string;
  tokenFile: string;
  caFile: string;
  statusAddress: string;
}): Record<string, unknown> {
  return {
    endpoint: opts.endpoint,
    token: opts.tokenFile,
    certAuthFilePath: opts.caFile,
    statusAddress: { ip: opts.statusAddress },
  };
}

interface GatewayStatus {
  addresses?: { type?: string; value: string }[];
  conditions?: { type: string; status: string }[];
  listeners?: { name: string; conditions?: { type: string; status: string }[] }[];
}

/** Whether a Gateway's status says Programmed, with `address` among its addresses. */
export function gatewayProgrammed(status: GatewayStatus | undefined, address: string): boolean {
  const programmed = (cs: { type: string; status: string }[] | undefined) =>
    cs?.some((c) => c.type === 'Programmed' && c.status === 'True') ?? false;
  return (
    (status?.addresses?.some((a) => a.value === address) ?? false) &&
    programmed(status?.conditions) &&
    (status?.listeners ?? []).length > 0 &&
    (status?.listeners ?? []).every((l) => programmed(l.conditions))
  );
}

/**
 * Ready when Traefik has programmed a Gateway of its class and published its address: the
 * Gateway provider is connected, authorized and synced.
 */
export async function waitForGatewayStatus(
  admin: k8s.KubeConfig,
  namespace: string,
  address: string,
  proc: ManagedProcess,
): Promise<void> {
  const api = admin.makeApiClient(k8s.CustomObjectsApi);
  const ref = { group: gatewayGroup, version: 'v1', namespace, plural: 'gateways' };
  await api
    .createNamespacedCustomObject({
      ...ref,
      body: {
        apiVersion: `${gatewayGroup}/v1`,
        kind: 'Gateway',
        metadata: { name: readyGateway },
        spec: {
          gatewayClassName: traefikGatewayClass,
          listeners: [{ name: 'web', protocol: 'HTTP', port: traefikWebPort }],
        },
      },
    })
    .catch((err: unknown) => {
      if ((err as { code?: number }).code !== 409) throw err;
    });
  await waitFor(
    'traefik to program a Gateway and publish its address',
    async () => {
      const gw = (await api.getNamespacedCustomObject({ ...ref, name: readyGateway })) as {
        status?: GatewayStatus;
      };
      return gatewayProgrammed(gw.status, address);
    },
    { proc, timeoutMs: 60_000, intervalMs: 100 },
  );
}
