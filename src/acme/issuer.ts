import * as k8s from '@kubernetes/client-node';
import type { ControllerDeps } from '../kube/controller-deps.js';
import type * as acme from 'acme-client';
import {
  issuerKinds,
  type AcmeIssuerSpec,
  type ClusterIssuer,
  type ClusterIssuerSpec,
  type Issuer as NamespacedIssuer,
  type IssuerKind,
} from '../api/v1alpha1.js';
import { CaTrust } from './ca-trust.js';
import { isUnreachable, loadAcme, problemType } from './client.js';
import {
  describeIssuer,
  issuerKeyString,
  issuerLabels,
  keyOfIssuerObject,
  parseIssuerKey,
  secretNamespace,
  type IssuerKey,
} from './issuer-ref.js';
import { generatePrivateKey } from './keys.js';
import {
  checkLocal,
  localSignerOf,
  readCa,
  type CaLookup,
  type LocalSigner,
} from './local-issuer.js';
import { jitteredBackoff } from '../kube/backoff.js';
import { sameCondition, setCondition } from '../kube/conditions.js';
import { isNotFound } from '../kube/crd-client.js';
import { ResilientInformer, specChanges } from '../kube/informer.js';
import { scopedInformer, type Informer } from '../kube/scoped-informer.js';
import { describeError, Failure, reportFailure, type FailureReason } from '../errors.js';
import { WorkQueue } from '../kube/queue.js';
import type { Logger } from '../observability/logger.js';
import { canonical } from '../kube/canonical.js';
import { managedLabels } from '../kube/ownership.js';
import { readSecretKey } from '../kube/secrets.js';

/** A ClusterIssuer or an Issuer: the same spec, told apart by kind (and namespace). */
export type IssuerObject = (ClusterIssuer | NamespacedIssuer) & k8s.KubernetesObject;

/** A registered ACME account, ready for orders. */
export interface Account {
  issuer: IssuerKey;
  client: acme.Client;
  directoryUrl: string;
  profile: string | undefined;
  preferredChain: string | undefined;
  spec: ClusterIssuerSpec & { acme: AcmeIssuerSpec };
}

/** A CA or SelfSigned issuer's signer, once the issuer is Ready (see local-issuer.ts). */
export type SignerLookup =
  { ok: true; signer: LocalSigner } | { ok: false; reason: FailureReason; message: string };

export type AccountLookup =
  { ok: true; account: Account } | { ok: false; reason: FailureReason; message: string };

export interface IssuerDeps extends ControllerDeps {
  /** Called when an issuer becomes Ready, so its Certificates are looked at again. */
  onReady?: (issuer: IssuerKey) => void;
}

const plurals = { ClusterIssuer: 'clusterissuers', Issuer: 'issuers' } as const;

/**
 * ClusterIssuers and namespaced Issuers → registered ACME accounts: one core, two informers,
 * everything keyed by {kind, namespace, name}. A ClusterIssuer's account key and EAB Secrets
 * live in the operator's namespace, an Issuer's in its own (issuer-ref.ts decides). The account
 * key Secret is created when missing, never logged. Registration is idempotent: a newAccount
 * with a known key returns the existing account, so every leader re-registers once on start
 * and then serves from memory until the issuer's spec changes.
 */
export class IssuerController {
  readonly informers: Record<IssuerKind, Informer<IssuerObject>>;
  readonly queue: WorkQueue;
  private readonly core: k8s.CoreV1Api;
  private readonly log: Logger;
  private readonly accounts = new Map<string, { hash: string; account: Account }>();
  private readonly failures = new Map<string, number>();
  /** CA and SelfSigned issuers found Ready, with the spec hash they were checked at. */
  private readonly locals = new Map<string, string>();
  private readonly trust: CaTrust;

