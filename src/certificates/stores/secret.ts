import { X509Certificate } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import type { Config } from '../../config/index.js';
import { Fresh } from '../../kube/fresh.js';
import { isNotFound } from '../../kube/crd-client.js';
import { ResilientInformer } from '../../kube/informer.js';
import { scopedInformer, type Informer } from '../../kube/scoped-informer.js';
import { isManaged, managedLabels, managedSelector } from '../../kube/ownership.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import type { CertificateStore, Delivery, DeliveryExtra } from '../store.js';
import { outputSecretKeys, outputsOf, readKeystorePassword } from './outputs.js';
import type { Cert, Current, Status } from '../types.js';
import {
  certificateOfSecret,
  parsedLeaf,
  pendingLeaf,
  splitChain,
  type CachedCertificateSlots,
} from '../x509.js';

/** Annotations on the TLS Secrets certroute writes. */
export const certificateNameAnnotation = 'certroute.io/certificate-name';
export const issuerAnnotation = 'certroute.io/issuer-name';
/** Set only for a namespaced Issuer (absent: a ClusterIssuer). */
export const issuerKindAnnotation = 'certroute.io/issuer-kind';
/** On the Secret that keeps the private key of an order in flight (see PendingKeys). */
export const nextKeyLabel = 'certroute.io/next-private-key';

export interface SecretStoreDeps {
  kubeConfig: k8s.KubeConfig;
  config: Config;
  log: Logger;
  metrics: Metrics;
}

/**
 * The kubernetes.io/tls Secret at spec.secretName: read from a cache of the Secrets certroute
 * labelled (unrelated Secrets never enter memory), written by create or replace, never over a
 * Secret that is not certroute's.
 */
export class SecretStore implements CertificateStore {
  readonly secrets: Informer<k8s.V1Secret>;
  private readonly core: k8s.CoreV1Api;
  /** Secrets as this process last wrote them (see Fresh). */
  private readonly fresh = new Fresh<k8s.V1Secret>();

  constructor(d: SecretStoreDeps) {
    this.core = d.kubeConfig.makeApiClient(k8s.CoreV1Api);
    // With --watch-namespaces, one informer per watched namespace: no Secret outside them is
    // listed, and the chart's RBAC grants Secrets in those namespaces only.
    this.secrets = scopedInformer(
      d.config.watchNamespaces,
      (ns) =>
        new ResilientInformer<k8s.V1Secret>({
          kubeConfig: d.kubeConfig,
          resource: ns ? `secrets/${ns}` : 'secrets',
          path: ns ? `/api/v1/namespaces/${ns}/secrets` : '/api/v1/secrets',
          list: (options) =>
            ns
              ? this.core.listNamespacedSecret({ namespace: ns, ...options })
              : this.core.listSecretForAllNamespaces(options),
          labelSelector: managedSelector,
          // The cache keeps what reconciles read: metadata, type and tls.crt. Private keys are
          // read by name when needed (next keys) and never held for thousands of Secrets.
          transform: cachedSecret,
          compression: d.config.kubeApiCompression,
          log: d.log,
          metrics: d.metrics,
        }),
    );
  }

  /** The Secret's data: chain, key, ca.crt when known, and the outputs the spec asks for. */
  private async dataOf(cert: Cert, chain: string, key: string, extra: DeliveryExtra | undefined) {
    const blocks = splitChain(chain);
    const last = blocks.at(-1);
    // A CA or SelfSigned issuer says its CA; from ACME, the chain's root if it sent one.
    const ca = extra?.ca ?? (blocks.length > 1 && last && isSelfSigned(last) ? last : undefined);
    const password = cert.spec.keystores?.pkcs12?.create
      ? await readKeystorePassword(this.core, cert)
      : undefined;
    const outputs = outputsOf(cert, chain, key, blocks, ca, password);
    const data: Record<string, string> = {
      'tls.crt': b64(chain),
      'tls.key': b64(key),
      ...(ca ? { 'ca.crt': b64(ca) } : {}),
      ...outputs.data,
    };
    return { data, warnings: outputs.warnings };
  }

  /** The target Secret: absent, someone else's, or ours with its parsed certificate. */
  async current(cert: Cert): Promise<Current> {
    const namespace = cert.metadata?.namespace ?? '';
    const name = cert.spec.secretName ?? '';
    let secret = this.fresh.pick(`${namespace}/${name}`, this.secrets.get(name, namespace));
    if (!secret) {
      try {
        secret = await this.core.readNamespacedSecret({ name, namespace });
      } catch (err) {
        if (isNotFound(err)) return { kind: 'none' };
        throw err;
      }
    }
    return classifySecret(secret, cert.metadata?.name ?? '');
  }

