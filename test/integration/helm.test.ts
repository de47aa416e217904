// The Helm chart against the lab: lint, render, apply the rendered objects to the real
// kube-apiserver, prove the chart's RBAC is minimal (the ServiceAccount is refused what it does
// not need) and enough (the operator, running as that ServiceAccount, does its job).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request, type RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { parseConfig } from '../../src/config/index.js';
import { flags, type FlagSpec } from '../../src/config/flags.js';
import {
  adminConfig,
  createNamespace,
  deleteNamespace,
  eventually,
  labEnv,
  labRoute53,
  uniqueName,
} from '../lab/context.js';
import { eventsFor, ingress } from '../lab/k8s-helpers.js';
import { writeAddress } from '../lab/ingress-router.js';
import { serviceAccountKubeConfig } from '../lab/kube.js';
import { logLines, spawnOperator } from '../lab/operator.js';
import { createClusterIssuer, deleteClusterIssuer, labIssuer } from '../lab/acme-helpers.js';
import { bin, repoRoot } from '../lab/paths.js';
import type { ManagedProcess } from '../lab/process.js';
import { createZone, record } from '../lab/route53-helpers.js';

const env = labEnv();
const kc = adminConfig(env);
const chart = join(repoRoot, 'charts', 'certroute');
const allFeatures = join(chart, 'ci', 'all-features-values.yaml');
const work = mkdtempSync(join(tmpdir(), 'certroute-helm-'));

type Obj = k8s.KubernetesObject & Record<string, unknown>;

function helm(args: string[]): { status: number | null; stdout: string; stderr: string } {
  // Helm's cache, config and data dirs point into a scratch directory: nothing of the user's is
  // read or written.
  const res = spawnSync(bin.helm(), args, {
    encoding: 'utf8',
    env: {
      ...process.env,
      HELM_CACHE_HOME: join(work, 'cache'),
      HELM_CONFIG_HOME: join(work, 'config'),
      HELM_DATA_HOME: join(work, 'data'),
    },
  });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

function render(release: string, namespace: string, extra: string[] = []): Obj[] {
  const res = helm([
    'template',
    release,
    chart,
    '--namespace',
    namespace,
    '--include-crds',
    ...extra,
  ]);
  expect(res.stderr.replace(/^walk\.go:.*found symbolic link.*\n/gm, '')).toBe('');
  expect(res.status).toBe(0);
  return parseAllDocuments(res.stdout)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
}

const kindsOf = (objs: Obj[]) => objs.map((o) => o.kind).sort();
const find = (objs: Obj[], kind: string) => objs.filter((o) => o.kind === kind);
function deploymentOf(objs: Obj[]): k8s.V1Deployment {
  const [d] = find(objs, 'Deployment');
  return d as k8s.V1Deployment;
}

/** The Deployment, its pod spec and its one container, or a failed test. */
function podOf(objs: Obj[]): { d: k8s.V1Deployment; pod: k8s.V1PodSpec; c: k8s.V1Container } {
  const d = deploymentOf(objs);
  const pod = d.spec?.template.spec;
  const c = pod?.containers[0];
  if (!d.spec || !pod || !c) throw new Error('no Deployment with a container rendered');
  return { d, pod, c };
}

/** The container's plain `value` env vars, as the operator would see them. */
function plainEnv(d: k8s.V1Deployment): Record<string, string> {
  const c = d.spec?.template.spec?.containers[0];
  return Object.fromEntries(
    (c?.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value ?? '']),
  );
}

// ---------------------------------------------------------------- applying to the API server

class PathApi extends k8s.KubernetesObjectApi {
  createPath(spec: k8s.KubernetesObject): Promise<string> {
    return this.specUriPath(spec, 'create');
  }
}
const pathApi = kc.makeApiClient(PathApi);

/**
 * POSTs an object as rendered, with strict server-side field validation: an unknown or
 * misplaced field in a template is an error here, as it would be for `kubectl apply`. (The
 * typed clients would silently drop unknown fields before sending.)
 */