  constructor(
    private readonly d: IssuerDeps,
    trust?: CaTrust,
  ) {
    this.log = d.log.child({ controller: 'issuer' });
    this.core = d.kubeConfig.makeApiClient(k8s.CoreV1Api);
    this.trust = trust ?? new CaTrust();
    const informer = (kind: IssuerKind, ns?: string) =>
      new ResilientInformer<IssuerObject>({
        kubeConfig: d.kubeConfig,
        resource: ns ? `${plurals[kind]}/${ns}` : plurals[kind],
        path: d.crds.watchPath(plurals[kind], ns),
        list: (options) => d.crds.list<IssuerObject>(plurals[kind], ns, options),
        compression: d.config.kubeApiCompression,
        log: this.log,
        metrics: d.metrics,
      });
    // Issuers are namespaced: with --watch-namespaces, one informer per watched namespace and
    // none cluster-wide (the chart grants them in those namespaces only).
    this.informers = {
      ClusterIssuer: informer('ClusterIssuer'),
      Issuer: scopedInformer(d.config.watchNamespaces, (ns) => informer('Issuer', ns)),
    };
    this.queue = new WorkQueue({
      name: 'issuers',
      concurrency: 2,
      reconcile: (k) => this.reconcileKey(k),
      log: this.log,
      metrics: d.metrics,
    });
    // The controller's own status writes keep the generation. Requeueing on them looped as fast
    // as the API server answered whenever the status message differed between attempts (an API
    // error's audit id): failures are retried by the backoff the reconcile returns instead.
    for (const kind of issuerKinds) {
      const changed = specChanges();
      this.informers[kind].on((ev, o) => {
        const key = keyOfIssuerObject(kind, o.metadata);
        // Trust the issuer's CA at once: renewal-info lookups need no account.
        this.trust.set(
          issuerKeyString(key),
          ev === 'delete' || !o.spec.acme
            ? undefined
            : {
                cluster: kind === 'ClusterIssuer',
                server: o.spec.acme.server,
                caBundle: o.spec.acme.caBundle,
              },
        );
        if (changed(ev, o)) this.queue.add(issuerKeyString(key));
      });
    }
  }

  get synced(): boolean {
    return this.informers.ClusterIssuer.synced && this.informers.Issuer.synced;
  }

  async start(): Promise<void> {
    await Promise.all(issuerKinds.map((k) => this.informers[k].start()));
  }

  async stop(): Promise<void> {
    await this.queue.shutdown();
    await Promise.all(issuerKinds.map((k) => this.informers[k].stop()));
  }

  enqueueAll(): void {
    for (const kind of issuerKinds)
      for (const i of this.informers[kind].list())
        this.queue.add(issuerKeyString(keyOfIssuerObject(kind, i.metadata)));
  }

  /** The issuer object, if it exists (an Issuer only in its own namespace). */
  get(key: IssuerKey): IssuerObject | undefined {
    return key.kind === 'Issuer'
      ? this.informers.Issuer.get(key.name, key.namespace)
      : this.informers.ClusterIssuer.get(key.name);
  }

  /** The issuer's ACME directory (ARI needs no account), if the issuer exists. */
  directoryUrl(key: IssuerKey): string | undefined {
    return this.get(key)?.spec.acme?.server;
  }

  /** A CA or SelfSigned issuer (undefined: none, or ACME): its signer, or why not Ready. */
  signer(key: IssuerKey): SignerLookup | undefined {
    const iss = this.get(key);
    const signer = iss && localSignerOf(key, iss.spec, this.d.config.namespace);
    if (!iss || !signer) return undefined;
    if (this.locals.get(issuerKeyString(key)) === canonical(iss.spec)) return { ok: true, signer };
    const ready = iss.status?.conditions?.find((c) => c.type === 'Ready');
    return {
      ok: false,
      reason: 'IssuerNotReady',
      message: `${describeIssuer(key)} is not ready${ready ? `: ${ready.reason}: ${ready.message}` : ''}`,
    };
  }

  /** A CA issuer's key pair, read now from its Secret and checked. */
  readCa(signer: Extract<LocalSigner, { kind: 'ca' }>): Promise<CaLookup> {
    return readCa(this.core, signer, new Date());
  }

  /** The issuer's account, or why there is none (for the Certificate's condition). */
  account(key: IssuerKey): AccountLookup {
    const k = issuerKeyString(key);
    const hit = this.accounts.get(k);
    const iss = this.get(key);
    const what = describeIssuer(key);
    if (!iss) {
      const hint =
        key.kind === 'Issuer'
          ? ` (an Issuer is only usable from its own namespace; for a ClusterIssuer leave issuerRef.kind unset)`
          : '';
      return { ok: false, reason: 'IssuerNotFound', message: `${what} not found${hint}` };
    }
    if (hit && hit.hash === canonical(iss.spec)) return { ok: true, account: hit.account };
    const ready = iss.status?.conditions?.find((c) => c.type === 'Ready');
    return {
      ok: false,
      reason: 'IssuerNotReady',
      message: `${what} is not ready${ready ? `: ${ready.reason}: ${ready.message}` : ''}`,
    };
  }