  async write(
    cert: Cert,
    _status: Status,
    chain: string,
    key: string,
    extra?: DeliveryExtra,
  ): Promise<Delivery> {
    const namespace = cert.metadata?.namespace ?? '';
    const name = cert.spec.secretName ?? '';
    const { data, warnings } = await this.dataOf(cert, chain, key, extra);
    const labels = managedLabels();
    const annotations = {
      [certificateNameAnnotation]: cert.metadata?.name ?? '',
      [issuerAnnotation]: cert.spec.issuerRef.name,
      ...(cert.spec.issuerRef.kind === 'Issuer' ? { [issuerKindAnnotation]: 'Issuer' } : {}),
    };
    const cacheKey = `${namespace}/${name}`;
    try {
      const created = await this.core.createNamespacedSecret({
        namespace,
        body: {
          metadata: { name, namespace, labels, annotations },
          type: 'kubernetes.io/tls',
          data,
        },
      });
      this.fresh.remember(cacheKey, created);
      return { ok: true, warnings };
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
    }
    const existing = await this.core.readNamespacedSecret({ name, namespace });
    if (!isManaged(existing))
      throw new Error(`Secret ${namespace}/${name} appeared and is not managed by certroute`);
    const replaced = await this.core.replaceNamespacedSecret({
      name,
      namespace,
      body: {
        ...existing,
        metadata: {
          ...existing.metadata,
          labels: { ...existing.metadata?.labels, ...labels },
          annotations: { ...existing.metadata?.annotations, ...annotations },
        },
        type: 'kubernetes.io/tls',
        data: mergeSecretData(existing.data, data),
      },
    });
    this.fresh.remember(cacheKey, replaced);
    return { ok: true, warnings };
  }
}

/** The keys certroute owns in a TLS Secret; every other key is the user's (or another tool's). */
export const ownedSecretKeys: readonly string[] = [
  'tls.crt',
  'tls.key',
  'ca.crt',
  ...outputSecretKeys,
];

/**
 * A renewal's data: certroute's keys replaced (and dropped when it no longer writes one, such
 * as a `ca.crt` from an older chain), every other key kept as it was.
 */
export function mergeSecretData(
  existing: Record<string, string> | undefined,
  ours: Record<string, string>,
): Record<string, string> {
  const kept = Object.entries(existing ?? {}).filter(([k]) => !ownedSecretKeys.includes(k));
  return { ...Object.fromEntries(kept), ...ours };
}

/**
 * A managed Secret as cached: metadata and type, no data at all (no private key, no CA bundle).
 * The leaf of tls.crt, all that reconciles and the expiry monitor read, waits in a slot of its
 * own until the first reader parses it (not here: listing must stay fast for readiness), and
 * only the parsed result is kept after that. Writes always start from a fresh GET.
 */
export function cachedSecret(s: k8s.V1Secret): k8s.V1Secret {
  const crt = s.data?.['tls.crt'];
  const [leaf] = crt ? splitChain(Buffer.from(crt, 'base64').toString('utf8')) : [];
  const slots: CachedCertificateSlots = {
    [pendingLeaf]: leaf ? Buffer.from(leaf).toString('base64') : crt,
    [parsedLeaf]: crt === undefined ? null : undefined,
  };
  return { ...s, data: {}, ...slots };
}

/** Whose is the Secret at a Certificate's secretName, and what does it hold? */
export function classifySecret(secret: k8s.V1Secret, certificate: string): Current {
  const { namespace = '', name = '', labels = {}, annotations = {} } = secret.metadata ?? {};
  const owner = annotations[certificateNameAnnotation];
  // Ours: labelled by certroute, a TLS Secret (not an account or next key), and either
  // naming this Certificate or naming none (a Secret handed over by labelling it).
  if (!isManaged(secret) || labels[nextKeyLabel] === 'true' || secret.type !== 'kubernetes.io/tls')
    return {
      kind: 'foreign',
      reason: 'SecretNotManaged',
      message: `Secret ${namespace}/${name} exists and is not managed by certroute; it is left untouched (delete it or choose another secretName)`,
    };
  if (owner && owner !== certificate)
    return {
      kind: 'foreign',
      reason: 'SecretOwnedByOtherCertificate',
      message: `Secret ${namespace}/${name} belongs to Certificate ${owner}; two Certificates cannot share one Secret`,
    };
  return { kind: 'managed', secret, info: certificateOfSecret(secret) };
}

export function b64(s: string): string {
  return Buffer.from(s).toString('base64');
}

function isSelfSigned(pem: string): boolean {
  try {
    const c = new X509Certificate(pem);
    return c.checkIssued(c) && c.verify(c.publicKey);
  } catch {
    return false;
  }
}