async function createStrict(obj: Obj): Promise<{ status: number; body: string }> {
  const server = kc.getCurrentCluster()?.server ?? '';
  const url = new URL(`${server}${await pathApi.createPath(obj)}?fieldValidation=Strict`);
  const opts: RequestOptions = {
    method: 'POST',
    hostname: url.hostname,
    port: url.port,
    path: `${url.pathname}${url.search}`,
    headers: { 'content-type': 'application/json' },
  };
  await kc.applyToHTTPSOptions(opts);
  return new Promise((resolve, reject) => {
    const req = request(opts, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(obj));
  });
}

/** Kinds whose CRDs (Prometheus Operator's) the lab does not have: skipped when applying. */
const notInLab = new Set(['ServiceMonitor', 'PrometheusRule']);

/**
 * Creates every rendered object, recording each in `created` as it goes (so a failure half-way
 * still cleans up); CRDs the lab already installed may answer 409.
 */
async function apply(objs: Obj[], created: Obj[]): Promise<Obj[]> {
  for (const o of objs) {
    if (notInLab.has(o.kind ?? '')) continue;
    const res = await createStrict(o);
    if (o.kind === 'CustomResourceDefinition' && res.status === 409) continue;
    expect(res.status, `${o.kind} ${o.metadata?.name}: ${res.body}`).toBe(201);
    created.push(o);
  }
  return created;
}

// ---------------------------------------------------------------- setup

let releaseNs: string;
let appNs: string;
let otherNs: string;
let release: string;
let defaults: Obj[];
const defaultsCreated: Obj[] = [];
let sa: k8s.KubeConfig;
let saFile: string;

beforeAll(async () => {
  releaseNs = await createNamespace(kc, 'helm-rel');
  appNs = await createNamespace(kc, 'helm-app');
  otherNs = await createNamespace(kc, 'helm-other');
  release = uniqueName('cr');
  defaults = render(release, releaseNs);
  await apply(defaults, defaultsCreated);
  const saName = find(defaults, 'ServiceAccount')[0]?.metadata?.name ?? '';
  saFile = join(work, 'sa.kubeconfig');
  sa = (await serviceAccountKubeConfig(kc, releaseNs, saName, saFile)).kubeConfig;
});

/** Deletes the cluster-scoped objects among `created` (namespaced ones go with their namespace). */
async function deleteClusterScoped(created: Obj[]): Promise<void> {
  const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
  for (const o of created.filter(
    (x) => !x.metadata?.namespace && x.kind !== 'CustomResourceDefinition',
  ))
    await objects.delete(o).catch(() => undefined);
}

afterAll(async () => {
  await deleteClusterScoped(defaultsCreated);
  for (const ns of [releaseNs, appNs, otherNs]) if (ns) await deleteNamespace(kc, ns);
  rmSync(work, { recursive: true, force: true });
});

// ---------------------------------------------------------------- lint and render

