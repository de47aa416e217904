import * as k8s from '@kubernetes/client-node';
import type { ControllerDeps } from '../kube/controller-deps.js';
import type * as acme from 'acme-client';
import type { ClusterIssuer, ClusterIssuerSpec } from '../api/v1alpha1.js';
import { isUnreachable, loadAcme, problemType, trustCaBundle } from './client.js';
import { generatePrivateKey } from './keys.js';
import { jitteredBackoff } from '../kube/backoff.js';
import { sameCondition, setCondition } from '../kube/conditions.js';
import { isNotFound } from '../kube/crd-client.js';
import { ResilientInformer, specChanges } from '../kube/informer.js';
import { describeError, Failure, reportFailure, type FailureReason } from '../errors.js';
import { WorkQueue } from '../kube/queue.js';
import type { Logger } from '../observability/logger.js';
import { canonical } from '../kube/canonical.js';
import { managedLabels } from '../kube/ownership.js';

type Issuer = ClusterIssuer & k8s.KubernetesObject;

/** A registered ACME account, ready for orders. */
export interface Account {
  issuer: string;
  client: acme.Client;
  directoryUrl: string;
  profile: string | undefined;
  preferredChain: string | undefined;
  spec: ClusterIssuerSpec;
}

export type AccountLookup =
  { ok: true; account: Account } | { ok: false; reason: FailureReason; message: string };

export interface IssuerDeps extends ControllerDeps {
  /** Called when an issuer becomes Ready, so its Certificates are looked at again. */
  onReady?: (issuer: string) => void;
}

/**
 * ClusterIssuer → a registered ACME account. The account key lives in a Secret in the
 * operator's namespace (created when missing, never logged). Registration is idempotent: a
 * newAccount with a known key returns the existing account, so every leader re-registers
 * once on start and then serves from memory until the issuer's spec changes.
 */
export class IssuerController {
  readonly informer: ResilientInformer<Issuer>;
  readonly queue: WorkQueue;
  private readonly core: k8s.CoreV1Api;
  private readonly log: Logger;
  private readonly accounts = new Map<string, { hash: string; account: Account }>();
  private readonly failures = new Map<string, number>();

  constructor(private readonly d: IssuerDeps) {
    this.log = d.log.child({ controller: 'issuer' });
    this.core = d.kubeConfig.makeApiClient(k8s.CoreV1Api);
    this.informer = new ResilientInformer<Issuer>({
      kubeConfig: d.kubeConfig,
      resource: 'clusterissuers',
      path: d.crds.watchPath('clusterissuers'),
      list: (options) => d.crds.list<Issuer>('clusterissuers', undefined, options),
      compression: d.config.kubeApiCompression,
      log: this.log,
      metrics: d.metrics,
    });
    this.queue = new WorkQueue({
      name: 'issuers',
      concurrency: 2,
      reconcile: (k) => this.reconcile(k),
      log: this.log,
      metrics: d.metrics,
    });
    // The controller's own status writes keep the generation. Requeueing on them looped as fast
    // as the API server answered whenever the status message differed between attempts (an API
    // error's audit id): failures are retried by the backoff the reconcile returns instead.
    const changed = specChanges();
    this.informer.on((ev, o) => {
      // Trust the issuer's CA at once: renewal-info lookups need no account.
      if (ev !== 'delete') trustCaBundle(o.spec.acme.server, o.spec.acme.caBundle);
      if (changed(ev, o)) this.queue.add(o.metadata?.name ?? '');
    });
  }

  get synced(): boolean {
    return this.informer.synced;
  }

  start(): Promise<void> {
    return this.informer.start();
  }

  async stop(): Promise<void> {
    await this.queue.shutdown();
    await this.informer.stop();
  }

  enqueueAll(): void {
    for (const i of this.informer.list()) this.queue.add(i.metadata?.name ?? '');
  }

  /** The issuer's ACME directory (ARI needs no account), if the issuer exists. */
  directoryUrl(name: string): string | undefined {
    return this.informer.get(name)?.spec.acme.server;
  }

