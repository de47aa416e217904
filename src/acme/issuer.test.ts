// The issuer controller against an in-memory API server (account key and EAB Secrets) and an
// ACME directory nobody answers: every path that needs no CA, and the way a failure is reported.
import type * as k8s from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KubeApiDouble } from '../../test/doubles/kube-api.js';
import type { ClusterIssuer } from '../api/v1alpha1.js';
import { parseConfig } from '../config/index.js';
import type { CrdClient } from '../kube/crd-client.js';
import type { EventRecorder } from '../kube/events.js';
import { silentLogger } from '../observability/logger.js';
import { createMetrics } from '../observability/metrics.js';
import { classifyIssuerError, IssuerController, type IssuerObject } from './issuer.js';
import type { IssuerKey } from './issuer-ref.js';

type Issuer = IssuerObject;
const secrets = '/api/v1/namespaces/certroute/secrets';
const teamSecrets = '/api/v1/namespaces/team-a/secrets';
const le: IssuerKey = { kind: 'ClusterIssuer', namespace: '', name: 'le' };
const teamLe: IssuerKey = { kind: 'Issuer', namespace: 'team-a', name: 'le' };
let api: KubeApiDouble;
let kubeConfig: k8s.KubeConfig;

beforeEach(async () => {
  api = new KubeApiDouble();
  kubeConfig = await api.start();
});
afterEach(() => api.stop());

function issuer(
  acme: Partial<ClusterIssuer['spec']['acme']> = {},
  status?: Issuer['status'],
): Issuer {
  return {
    apiVersion: 'certroute.io/v1alpha1',
    kind: 'ClusterIssuer',
    metadata: { name: 'le', generation: 1 },
    spec: {
      acme: {
        // Nothing listens here: registration fails as against a CA that is down.
        server: 'http://127.0.0.1:1/directory',
        privateKeySecretRef: { name: 'le-account' },
        solvers: [{ http01: {} }],
        ...acme,
      },
    },
    ...(status ? { status } : {}),
  };
}

/** The same issuer as a namespaced Issuer in team-a. */
function namespaced(iss: Issuer): Issuer {
  return { ...iss, kind: 'Issuer', metadata: { ...iss.metadata, namespace: 'team-a' } };
}

function setup(iss: Issuer | undefined, flags: string[] = [], nsIssuer?: Issuer) {
  const statuses: unknown[] = [];
  const patched: [string, string | undefined, string][] = [];
  const events: [string, string][] = [];
  const metrics = createMetrics();
  const ctrl = new IssuerController({
    kubeConfig,
    crds: {
      watchPath: () => '/apis/certroute.io/v1alpha1/clusterissuers',
      list: () => Promise.resolve({ items: [], metadata: {} }),
      patchStatus: (p: string, ns: string | undefined, name: string, s: unknown) => {
        patched.push([p, ns, name]);
        statuses.push(s);
        return Promise.resolve();
      },
    } as unknown as CrdClient,
    config: parseConfig(['--namespace=certroute', ...flags], {}),
    log: silentLogger,
    metrics,
    events: {
      record: (_t: unknown, _type: string, reason: string, message: string) => {
        events.push([reason, message]);
        return Promise.resolve();
      },
    } as unknown as EventRecorder,
    isLeader: () => true,
  });
  vi.spyOn(ctrl.informers.ClusterIssuer, 'get').mockImplementation((name) =>
    iss && name === iss.metadata.name ? iss : undefined,
  );
  // As the real cache: an Issuer is found only under its own namespace.
  vi.spyOn(ctrl.informers.Issuer, 'get').mockImplementation((name, namespace) =>
    nsIssuer && name === nsIssuer.metadata.name && namespace === nsIssuer.metadata.namespace
      ? nsIssuer
      : undefined,
  );
  const ready = () =>
    (statuses.at(-1) as { conditions?: { reason: string; message: string }[] } | undefined)
      ?.conditions?.[0];
  return { ctrl, statuses, patched, events, metrics, ready };
}

describe('IssuerController', () => {
  it.each<[string, Issuer | undefined, string, RegExp]>([
    ['no such ClusterIssuer', undefined, 'IssuerNotFound', /ClusterIssuer le not found/],
    ['not registered yet', issuer(), 'IssuerNotReady', /^ClusterIssuer le is not ready$/],
    [
      'registration failed',
      issuer(
        {},
        {
          conditions: [
            {
              type: 'Ready',
              status: 'False',
              reason: 'CAUnreachable',
              message: 'no answer',
              lastTransitionTime: '',
            },
          ],
        },
      ),
      'IssuerNotReady',
      /not ready: CAUnreachable: no answer/,
    ],
  ])('account(): %s', (_name, iss, reason, message) => {
    const lookup = setup(iss).ctrl.account(le);
    expect(lookup).toMatchObject({ ok: false, reason });
    expect(lookup.ok ? '' : lookup.message).toMatch(message);
  });

  it('registers nothing in a dry run, and says so', async () => {
    const { ctrl, ready } = setup(issuer(), ['--dry-run']);
    await ctrl.reconcile(le);
    expect(ready()).toMatchObject({ status: 'False', reason: 'DryRun' });
    expect(api.list(secrets)).toEqual([]);
  });

  it('creates a missing account key Secret, labelled, and reports an unreachable CA', async () => {
    const { ctrl, ready, events, metrics } = setup(issuer());
    const result = await ctrl.reconcile(le);
    const [key] = api.list<k8s.V1Secret>(secrets);
    expect(key?.metadata?.name).toBe('le-account');
    expect(key?.metadata?.labels).toEqual({ 'app.kubernetes.io/managed-by': 'certroute' });
    expect(Buffer.from(key?.data?.['tls.key'] ?? '', 'base64').toString()).toMatch(
      /BEGIN PRIVATE KEY/,
    );
    expect(ready()).toMatchObject({ status: 'False', reason: 'CAUnreachable' });
    expect(events.map(([r]) => r)).toEqual(['CAUnreachable']);
    expect(result).toMatchObject({ requeueAfterMs: expect.any(Number) as number });
    expect((await metrics.failures.get()).values).toEqual([
      { labels: { controller: 'issuer', reason: 'CAUnreachable', class: 'transient' }, value: 1 },
    ]);
    expect((await metrics.issuerReady.get()).values).toEqual([
      { labels: { kind: 'ClusterIssuer', namespace: '', name: 'le' }, value: 0 },
    ]);
  }, 20_000);

  it('refuses an account key Secret without the key, and an EAB Secret that is missing', async () => {
    api.put(secrets, { metadata: { name: 'le-account' }, data: { other: 'eA==' } });
    const a = setup(issuer());
    await a.ctrl.reconcile(le);
    expect(a.ready()).toMatchObject({ reason: 'AccountKeyInvalid' });
    expect(a.ready()?.message).toMatch(/has no key "tls.key"/);

    api.put(secrets, { metadata: { name: 'le-account' }, data: { 'tls.key': 'eA==' } });
    const b = setup(
      issuer({ externalAccountBinding: { keyID: 'kid', keySecretRef: { name: 'eab' } } }),
    );
    await b.ctrl.reconcile(le);
    expect(b.ready()).toMatchObject({ reason: 'ExternalAccountBindingSecretMissing' });
  });
});

