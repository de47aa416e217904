import * as k8s from '@kubernetes/client-node';
import type { Certificate, DNSEndpoint, Endpoint } from '../../src/api/v1alpha1.js';

const group = 'certroute.io';
const version = 'v1alpha1';

export function customApi(kc: k8s.KubeConfig): k8s.CustomObjectsApi {
  return kc.makeApiClient(k8s.CustomObjectsApi);
}

export async function listCertificates(
  kc: k8s.KubeConfig,
  namespace: string,
): Promise<Certificate[]> {
  const res = (await customApi(kc).listNamespacedCustomObject({
    group,
    version,
    namespace,
    plural: 'certificates',
  })) as { items: Certificate[] };
  return res.items;
}

/** One Certificate, or undefined when it does not exist (yet, or any more). */
export async function getCertificate(
  kc: k8s.KubeConfig,
  namespace: string,
  name: string,
): Promise<Certificate | undefined> {
  try {
    return (await customApi(kc).getNamespacedCustomObject({
      group,
      version,
      plural: 'certificates',
      namespace,
      name,
    })) as Certificate;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

/** A status condition of a Certificate, by type. */
export function conditionOf(c: Certificate | undefined, type: string) {
  return c?.status?.conditions?.find((x) => x.type === type);
}

export async function listDnsEndpoints(
  kc: k8s.KubeConfig,
  namespace: string,
): Promise<DNSEndpoint[]> {
  const res = (await customApi(kc).listNamespacedCustomObject({
    group,
    version,
    namespace,
    plural: 'dnsendpoints',
  })) as { items: DNSEndpoint[] };
  return res.items;
}

/** A hand-written DNSEndpoint (no Ingress behind it). */
export async function createDnsEndpoint(
  kc: k8s.KubeConfig,
  namespace: string,
  name: string,
  endpoints: Endpoint[],
): Promise<void> {
  await customApi(kc).createNamespacedCustomObject({
    group,
    version,
    namespace,
    plural: 'dnsendpoints',
    body: {
      apiVersion: `${group}/${version}`,
      kind: 'DNSEndpoint',
      metadata: { name, namespace },
      spec: { endpoints },
    },
  });
}

/** Events about one object, newest last. */
export async function eventsFor(
  kc: k8s.KubeConfig,
  namespace: string,
  name: string,
): Promise<k8s.CoreV1Event[]> {
  const res = await kc
    .makeApiClient(k8s.CoreV1Api)
    .listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` });
  return res.items;
}

export interface IngressSpec {
  name: string;
  namespace: string;
  annotations?: Record<string, string>;
  hosts: string[];
  tls?: { secretName?: string; hosts: string[] }[];
  className?: string;
}

export function ingress(s: IngressSpec): k8s.V1Ingress {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: s.name, namespace: s.namespace, annotations: s.annotations ?? {} },
    spec: {
      ...(s.className ? { ingressClassName: s.className } : {}),
      tls: s.tls,
      rules: s.hosts.map((host) => ({
        host,
        http: {
          paths: [
            {
              path: '/',
              pathType: 'Prefix',
              backend: { service: { name: 'web', port: { number: 80 } } },
            },
          ],
        },
      })),
    },
  };
}