  /** The issuer's account, or why there is none (for the Certificate's condition). */
  account(name: string): AccountLookup {
    const hit = this.accounts.get(name);
    const iss = this.informer.get(name);
    if (!iss)
      return { ok: false, reason: 'IssuerNotFound', message: `ClusterIssuer ${name} not found` };
    if (hit && hit.hash === canonical(iss.spec)) return { ok: true, account: hit.account };
    const ready = iss.status?.conditions?.find((c) => c.type === 'Ready');
    return {
      ok: false,
      reason: 'IssuerNotReady',
      message: `ClusterIssuer ${name} is not ready${ready ? `: ${ready.reason}: ${ready.message}` : ''}`,
    };
  }

  async reconcile(name: string): Promise<{ requeueAfterMs?: number } | void> {
    const iss = this.informer.get(name);
    if (!iss) {
      this.accounts.delete(name);
      this.failures.delete(name);
      this.d.metrics.issuerReady.remove({ name });
      return;
    }
    if (!this.d.isLeader()) return;
    if (this.d.config.dryRun) {
      const message = '--dry-run is on: no ACME account is registered';
      await this.writeStatus(iss, { status: 'False', reason: 'DryRun', message });
      return;
    }
    const hash = canonical(iss.spec);
    const known = this.accounts.get(name);
    if (known?.hash === hash) {
      await this.writeReady(iss, known.account);
      return;
    }
    try {
      const account = await this.register(iss);
      this.accounts.set(name, { hash, account });
      this.failures.delete(name);
      await this.writeReady(iss, account);
      this.d.metrics.issuerReady.set({ name }, 1);
      this.d.onReady?.(name);
    } catch (err) {
      this.accounts.delete(name);
      const n = (this.failures.get(name) ?? 0) + 1;
      this.failures.set(name, n);
      const { reason, message } = classifyIssuerError(err, !!iss.spec.acme.externalAccountBinding);
      reportFailure(this.log, this.d.metrics.failures, 'issuer', reason, message, { issuer: name });
      this.d.metrics.issuerReady.set({ name }, 0);
      await this.writeStatus(iss, { status: 'False', reason, message });
      await this.d.events.record(withKind(iss), 'Warning', reason, message);
      // Retry quickly at first (a CA restarting), then settle at 10 minutes.
      return { requeueAfterMs: jitteredBackoff(n, 5_000, 600_000) };
    }
  }

  private async register(iss: Issuer): Promise<Account> {
    const { acme: spec } = iss.spec;
    trustCaBundle(spec.server, spec.caBundle);
    const accountKey = await this.accountKey(iss);
    const eab = await this.eab(iss);
    const { Client } = await loadAcme();
    const client = new Client({
      directoryUrl: spec.server,
      accountKey,
      ...(eab ? { externalAccountBinding: eab } : {}),
      backoffAttempts: 3,
      backoffMin: 1000,
      backoffMax: 10_000,
    });
    await ensureAccount(client, spec.email);
    return {
      issuer: iss.metadata?.name ?? '',
      client,
      directoryUrl: spec.server,
      profile: spec.profile,
      preferredChain: spec.preferredChain,
      spec: iss.spec,
    };
  }