describe('helm lint and template', () => {
  it('lints cleanly with default and with all-features values (--strict)', () => {
    for (const extra of [[], ['-f', allFeatures]]) {
      const res = helm(['lint', '--strict', chart, ...extra]);
      expect(res.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
      expect(res.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
      expect(res.status).toBe(0);
    }
  });

  it('renders the defaults: operator, RBAC, PDB, metrics Service and the CRDs from crds/', () => {
    expect(kindsOf(defaults)).toEqual(
      [
        'ClusterRole',
        'ClusterRoleBinding',
        'CustomResourceDefinition',
        'CustomResourceDefinition',
        'CustomResourceDefinition',
        'Deployment',
        'PodDisruptionBudget',
        'Role',
        'RoleBinding',
        'Service',
        'ServiceAccount',
      ].sort(),
    );
    // The chart's CRDs are the top-level crds/ files (through the symlink), not copies.
    const fromFiles = ['certificates', 'clusterissuers', 'dnsendpoints'].map(
      (p) => parse(readFileSync(join(repoRoot, 'crds', `certroute.io_${p}.yaml`), 'utf8')) as Obj,
    );
    expect(find(defaults, 'CustomResourceDefinition')).toEqual(expect.arrayContaining(fromFiles));
  });

  it('renders a Deployment of 2 hardened replicas with leader election, probes and ports', () => {
    const { d, pod, c } = podOf(defaults);
    expect(d.spec?.replicas).toBe(2);
    expect(plainEnv(d).CERTROUTE_LEADER_ELECTION).toBe('true');
    expect(pod.serviceAccountName).toBe(find(defaults, 'ServiceAccount')[0]?.metadata?.name);
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(c.securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(c.ports?.map((p) => [p.name, p.containerPort])).toEqual([
      ['metrics', 8080],
      ['probes', 8081],
      ['solver', 8089],
    ]);
    expect(c.livenessProbe?.httpGet).toMatchObject({ path: '/healthz', port: 'probes' });
    expect(c.readinessProbe?.httpGet).toMatchObject({ path: '/readyz', port: 'probes' });
    expect(c.resources?.requests).toBeDefined();
    expect(c.resources?.limits?.memory).toBeDefined();
  });

  it('renders the Downward API env, topology spread and a PodDisruptionBudget', () => {
    const { d, pod, c } = podOf(defaults);
    const fieldRefs = Object.fromEntries(
      (c.env ?? [])
        .filter((e) => e.valueFrom?.fieldRef)
        .map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath]),
    );
    expect(fieldRefs).toEqual({
      CERTROUTE_NAMESPACE: 'metadata.namespace',
      POD_NAME: 'metadata.name',
      POD_IP: 'status.podIP',
    });
    expect(pod.topologySpreadConstraints?.map((t) => t.topologyKey)).toEqual([
      'kubernetes.io/hostname',
      'topology.kubernetes.io/zone',
    ]);
    for (const t of pod.topologySpreadConstraints ?? [])
      expect(t.labelSelector?.matchLabels).toEqual(d.spec?.selector.matchLabels);
    const [pdb] = find(defaults, 'PodDisruptionBudget') as k8s.V1PodDisruptionBudget[];
    expect(pdb?.spec?.selector?.matchLabels).toEqual(d.spec?.selector.matchLabels);
    expect(pdb?.spec?.maxUnavailable).toBe(1);
  });

  it('passes config values the operator accepts, equal to its own defaults', () => {
    const parsed = parseConfig([], plainEnv(deploymentOf(defaults)));
    expect(parsed).toEqual(parseConfig([], {}));
  });

  it('renders every optional object with all-features values, and every config value reaches the operator', () => {
    const objs = render('full', 'certroute', ['-f', allFeatures]);
    expect(new Set(kindsOf(objs))).toEqual(
      new Set([
        'ClusterIssuer',
        'ClusterRole',
        'ClusterRoleBinding',
        'ConfigMap',
        'CustomResourceDefinition',
        'Deployment',
        'PodDisruptionBudget',
        'PrometheusRule',
        'Role',
        'RoleBinding',
        'Service',
        'ServiceAccount',
        'ServiceMonitor',
      ]),
    );
    const values = parse(readFileSync(allFeatures, 'utf8')) as {
      config: Record<string, unknown>;
    };
    const parsed = parseConfig([], plainEnv(deploymentOf(objs)));
    const expected = parseConfig(
      Object.entries(values.config).map(([key, v]) => {
        const spec = (flags as Record<string, FlagSpec>)[key];
        return `--${spec?.flag}=${Array.isArray(v) ? v.join(',') : String(v)}`;
      }),
      {},
    );
    expect(parsed).toEqual(expected);
    // Every value is away from the default in that file, so each was really passed; except
    // leaderElection, which must stay true with more than one replica.
    for (const key of Object.keys(values.config).filter((k) => k !== 'leaderElection'))
      expect(parsed[key as keyof typeof parsed], key).not.toEqual(
        parseConfig([], {})[key as keyof typeof parsed],
      );
    const c = deploymentOf(objs).spec?.template.spec?.containers[0];
    expect(c?.ports?.map((p) => p.containerPort)).toEqual([9090, 9091, 9089]);
    expect(c?.image).toMatch(/@sha256:[0-9a-f]{64}$/);
    const env = new Map((c?.env ?? []).map((e) => [e.name, e.value]));
    expect(env.get('NODE_OPTIONS')).toBe('--max-semi-space-size=2 --max-old-space-size=192');
    expect(env.get('EXAMPLE_EXTRA')).toBe('an extra variable');
    const [saObj] = find(objs, 'ServiceAccount');
    expect(saObj?.metadata?.annotations).toEqual({
      'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/certroute',
    });
    expect(find(objs, 'ClusterIssuer').map((i) => i.metadata?.name)).toEqual([
      'ci-http01',
      'ci-dns01',
    ]);
  });

  it('passes the default V8 heap settings as NODE_OPTIONS', () => {
    const objs = render('defaults', 'certroute', []);
    const c = deploymentOf(objs).spec?.template.spec?.containers[0];
    const defaults = parse(readFileSync(join(chart, 'values.yaml'), 'utf8')) as {
      nodeOptions: string;
    };
    expect(defaults.nodeOptions).toContain('--max-old-space-size=');
    expect(c?.env?.find((e) => e.name === 'NODE_OPTIONS')?.value).toBe(defaults.nodeOptions);
  });

  it('wraps the alert rules file and the dashboard file unchanged', () => {
    const objs = render('full', 'certroute', ['-f', allFeatures]);
    const [rule] = find(objs, 'PrometheusRule') as { spec: { groups: unknown } }[];
    const rulesFile = parse(
      readFileSync(join(repoRoot, 'docs', 'alerts', 'certroute.rules.yaml'), 'utf8'),
    ) as { groups: unknown };
    expect(rule?.spec.groups).toEqual(rulesFile.groups);
    // promtool accepts the rules as the PrometheusRule carries them.
    const wrapped = join(work, 'wrapped.rules.yaml');
    writeFileSync(wrapped, stringify({ groups: rule?.spec.groups }));
    const check = spawnSync(bin.promtool(), ['check', 'rules', wrapped], { encoding: 'utf8' });
    expect(check.stdout + check.stderr).toContain('SUCCESS');
    const [cm] = find(objs, 'ConfigMap') as k8s.V1ConfigMap[];
    expect(cm?.data?.['certroute.json']).toBe(
      readFileSync(join(repoRoot, 'docs', 'dashboards', 'certroute.json'), 'utf8').trimEnd(),
    );
    const [sm] = find(objs, 'ServiceMonitor') as {
      spec: { endpoints: { port: string; honorLabels: boolean }[] };
    }[];
    expect(sm?.spec.endpoints[0]).toMatchObject({ port: 'metrics', honorLabels: true });
  });

  it('rejects unknown keys at the top level and under config, and unsafe combinations', () => {
    for (const [set, message] of [
      ['bogus=1', "additional properties 'bogus' not allowed"],
      ['config.bogus=1', "additional properties 'bogus' not allowed"],
      ['config.policy=delete-everything', '/config/policy'],
      ['config.leaderElection=false', 'needs config.leaderElection'],
    ] as const) {
      const res = helm(['template', 'x', chart, '--set', set]);
      expect(res.status, set).not.toBe(0);
      expect(res.stderr, set).toContain(message);
    }
    // One replica without leader election is fine.
    expect(
      helm([
        'template',
        'x',
        chart,
        '--set',
        'config.leaderElection=false',
        '--set',
        'replicaCount=1',
      ]).status,
    ).toBe(0);
  });

  it('packages the CRDs and the rules and dashboard files through their symlinks', () => {
    const out = join(work, 'pkg');
    const res = helm(['package', chart, '--destination', out]);
    expect(res.status, res.stderr).toBe(0);
    const tgz = join(out, 'certroute-0.1.0.tgz');
    const list = spawnSync('tar', ['-tzf', tgz], { encoding: 'utf8' }).stdout.split('\n');
    expect(list).toEqual(
      expect.arrayContaining([
        'certroute/crds/certroute.io_certificates.yaml',
        'certroute/crds/certroute.io_clusterissuers.yaml',
        'certroute/crds/certroute.io_dnsendpoints.yaml',
        'certroute/files/certroute.rules.yaml',
        'certroute/files/certroute.json',
      ]),
    );
    expect(list.some((f) => f.startsWith('certroute/ci/'))).toBe(false);
    const crd = spawnSync('tar', ['-xzOf', tgz, 'certroute/crds/certroute.io_certificates.yaml'], {
      encoding: 'utf8',
    }).stdout;
    expect(crd).toBe(
      readFileSync(join(repoRoot, 'crds', 'certroute.io_certificates.yaml'), 'utf8'),
    );
  });
});

// ---------------------------------------------------------------- applied to the lab

describe('applied to the lab kube-apiserver', () => {
  it('creates every object of the default render (strict field validation)', async () => {
    // beforeAll applied them; they are all there, as rendered.
    const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
    for (const o of defaults) {
      const live = await objects.read({
        apiVersion: o.apiVersion ?? '',
        kind: o.kind ?? '',
        metadata: { name: o.metadata?.name ?? '', namespace: o.metadata?.namespace },
      });
      expect(live.metadata?.uid, `${o.kind} ${o.metadata?.name}`).toBeDefined();
    }
  });

  it('creates every all-features object except ServiceMonitor and PrometheusRule (no such CRDs in the lab)', async () => {
    const ns = await createNamespace(kc, 'helm-full');
    const created: Obj[] = [];
    try {
      const objs = render(uniqueName('full'), ns, ['-f', allFeatures]);
      await apply(objs, created);
      expect(new Set(kindsOf(created))).toEqual(
        new Set([
          'ClusterIssuer',
          'ClusterRole',
          'ClusterRoleBinding',
          'ConfigMap',
          'Deployment',
          'PodDisruptionBudget',
          'Role',
          'RoleBinding',
          'Service',
          'ServiceAccount',
        ]),
      );
    } finally {
      // Now, not at the end: the operator started below must not see these ClusterIssuers.
      await deleteClusterScoped(created);
      await deleteNamespace(kc, ns);
    }
  });
});

// ---------------------------------------------------------------- RBAC

async function allowed(attrs: k8s.V1ResourceAttributes, as: k8s.KubeConfig = sa): Promise<boolean> {
  const review = await as.makeApiClient(k8s.AuthorizationV1Api).createSelfSubjectAccessReview({
    body: { spec: { resourceAttributes: attrs } },
  });
  return review.status?.allowed === true;
}

async function statusOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (err) {
    return (err as { code?: number }).code ?? -1;
  }
}