  /** A queue key (`ClusterIssuer/name`, `Issuer/namespace/name`). */
  reconcileKey(k: string): Promise<{ requeueAfterMs?: number } | void> {
    const key = parseIssuerKey(k);
    return key ? this.reconcile(key) : Promise.resolve();
  }

  async reconcile(key: IssuerKey): Promise<{ requeueAfterMs?: number } | void> {
    const k = issuerKeyString(key);
    const iss = this.get(key);
    if (!iss) {
      this.accounts.delete(k);
      this.failures.delete(k);
      this.locals.delete(k);
      this.d.metrics.issuerReady.remove(issuerLabels(key));
      return;
    }
    if (!this.d.isLeader() || !this.watched(key)) return;
    if (this.d.config.dryRun) {
      const message = '--dry-run is on: no ACME account is registered';
      await this.writeStatus(key, iss, { status: 'False', reason: 'DryRun', message });
      return;
    }
    const hash = canonical(iss.spec);
    const local = localSignerOf(key, iss.spec, this.d.config.namespace);
    if (local) return this.reconcileLocal(key, iss, local, hash);
    const known = this.accounts.get(k);
    if (known?.hash === hash) {
      await this.writeReady(key, iss, known.account);
      return;
    }
    try {
      const account = await this.register(key, iss);
      this.accounts.set(k, { hash, account });
      this.failures.delete(k);
      await this.writeReady(key, iss, account);
      this.d.onReady?.(key);
    } catch (err) {
      this.accounts.delete(k);
      const n = (this.failures.get(k) ?? 0) + 1;
      this.failures.set(k, n);
      const { reason, message } = classifyIssuerError(err, !!iss.spec.acme?.externalAccountBinding);
      return this.notReady(key, iss, reason, message, n);
    }
  }

  private async notReady(
    key: IssuerKey,
    iss: IssuerObject,
    reason: FailureReason,
    message: string,
    n: number,
  ): Promise<{ requeueAfterMs: number }> {
    reportFailure(this.log, this.d.metrics.failures, 'issuer', reason, message, {
      issuer: describeIssuer(key),
    });
    this.d.metrics.issuerReady.set(issuerLabels(key), 0);
    await this.writeStatus(key, iss, { status: 'False', reason, message });
    await this.d.events.record(eventTarget(key, iss), 'Warning', reason, message);
    // Retry quickly at first (a CA restarting), then settle at 10 minutes.
    return { requeueAfterMs: jitteredBackoff(n, 5_000, 600_000) };
  }

  /**
   * A CA or SelfSigned issuer: Ready once its CA Secret checks out (SelfSigned: at once). The
   * CA is checked again every 10 minutes: its Secret is not watched.
   */
  private async reconcileLocal(
    key: IssuerKey,
    iss: IssuerObject,
    signer: LocalSigner,
    hash: string,
  ): Promise<{ requeueAfterMs: number }> {
    const k = issuerKeyString(key);
    this.accounts.delete(k);
    const r = await checkLocal(this.core, signer, new Date());
    if (!r.ok) {
      this.locals.delete(k);
      const n = (this.failures.get(k) ?? 0) + 1;
      this.failures.set(k, n);
      return this.notReady(key, iss, r.reason, r.message, n);
    }
    const was = this.locals.get(k);
    this.locals.set(k, hash);
    this.failures.delete(k);
    await this.writeStatus(key, iss, { status: 'True', reason: r.reason, message: r.message });
    this.d.metrics.issuerReady.set(issuerLabels(key), 1);
    if (was !== hash) this.d.onReady?.(key);
    return { requeueAfterMs: 600_000 };
  }

  /** --watch-namespaces limits Issuers as it limits Certificates. */
  private watched(key: IssuerKey): boolean {
    const w = this.d.config.watchNamespaces;
    return key.kind === 'ClusterIssuer' || w.length === 0 || w.includes(key.namespace);
  }