  /** Reads the account key; creates the Secret with a fresh ECDSA P-256 key when missing. */
  private async accountKey(iss: Issuer): Promise<string> {
    const ref = iss.spec.acme.privateKeySecretRef;
    const key = ref.key ?? 'tls.key';
    const namespace = this.d.config.namespace;
    try {
      const s = await this.core.readNamespacedSecret({ name: ref.name, namespace });
      const v = s.data?.[key];
      if (!v)
        throw new Failure(
          'AccountKeyInvalid',
          `Secret ${namespace}/${ref.name} has no key "${key}"`,
        );
      return Buffer.from(v, 'base64').toString('utf8');
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const pem = await generatePrivateKey('ECDSA-P256');
    await this.core.createNamespacedSecret({
      namespace,
      body: {
        metadata: {
          name: ref.name,
          namespace,
          labels: managedLabels(),
          annotations: { 'certroute.io/issuer': iss.metadata?.name ?? '' },
        },
        type: 'Opaque',
        data: { [key]: Buffer.from(pem).toString('base64') },
      },
    });
    this.log.info({ issuer: iss.metadata?.name, secret: ref.name }, 'created ACME account key');
    return pem;
  }

  private async eab(iss: Issuer): Promise<{ kid: string; hmacKey: string } | undefined> {
    const eab = iss.spec.acme.externalAccountBinding;
    if (!eab) return undefined;
    const namespace = this.d.config.namespace;
    const key = eab.keySecretRef.key ?? 'secret';
    let data: Record<string, string> | undefined;
    try {
      data = (await this.core.readNamespacedSecret({ name: eab.keySecretRef.name, namespace }))
        .data;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const v = data?.[key];
    if (!v)
      throw new Failure(
        'ExternalAccountBindingSecretMissing',
        `EAB key: Secret ${namespace}/${eab.keySecretRef.name} with key "${key}" not found`,
      );
    return { kid: eab.keyID, hmacKey: Buffer.from(v, 'base64').toString('utf8').trim() };
  }

  private async writeReady(iss: Issuer, account: Account): Promise<void> {
    const uri = account.client.getAccountUrl();
    await this.writeStatus(
      iss,
      {
        status: 'True',
        reason: 'Registered',
        message: `ACME account registered with ${account.directoryUrl}`,
      },
      uri,
    );
    this.d.metrics.issuerReady.set({ name: account.issuer }, 1);
  }

  private async writeStatus(
    iss: Issuer,
    c: { status: 'True' | 'False'; reason: string; message: string },
    uri?: string,
  ): Promise<void> {
    const cond = { type: 'Ready', ...c, observedGeneration: iss.metadata?.generation };
    const acmeStatus = uri
      ? { uri, ...(iss.spec.acme.email ? { lastRegisteredEmail: iss.spec.acme.email } : {}) }
      : iss.status?.acme;
    if (
      sameCondition(iss.status?.conditions, cond) &&
      canonical(acmeStatus) === canonical(iss.status?.acme)
    )
      return;
    await this.d.crds.patchStatus('clusterissuers', undefined, iss.metadata?.name ?? '', {
      conditions: setCondition(iss.status?.conditions, cond),
      observedGeneration: iss.metadata?.generation,
      ...(acmeStatus ? { acme: acmeStatus } : {}),
    });
  }
}

/**
 * Finds the key's account (onlyReturnExisting, then a POST-as-GET) or creates it. Creating a
 * ClusterIssuer is agreeing to its CA's terms of service, as with cert-manager. A changed
 * email is sent as an account update.
 */
async function ensureAccount(client: acme.Client, email: string | undefined): Promise<void> {
  const contact = email ? [`mailto:${email}`] : undefined;
  let existing: { contact?: string[] } | undefined;
  try {
    existing = await client.createAccount({ onlyReturnExisting: true });
  } catch (err) {
    if (problemType(err) !== 'accountDoesNotExist') throw err;
  }
  if (!existing) {
    await client.createAccount({ termsOfServiceAgreed: true, ...(contact ? { contact } : {}) });
    return;
  }
  if (contact && canonical(existing.contact ?? []) !== canonical(contact))
    await client.updateAccount({ contact });
}

function withKind(iss: Issuer) {
  return { apiVersion: iss.apiVersion, kind: 'ClusterIssuer', metadata: iss.metadata };
}

/** A precise Ready reason for a failed registration. */
export function classifyIssuerError(
  err: unknown,
  hasEab: boolean,
): { reason: FailureReason; message: string } {
  const message = describeError(err);
  if (err instanceof Failure) return { reason: err.reason, message };
  const type = problemType(err);
  if (type === 'externalAccountRequired')
    return { reason: 'ExternalAccountBindingRequired', message };
  if (
    hasEab &&
    (type === 'unauthorized' || type === 'malformed') &&
    /extern|eab|bind|hmac|kid|key/i.test(message)
  )
    return { reason: 'ExternalAccountBindingInvalid', message };
  if (type === 'invalidContact' || type === 'unsupportedContact')
    return { reason: 'InvalidEmail', message };
  if (type === 'userActionRequired') return { reason: 'TermsOfServiceNotAgreed', message };
  if (!type && isUnreachable(err))
    return {
      reason: 'CAUnreachable',
      message: `no answer from the ACME server (${message}); check the URL, network policy and caBundle`,
    };
  return { reason: 'RegistrationFailed', message };
}