describe('RBAC is minimal', () => {
  it('refuses real requests outside the rules', async () => {
    const core = sa.makeApiClient(k8s.CoreV1Api);
    const rbac = sa.makeApiClient(k8s.RbacAuthorizationV1Api);
    const coord = sa.makeApiClient(k8s.CoordinationV1Api);
    const adminCoord = kc.makeApiClient(k8s.CoordinationV1Api);
    const lease = {
      metadata: { name: 'certroute-leader' },
      spec: { holderIdentity: 'someone', leaseDurationSeconds: 15 },
    };
    const foreign = await adminCoord.createNamespacedLease({ namespace: otherNs, body: lease });
    const ownOther = await adminCoord.createNamespacedLease({
      namespace: releaseNs,
      body: { ...lease, metadata: { name: 'not-certroute' } },
    });

    expect(await statusOf(core.listPodForAllNamespaces())).toBe(403);
    expect(await statusOf(core.listNamespacedConfigMap({ namespace: releaseNs }))).toBe(403);
    expect(await statusOf(core.deleteNamespace({ name: otherNs }))).toBe(403);
    expect(
      await statusOf(
        rbac.createClusterRole({
          body: { metadata: { name: uniqueName('escalate') }, rules: [] },
        }),
      ),
    ).toBe(403);
    expect(
      await statusOf(
        core.patchNode(
          { name: 'any-node', body: { metadata: { labels: { x: 'y' } } } },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
        ),
      ),
    ).toBe(403);
    // Leases: another namespace is out of reach, and so is any other Lease in its own.
    expect(
      await statusOf(
        coord.replaceNamespacedLease({
          namespace: otherNs,
          name: 'certroute-leader',
          body: foreign,
        }),
      ),
    ).toBe(403);
    expect(await statusOf(coord.createNamespacedLease({ namespace: otherNs, body: lease }))).toBe(
      403,
    );
    expect(
      await statusOf(
        coord.replaceNamespacedLease({
          namespace: releaseNs,
          name: 'not-certroute',
          body: ownOther,
        }),
      ),
    ).toBe(403);
    // A namespace still there after the refused delete.
    expect(
      (await kc.makeApiClient(k8s.CoreV1Api).readNamespace({ name: otherNs })).status?.phase,
    ).toBe('Active');
  });

  const refused: k8s.V1ResourceAttributes[] = [
    { verb: 'list', resource: 'pods' },
    { verb: 'create', resource: 'pods', namespace: 'x' },
    { verb: 'create', resource: 'pods', subresource: 'exec', namespace: 'x' },
    { verb: 'get', resource: 'configmaps', namespace: 'x' },
    { verb: 'list', resource: 'nodes' },
    { verb: 'delete', resource: 'namespaces' },
    { verb: 'update', group: 'networking.k8s.io', resource: 'ingresses', namespace: 'x' },
    {
      verb: 'update',
      group: 'networking.k8s.io',
      resource: 'ingresses',
      subresource: 'status',
      namespace: 'x',
    },
    { verb: 'update', resource: 'services', namespace: 'x' },
    { verb: 'watch', resource: 'services' },
    { verb: 'get', resource: 'services', namespace: 'x' },
    { verb: 'watch', group: 'discovery.k8s.io', resource: 'endpointslices' },
    { verb: 'create', group: 'events.k8s.io', resource: 'events', namespace: 'x' },
    { verb: 'delete', resource: 'events', namespace: 'x' },
    { verb: 'list', group: 'apps', resource: 'deployments' },
    { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'clusterroles' },
    { verb: 'bind', group: 'rbac.authorization.k8s.io', resource: 'clusterroles' },
    { verb: 'impersonate', resource: 'serviceaccounts' },
    { verb: 'create', resource: 'serviceaccounts', subresource: 'token', namespace: 'x' },
    { verb: 'create', group: 'certroute.io', resource: 'clusterissuers' },
    { verb: 'delete', group: 'certroute.io', resource: 'clusterissuers' },
    { verb: 'update', group: 'certroute.io', resource: 'clusterissuers' },
    {
      verb: 'update',
      group: 'certroute.io',
      resource: 'certificates',
      subresource: 'status',
      namespace: 'x',
    },
    { verb: 'create', group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions' },
    { verb: 'list', group: 'coordination.k8s.io', resource: 'leases' },
    {
      verb: 'delete',
      group: 'coordination.k8s.io',
      resource: 'leases',
      namespace: 'RELEASE',
      name: 'certroute-leader',
    },
  ];

  it.each(
    refused.map(
      (a) =>
        [
          `${a.verb} ${a.group ?? ''}/${a.resource}${a.subresource ? `/${a.subresource}` : ''}`,
          a,
        ] as const,
    ),
  )('refuses %s (access review)', async (_, attrs) => {
    const a = { ...attrs, namespace: attrs.namespace === 'RELEASE' ? releaseNs : attrs.namespace };
    expect(await allowed(a)).toBe(false);
  });

  const permitted: k8s.V1ResourceAttributes[] = [
    ...['get', 'list', 'watch', 'create', 'delete', 'patch'].map((verb) => ({
      verb,
      group: 'networking.k8s.io',
      resource: 'ingresses',
      namespace: 'any',
    })),
    ...['list', 'watch'].map((verb) => ({
      verb,
      group: 'networking.k8s.io',
      resource: 'ingresses',
    })),
    ...['get', 'list', 'watch', 'create', 'update', 'delete'].map((verb) => ({
      verb,
      resource: 'secrets',
      namespace: 'any',
    })),
    ...['list', 'create', 'delete'].map((verb) => ({
      verb,
      resource: 'services',
      namespace: 'any',
    })),
    ...['get', 'list', 'create', 'update', 'delete'].map((verb) => ({
      verb,
      group: 'discovery.k8s.io',
      resource: 'endpointslices',
      namespace: 'any',
    })),
    { verb: 'create', resource: 'events', namespace: 'any' },
    { verb: 'patch', resource: 'events', namespace: 'any' },
    ...['get', 'list', 'watch', 'create', 'update', 'delete'].flatMap((verb) => [
      { verb, group: 'certroute.io', resource: 'certificates', namespace: 'any' },
      { verb, group: 'certroute.io', resource: 'dnsendpoints', namespace: 'any' },
    ]),
    ...['list', 'watch'].flatMap((verb) => [
      { verb, group: 'certroute.io', resource: 'certificates' },
      { verb, group: 'certroute.io', resource: 'dnsendpoints' },
      { verb, group: 'certroute.io', resource: 'clusterissuers' },
    ]),
    { verb: 'get', group: 'certroute.io', resource: 'clusterissuers' },
    {
      verb: 'patch',
      group: 'certroute.io',
      resource: 'certificates',
      subresource: 'status',
      namespace: 'any',
    },
    {
      verb: 'patch',
      group: 'certroute.io',
      resource: 'dnsendpoints',
      subresource: 'status',
      namespace: 'any',
    },
    { verb: 'patch', group: 'certroute.io', resource: 'clusterissuers', subresource: 'status' },
    { verb: 'create', group: 'coordination.k8s.io', resource: 'leases', namespace: 'RELEASE' },
    {
      verb: 'get',
      group: 'coordination.k8s.io',
      resource: 'leases',
      namespace: 'RELEASE',
      name: 'certroute-leader',
    },
    {
      verb: 'update',
      group: 'coordination.k8s.io',
      resource: 'leases',
      namespace: 'RELEASE',
      name: 'certroute-leader',
    },
  ];

  it.each(
    permitted.map(
      (a) =>
        [
          `${a.verb} ${a.group ?? ''}/${a.resource}${a.subresource ? `/${a.subresource}` : ''}${a.namespace ? ` in ${a.namespace}` : ''}`,
          a,
        ] as const,
    ),
  )('allows %s (access review)', async (_, attrs) => {
    const a = { ...attrs, namespace: attrs.namespace === 'RELEASE' ? releaseNs : attrs.namespace };
    expect(await allowed(a)).toBe(true);
  });

  it('grants nothing beyond the rules (rules review in the release namespace and another)', async () => {
    const rulesIn = async (as: k8s.KubeConfig, namespace: string) => {
      const review = await as
        .makeApiClient(k8s.AuthorizationV1Api)
        .createSelfSubjectRulesReview({ body: { spec: { namespace } } });
      const out = new Set<string>();
      for (const r of review.status?.resourceRules ?? [])
        for (const g of r.apiGroups ?? [])
          for (const res of r.resources ?? [])
            for (const v of r.verbs)
              out.add(
                `${g}/${res}:${v}${r.resourceNames?.length ? `[${r.resourceNames.join(',')}]` : ''}`,
              );
      return [...out].sort();
    };
    const clusterWide = [
      ...['get', 'list', 'watch', 'create', 'delete', 'patch'].map(
        (v) => `networking.k8s.io/ingresses:${v}`,
      ),
      ...['list', 'create', 'delete'].map((v) => `/services:${v}`),
      ...['get', 'list', 'create', 'update', 'delete'].map(
        (v) => `discovery.k8s.io/endpointslices:${v}`,
      ),
      ...['get', 'list', 'watch', 'create', 'update', 'delete'].map((v) => `/secrets:${v}`),
      '/events:create',
      '/events:patch',
      ...['get', 'list', 'watch', 'create', 'update', 'delete'].flatMap((v) => [
        `certroute.io/certificates:${v}`,
        `certroute.io/dnsendpoints:${v}`,
      ]),
      ...['get', 'list', 'watch'].map((v) => `certroute.io/clusterissuers:${v}`),
      'certroute.io/certificates/status:patch',
      'certroute.io/dnsendpoints/status:patch',
      'certroute.io/clusterissuers/status:patch',
    ];
    const leader = [
      'coordination.k8s.io/leases:create',
      'coordination.k8s.io/leases:get[certroute-leader]',
      'coordination.k8s.io/leases:update[certroute-leader]',
    ];
    // What every authenticated identity may do anyway (self-reviews, public discovery data,
    // which differ between Kubernetes versions): a ServiceAccount with no bindings at all.
    const bare = uniqueName('bare');
    await kc
      .makeApiClient(k8s.CoreV1Api)
      .createNamespacedServiceAccount({ namespace: releaseNs, body: { metadata: { name: bare } } });
    const baseline = (await serviceAccountKubeConfig(kc, releaseNs, bare)).kubeConfig;
    const granted = async (namespace: string) => {
      const base = new Set(await rulesIn(baseline, namespace));
      return (await rulesIn(sa, namespace)).filter((r) => !base.has(r));
    };
    expect(await granted(otherNs)).toEqual([...clusterWide].sort());
    expect(await granted(releaseNs)).toEqual([...clusterWide, ...leader].sort());
  });
});

describe('RBAC is enough', () => {
  let op: ManagedProcess | undefined;
  afterAll(async () => {
    await op?.stop();
  });

  it(
    'runs the operator as the chart ServiceAccount: it leads, publishes DNS and issues a certificate',
    { timeout: 90_000 },
    async () => {
      const r53 = labRoute53(env);
      const zone = await createZone(r53, 'helm');
      const logFile = join(env.dir, `${releaseNs}-operator.log`);
      op = spawnOperator(env, logFile, [
        `--kubeconfig=${saFile}`,
        `--namespace=${releaseNs}`,
        '--pod-name=helm-op',
        `--watch-namespaces=${appNs}`,
        `--domain-filter=${zone.name}`,
        '--owner-id=helm',
        '--lease-duration=4s',
      ]);

      // Leader election through the chart's Role, in the release namespace.
      await eventually(
        async () =>
          (
            await kc
              .makeApiClient(k8s.CoordinationV1Api)
              .readNamespacedLease({ namespace: releaseNs, name: 'certroute-leader' })
          ).spec?.holderIdentity === 'helm-op',
        { timeoutMs: 30_000 },
      );

      const issuer = `helm-${releaseNs}`;
      await createClusterIssuer(kc, labIssuer(env, issuer));
      const net = kc.makeApiClient(k8s.NetworkingV1Api);
      const host = `www.${zone.name}`;
      await net.createNamespacedIngress({
        namespace: appNs,
        body: ingress({
          name: 'web',
          namespace: appNs,
          hosts: [host],
          tls: [{ secretName: 'web-tls', hosts: [host] }],
          annotations: { 'certroute.io/dns': 'true', 'certroute.io/issuer': issuer },
        }),
      });
      await writeAddress(net, appNs, 'web', [{ ip: env.ingressAddress }]);

      // The shim (DNSEndpoint create), the DNS controller (Route53, DNSEndpoint status) and the
      // event recorder all worked under the ServiceAccount.
      await eventually(
        async () =>
          (await record(r53, zone.id, host, 'A'))?.ResourceRecords?.[0]?.Value ===
          env.ingressAddress,
        { timeoutMs: 45_000 },
      );
      await eventually(async () =>
        (await eventsFor(kc, appNs, 'web')).some((e) => e.reason === 'RecordPublished'),
      );
      // The issuer controller (account key Secret in the release namespace) and the certificate
      // controller (solver Ingress, Service, EndpointSlice; the tls Secret) did too.
      const secret = await eventually(
        async () => {
          const s = await kc
            .makeApiClient(k8s.CoreV1Api)
            .readNamespacedSecret({ namespace: appNs, name: 'web-tls' });
          return s.type === 'kubernetes.io/tls' && s;
        },
        { timeoutMs: 45_000 },
      );
      expect(secret.data?.['tls.crt']).toBeTruthy();
      await deleteClusterIssuer(kc, issuer);

      const denied = logLines(logFile).filter((l) => /forbidden/i.test(JSON.stringify(l)));
      expect(denied).toEqual([]);
      expect(op.exitCode).toBeUndefined();
    },
  );
});
