import * as k8s from '@kubernetes/client-node';
import { isNotFound } from '../kube/crd-client.js';
import { managedLabels } from '../kube/ownership.js';
import { generatePrivateKey } from '../acme/keys.js';
import { b64, nextKeyLabel } from './stores/secret.js';
import { keyOf, writesSecret, type Cert } from './types.js';

const orderAnnotation = 'certroute.io/order';

/**
 * The private key for the order in flight, kept in a Secret (`<name>-certroute-next-key`) until
 * the certificate is stored, so a crash between finalize and download does not orphan the
 * order. ACM only: the key never enters the cluster; a restart between finalize and download
 * loses it, and the order is replaced (KeyMismatch): the price of that promise.
 */
export class PendingKeys {
  private readonly core: k8s.CoreV1Api;
  /** Pending private keys of ACM-only orders, which never go into a Secret. */
  private readonly memKeys = new Map<string, { order: string; pem: string }>();

  constructor(kubeConfig: k8s.KubeConfig) {
    this.core = kubeConfig.makeApiClient(k8s.CoreV1Api);
  }

  /** The key of this order: the one stored for it (finalized before a crash), else a new one. */
  async get(cert: Cert): Promise<string> {
    const { namespace = '' } = cert.metadata ?? {};
    const name = nextKeyName(cert);
    const orderUrl = cert.status?.order?.url ?? '';
    if (!writesSecret(cert)) return this.memoryKey(cert, orderUrl);
    const existing = await this.read(namespace, name);
    if (existing) {
      if (existing.metadata?.labels?.[nextKeyLabel] !== 'true')
        throw new Error(`Secret ${namespace}/${name} exists and is not certroute's`);
      // The key of this very order (finalized before a crash) is reused; any other is stale.
      const pem = keyOfOrder(existing, orderUrl);
      if (pem) return pem;
      await this.delete(cert);
    }
    const pem = await generatePrivateKey(cert.spec.privateKey?.algorithm ?? 'ECDSA-P256');
    await this.core.createNamespacedSecret({
      namespace,
      body: nextKeySecret(cert, name, pem, orderUrl),
    });
    return pem;
  }

  /** Forgets an in-memory key (a failed order's key is never reused). */
  forgetMemory(cert: Cert): void {
    this.memKeys.delete(keyOf(cert));
  }

  /** The key is stored with its certificate: its copy goes. */
  async delete(cert: Cert): Promise<void> {
    this.memKeys.delete(keyOf(cert));
    if (!writesSecret(cert)) return;
    try {
      await this.core.deleteNamespacedSecret({
        name: nextKeyName(cert),
        namespace: cert.metadata?.namespace ?? '',
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  private async memoryKey(cert: Cert, orderUrl: string): Promise<string> {
    const k = this.memKeys.get(keyOf(cert));
    if (k?.order === orderUrl) return k.pem;
    const pem = await generatePrivateKey(cert.spec.privateKey?.algorithm ?? 'ECDSA-P256');
    this.memKeys.set(keyOf(cert), { order: orderUrl, pem });
    return pem;
  }

  private async read(namespace: string, name: string): Promise<k8s.V1Secret | undefined> {
    try {
      return await this.core.readNamespacedSecret({ name, namespace });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }
}

function nextKeyName(cert: Cert): string {
  return `${cert.metadata?.name ?? ''}-certroute-next-key`.slice(0, 253);
}

function keyOfOrder(s: k8s.V1Secret, orderUrl: string): string | undefined {
  if (s.metadata?.annotations?.[orderAnnotation] !== orderUrl) return undefined;
  const pem = Buffer.from(s.data?.['tls.key'] ?? '', 'base64').toString('utf8');
  return pem || undefined;
}

function nextKeySecret(cert: Cert, name: string, pem: string, orderUrl: string): k8s.V1Secret {
  const { namespace = '', name: certName = '', uid = '' } = cert.metadata ?? {};
  return {
    metadata: {
      name,
      namespace,
      labels: { ...managedLabels(), [nextKeyLabel]: 'true' },
      annotations: { [orderAnnotation]: orderUrl },
      ownerReferences: [
        { apiVersion: 'certroute.io/v1alpha1', kind: 'Certificate', name: certName, uid },
      ],
    },
    type: 'Opaque',
    data: { 'tls.key': b64(pem) },
  };
}