describe('IssuerController: namespaced Issuers', () => {
  it.each<[string, IssuerKey, string, RegExp]>([
    ['an Issuer in the namespace', teamLe, 'IssuerNotReady', /^Issuer team-a\/le is not ready$/],
    [
      'the same name in another namespace',
      { ...teamLe, namespace: 'team-b' },
      'IssuerNotFound',
      /^Issuer team-b\/le not found \(an Issuer is only usable from its own namespace/,
    ],
    ['a ClusterIssuer of the same name', le, 'IssuerNotFound', /^ClusterIssuer le not found$/],
  ])('account(): %s', (_name, key, reason, message) => {
    const lookup = setup(undefined, [], namespaced(issuer())).ctrl.account(key);
    expect(lookup).toMatchObject({ ok: false, reason });
    expect(lookup.ok ? '' : lookup.message).toMatch(message);
  });

  it("creates the account key Secret in the Issuer's namespace, never the operator's", async () => {
    const { ctrl, ready, patched, metrics } = setup(undefined, [], namespaced(issuer()));
    await ctrl.reconcile(teamLe);
    expect(api.list(secrets)).toEqual([]);
    const [key] = api.list<k8s.V1Secret>(teamSecrets);
    expect(key?.metadata).toMatchObject({
      name: 'le-account',
      namespace: 'team-a',
      annotations: { 'certroute.io/issuer': 'le', 'certroute.io/issuer-kind': 'Issuer' },
    });
    expect(ready()).toMatchObject({ status: 'False', reason: 'CAUnreachable' });
    expect(patched).toEqual([['issuers', 'team-a', 'le']]);
    expect((await metrics.issuerReady.get()).values).toEqual([
      { labels: { kind: 'Issuer', namespace: 'team-a', name: 'le' }, value: 0 },
    ]);
  }, 20_000);

  it("reads the EAB Secret from the Issuer's namespace, not the operator's", async () => {
    // A key in the operator's namespace: a tenant must not be able to name it.
    api.put(secrets, { metadata: { name: 'eab' }, data: { secret: 'eA==' } });
    api.put(teamSecrets, { metadata: { name: 'le-account' }, data: { 'tls.key': 'eA==' } });
    const iss = namespaced(
      issuer({ externalAccountBinding: { keyID: 'kid', keySecretRef: { name: 'eab' } } }),
    );
    const { ctrl, ready } = setup(undefined, [], iss);
    await ctrl.reconcile(teamLe);
    expect(ready()).toMatchObject({ reason: 'ExternalAccountBindingSecretMissing' });
    expect(ready()?.message).toMatch(/Secret team-a\/eab/);
  });

  it('skips an Issuer outside --watch-namespaces', async () => {
    const { ctrl, statuses } = setup(
      undefined,
      ['--watch-namespaces=team-b'],
      namespaced(issuer()),
    );
    await ctrl.reconcile(teamLe);
    expect(statuses).toEqual([]);
    expect(api.list(teamSecrets)).toEqual([]);
  });
});

describe('classifyIssuerError', () => {
  // As acme-client words a CA's problem document: "[type] detail".
  const problem = (type: string, detail = 'x') => new Error(`[${type}] ${detail}`);
  it.each<[string, unknown, boolean, string]>([
    ['EAB required', problem('externalAccountRequired'), false, 'ExternalAccountBindingRequired'],
    [
      'EAB refused',
      problem('unauthorized', 'invalid external account binding'),
      true,
      'ExternalAccountBindingInvalid',
    ],
    [
      'unauthorized without EAB',
      problem('unauthorized', 'invalid external account binding'),
      false,
      'RegistrationFailed',
    ],
    ['bad contact', problem('invalidContact'), false, 'InvalidEmail'],
    ['unsupported contact', problem('unsupportedContact'), false, 'InvalidEmail'],
    ['new terms', problem('userActionRequired'), false, 'TermsOfServiceNotAgreed'],
    [
      'no answer',
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      false,
      'CAUnreachable',
    ],
    ['anything else', problem('serverInternal'), false, 'RegistrationFailed'],
  ])('%s -> %s', (_name, err, hasEab, reason) => {
    expect(classifyIssuerError(err, hasEab).reason).toBe(reason);
  });
});