  private async register(key: IssuerKey, iss: IssuerObject): Promise<Account> {
    const { acme: spec } = iss.spec;
    if (!spec) throw new Error('not an ACME issuer');
    this.trust.set(issuerKeyString(key), {
      cluster: key.kind === 'ClusterIssuer',
      server: spec.server,
      caBundle: spec.caBundle,
    });
    const accountKey = await this.accountKey(key, iss);
    const eab = await this.eab(key, iss);
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
      issuer: key,
      client,
      directoryUrl: spec.server,
      profile: spec.profile,
      preferredChain: spec.preferredChain,
      spec: { ...iss.spec, acme: spec },
    };
  }

  /** Reads the account key; creates the Secret with a fresh ECDSA P-256 key when missing. */
  private async accountKey(key: IssuerKey, iss: IssuerObject): Promise<string> {
    const ref = (iss.spec.acme as AcmeIssuerSpec).privateKeySecretRef;
    const field = ref.key ?? 'tls.key';
    const namespace = secretNamespace(key, this.d.config.namespace);
    try {
      const s = await this.core.readNamespacedSecret({ name: ref.name, namespace });
      const v = s.data?.[field];
      if (!v)
        throw new Failure(
          'AccountKeyInvalid',
          `Secret ${namespace}/${ref.name} has no key "${field}"`,
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
          annotations: {
            'certroute.io/issuer': key.name,
            'certroute.io/issuer-kind': key.kind,
          },
        },
        type: 'Opaque',
        data: { [field]: Buffer.from(pem).toString('base64') },
      },
    });
    this.log.info(
      { issuer: describeIssuer(key), secret: `${namespace}/${ref.name}` },
      'created ACME account key',
    );
    return pem;
  }

  private async eab(
    key: IssuerKey,
    iss: IssuerObject,
  ): Promise<{ kid: string; hmacKey: string } | undefined> {
    const eab = iss.spec.acme?.externalAccountBinding;
    if (!eab) return undefined;
    const namespace = secretNamespace(key, this.d.config.namespace);
    const field = eab.keySecretRef.key ?? 'secret';
    const v = await readSecretKey(this.core, namespace, eab.keySecretRef.name, field);
    if (!v)
      throw new Failure(
        'ExternalAccountBindingSecretMissing',
        `EAB key: Secret ${namespace}/${eab.keySecretRef.name} with key "${field}" not found`,
      );
    return { kid: eab.keyID, hmacKey: v.trim() };
  }

  private async writeReady(key: IssuerKey, iss: IssuerObject, account: Account): Promise<void> {
    const uri = account.client.getAccountUrl();
    await this.writeStatus(
      key,
      iss,
      {
        status: 'True',
        reason: 'Registered',
        message: `ACME account registered with ${account.directoryUrl}`,
      },
      uri,
    );
    this.d.metrics.issuerReady.set(issuerLabels(key), 1);
  }

  private async writeStatus(
    key: IssuerKey,
    iss: IssuerObject,
    c: { status: 'True' | 'False'; reason: string; message: string },
    uri?: string,
  ): Promise<void> {
    const cond = { type: 'Ready', ...c, observedGeneration: iss.metadata?.generation };
    const acmeStatus = uri
      ? { uri, ...(iss.spec.acme?.email ? { lastRegisteredEmail: iss.spec.acme.email } : {}) }
      : iss.status?.acme;
    if (
      sameCondition(iss.status?.conditions, cond) &&
      canonical(acmeStatus) === canonical(iss.status?.acme)
    )
      return;
    await this.d.crds.patchStatus(
      plurals[key.kind],
      key.kind === 'Issuer' ? key.namespace : undefined,
      key.name,
      {
        conditions: setCondition(iss.status?.conditions, cond),
        observedGeneration: iss.metadata?.generation,
        ...(acmeStatus ? { acme: acmeStatus } : {}),
      },
    );
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

/** An Issuer's Events go to its own namespace (its team sees them), a ClusterIssuer's to default. */
function eventTarget(key: IssuerKey, iss: IssuerObject) {
  return { apiVersion: iss.apiVersion, kind: key.kind, metadata: iss.metadata };
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
