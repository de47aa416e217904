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
import { logLines, rbacDenials, spawnOperator } from '../lab/operator.js';
import { Http01Objects, solverName } from '../../src/acme/solvers/http01.js';
import { createClusterIssuer, deleteClusterIssuer, labIssuer } from '../lab/acme-helpers.js';
import { bin, repoRoot } from '../lab/paths.js';
import { freePort, spawnManaged, type ManagedProcess } from '../lab/process.js';
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
/** Helm hooks (the `helm test` Pod): rendered by `helm template`, not created by an install. */
const isHook = (o: Obj) => o.metadata?.annotations?.['helm.sh/hook'] !== undefined;
const named = (objs: Obj[], kind: string, name: string) =>
  find(objs, kind).find((o) => o.metadata?.name === name);
function deploymentOf(objs: Obj[]): k8s.V1Deployment {
  const [d] = find(objs, 'Deployment');
  return d as k8s.V1Deployment;
}

/** `x`, or a failed test when it is missing. */
function must<T>(x: T | undefined | null): T {
  if (x === undefined || x === null) throw new Error('expected a rendered value, found none');
  return x;
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

/** One request to the API server as the admin, with a JSON body; the status and the body back. */
async function requestJson(
  method: string,
  path: string,
  body: unknown,
  contentType = 'application/json',
): Promise<{ status: number; body: string }> {
  const server = kc.getCurrentCluster()?.server ?? '';
  const url = new URL(`${server}${path}`);
  const opts: RequestOptions = {
    method,
    hostname: url.hostname,
    port: url.port,
    path: `${url.pathname}${url.search}`,
    headers: { 'content-type': contentType },
  };
  await kc.applyToHTTPSOptions(opts);
  return new Promise((resolve, reject) => {
    const req = request(opts, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/**
 * POSTs an object as rendered, with strict server-side field validation: an unknown or
 * misplaced field in a template is an error here, as it would be for `kubectl apply`. (The
 * typed clients would silently drop unknown fields before sending.)
 */
async function createStrict(obj: Obj): Promise<{ status: number; body: string }> {
  return requestJson('POST', `${await pathApi.createPath(obj)}?fieldValidation=Strict`, obj);
}

/** Kinds whose CRDs (Prometheus Operator's) the lab does not have: skipped when applying. */
const notInLab = new Set(['ServiceMonitor', 'PrometheusRule']);

/**
 * Creates every rendered object an install creates (not the hooks), recording each in `created`
 * as it goes (so a failure half-way still cleans up); CRDs the lab already installed may answer
 * 409.
 */
async function apply(objs: Obj[], created: Obj[]): Promise<Obj[]> {
  for (const o of objs) {
    if (notInLab.has(o.kind ?? '') || isHook(o)) continue;
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
    // Cluster-scoped, and the Events Role in `default` (config.watchNamespaces), which no
    // namespace deletion removes.
    (x) =>
      (!x.metadata?.namespace || x.metadata.namespace === 'default') &&
      x.kind !== 'CustomResourceDefinition',
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

  it('renders the defaults: operator, RBAC, PDB, metrics Service, the test Pod and the CRDs from crds/', () => {
    expect(kindsOf(defaults)).toEqual(
      [
        'ClusterRole',
        'ClusterRole',
        'ClusterRole',
        'ClusterRoleBinding',
        'CustomResourceDefinition',
        'CustomResourceDefinition',
        'CustomResourceDefinition',
        'CustomResourceDefinition',
        'CustomResourceDefinition',
        'Deployment',
        'Pod',
        'PodDisruptionBudget',
        // Leader election, and the blocked-deletions ConfigMap (both in the release namespace).
        'Role',
        'Role',
        'RoleBinding',
        'RoleBinding',
        'Service',
        'ServiceAccount',
      ].sort(),
    );
    expect(find(defaults, 'Pod').every(isHook)).toBe(true);
    // The chart's CRDs are the top-level crds/ files (through the symlinks), not copies.
    const fromFiles = [
      'certificates',
      'clusterissuers',
      'dnsendpoints',
      'domainpolicies',
      'issuers',
    ].map(
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
        'NetworkPolicy',
        'Pod',
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

  it('packages the CRDs (in the crds subchart) and the rules and dashboard files through their symlinks', () => {
    const out = join(work, 'pkg');
    const res = helm(['package', chart, '--destination', out]);
    expect(res.status, res.stderr).toBe(0);
    const tgz = join(out, 'certroute-0.1.0.tgz');
    const list = spawnSync('tar', ['-tzf', tgz], { encoding: 'utf8' }).stdout.split('\n');
    expect(list).toEqual(
      expect.arrayContaining([
        'certroute/charts/crds/crds/certroute.io_certificates.yaml',
        'certroute/charts/crds/crds/certroute.io_clusterissuers.yaml',
        'certroute/charts/crds/crds/certroute.io_dnsendpoints.yaml',
        'certroute/files/certroute.rules.yaml',
        'certroute/files/certroute.json',
      ]),
    );
    expect(list.some((f) => f.startsWith('certroute/ci/'))).toBe(false);
    const crd = spawnSync(
      'tar',
      ['-xzOf', tgz, 'certroute/charts/crds/crds/certroute.io_certificates.yaml'],
      { encoding: 'utf8' },
    ).stdout;
    expect(crd).toBe(
      readFileSync(join(repoRoot, 'crds', 'certroute.io_certificates.yaml'), 'utf8'),
    );
  });
});

// ---------------------------------------------------------------- values for platform teams

describe('values for platform teams, rendered with and without each', () => {
  const testPodOf = (objs: Obj[]) => find(objs, 'Pod')[0] as k8s.V1Pod | undefined;
  const setJson = (kv: string) => render('pt', 'certroute', ['--set-json', kv]);

  it('extraArgs: none by default; given, container args after the entrypoint, and they beat the config variables', () => {
    expect(podOf(defaults).c.args).toBeUndefined();
    const { d, c } = podOf(setJson('extraArgs=["--log-level=debug","--workers=3"]'));
    expect(c.args).toEqual(['--log-level=debug', '--workers=3']);
    expect(c.command).toBeUndefined();
    expect(plainEnv(d).CERTROUTE_LOG_LEVEL).toBe('info');
    const parsed = parseConfig(c.args ?? [], plainEnv(d));
    expect(parsed.logLevel).toBe('debug');
    expect(parsed.workers).toBe(3);
    // Only flags: a bare word would stop the operator at start, so the schema refuses it.
    const res = helm(['template', 'x', chart, '--set-json', 'extraArgs=["debug"]']);
    expect(res.status).not.toBe(0);
    expect(res.stderr).toContain('/extraArgs/0');
  });

  it('extraEnv: nothing extra by default; given, appended after the chart’s variables as written', () => {
    const names = (c: k8s.V1Container) => (c.env ?? []).map((e) => e.name);
    const base = names(podOf(defaults).c);
    const extra = [
      { name: 'HTTPS_PROXY', value: 'http://proxy.internal:3128' },
      {
        name: 'AWS_ACCESS_KEY_ID',
        valueFrom: { secretKeyRef: { name: 'certroute-aws', key: 'access-key-id' } },
      },
    ];
    const { c } = podOf(setJson(`extraEnv=${JSON.stringify(extra)}`));
    expect(names(c)).toEqual([...base, 'HTTPS_PROXY', 'AWS_ACCESS_KEY_ID']);
    expect(c.env?.slice(-2)).toEqual(extra);
    expect(base).not.toContain('HTTPS_PROXY');
  });

  it('extraVolumes and extraVolumeMounts: only /tmp by default; given, added beside it', () => {
    const { pod, c } = podOf(defaults);
    expect(pod.volumes?.map((v) => v.name)).toEqual(['tmp']);
    expect(c.volumeMounts?.map((m) => m.mountPath)).toEqual(['/tmp']);
    const volume = { name: 'ca', configMap: { name: 'corporate-ca' } };
    const mount = { name: 'ca', mountPath: '/etc/certroute/ca', readOnly: true };
    const objs = render('pt', 'certroute', [
      '--set-json',
      `extraVolumes=[${JSON.stringify(volume)}]`,
      '--set-json',
      `extraVolumeMounts=[${JSON.stringify(mount)}]`,
    ]);
    const got = podOf(objs);
    expect(got.pod.volumes?.[1]).toEqual(volume);
    expect(got.c.volumeMounts?.[1]).toEqual(mount);
    expect(got.c.securityContext?.readOnlyRootFilesystem).toBe(true);
  });

  it('priorityClassName and imagePullSecrets: unset by default; given, on the operator and the test Pod', () => {
    expect(podOf(defaults).pod.priorityClassName).toBeUndefined();
    expect(podOf(defaults).pod.imagePullSecrets).toBeUndefined();
    expect(testPodOf(defaults)?.spec?.priorityClassName).toBeUndefined();
    expect(testPodOf(defaults)?.spec?.imagePullSecrets).toBeUndefined();
    const objs = render('pt', 'certroute', [
      '--set',
      'priorityClassName=platform-critical',
      '--set-json',
      'imagePullSecrets=[{"name":"regcred"}]',
    ]);
    for (const spec of [podOf(objs).pod, testPodOf(objs)?.spec]) {
      expect(spec?.priorityClassName).toBe('platform-critical');
      expect(spec?.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    }
  });

  describe('networkPolicy', () => {
    // As rendered (the typed client's V1NetworkPolicy calls `from` `_from`).
    type Peer = Record<string, unknown> & {
      podSelector?: { matchLabels?: Record<string, string> };
    };
    type Rule = { ports?: { port: number; protocol?: string }[]; from?: Peer[]; to?: Peer[] };
    type Policy = {
      spec: {
        podSelector: { matchLabels?: Record<string, string> };
        policyTypes: string[];
        ingress?: Rule[];
        egress?: Rule[];
      };
    };
    const policyOf = (objs: Obj[]) => find(objs, 'NetworkPolicy')[0] as Policy | undefined;
    const ports = (r: Rule) => (r.ports ?? []).map((p) => `${String(p.port)}/${p.protocol ?? ''}`);

    it('is off by default', () => {
      expect(policyOf(defaults)).toBeUndefined();
    });

    it('on: selects the operator pods; in, the solver, probe and metrics ports from anywhere; out, DNS, API server, HTTPS and the self-check to anywhere', () => {
      const objs = render('pt', 'certroute', ['--set', 'networkPolicy.enabled=true']);
      const np = policyOf(objs);
      const { d } = podOf(objs);
      expect(np?.spec?.podSelector.matchLabels).toEqual(d.spec?.selector.matchLabels);
      expect(np?.spec?.policyTypes).toEqual(['Ingress', 'Egress']);
      const ingress = np?.spec?.ingress ?? [];
      expect(ingress.map(ports)).toEqual([['8089/TCP', '8081/TCP'], ['8080/TCP']]);
      for (const r of ingress) expect(r.from).toBeUndefined();
      const egress = np?.spec?.egress ?? [];
      expect(egress.map(ports)).toEqual([
        ['53/UDP', '53/TCP'],
        ['443/TCP', '6443/TCP'],
        ['443/TCP'],
        ['80/TCP'],
      ]);
      for (const r of egress) expect(r.to).toBeUndefined();
      // The container ports it opens are the ones the operator listens on.
      expect(
        podOf(objs)
          .c.ports?.map((p) => p.containerPort)
          .sort(),
      ).toEqual(ingress.flatMap((r) => (r.ports ?? []).map((p) => p.port)).sort());
    });

    it('follows the config addresses and http01Port', () => {
      const objs = render('pt', 'certroute', [
        '--set',
        'networkPolicy.enabled=true',
        '--set',
        'config.metricsAddress=0.0.0.0:9100',
        '--set',
        'config.probeAddress=0.0.0.0:9101',
        '--set',
        'config.solverAddress=0.0.0.0:9102',
        '--set',
        'config.http01Port=8000',
      ]);
      const { spec } = must(policyOf(objs));
      expect(spec.ingress?.map(ports)).toEqual([['9102/TCP', '9101/TCP'], ['9100/TCP']]);
      expect(spec.egress?.map(ports).at(-1)).toEqual(['8000/TCP']);
    });

    it('takes peers and extra rules, keeps the helm test Pod allowed to metrics, and can drop the self-check', () => {
      const monitoring = { namespaceSelector: { matchLabels: { name: 'monitoring' } } };
      const apiServer = { ipBlock: { cidr: '10.0.0.1/32' } };
      const extraOut = { ports: [{ port: 14000, protocol: 'TCP' }] };
      const objs = render('pt', 'certroute', [
        '--set',
        'networkPolicy.enabled=true',
        '--set-json',
        `networkPolicy.ingress.metricsFrom=[${JSON.stringify(monitoring)}]`,
        '--set-json',
        `networkPolicy.egress.apiServer.to=[${JSON.stringify(apiServer)}]`,
        '--set-json',
        `networkPolicy.egress.dns.to=[${JSON.stringify(monitoring)}]`,
        '--set-json',
        `networkPolicy.egress.extra=[${JSON.stringify(extraOut)}]`,
        '--set',
        'networkPolicy.egress.http01SelfCheck.enabled=false',
      ]);
      const { spec } = must(policyOf(objs));
      const [open, metrics] = spec.ingress ?? [];
      expect(open?.from).toBeUndefined();
      const [fromMonitoring, fromTest] = metrics?.from ?? [];
      expect(fromMonitoring).toEqual(monitoring);
      const testPeer = fromTest?.podSelector?.matchLabels ?? {};
      expect(Object.keys(testPeer).length).toBeGreaterThan(0);
      expect(must(testPodOf(objs)).metadata?.labels).toMatchObject(testPeer);
      const egress = spec.egress ?? [];
      expect(egress.map(ports)).toEqual([
        ['53/UDP', '53/TCP'],
        ['443/TCP', '6443/TCP'],
        ['443/TCP'],
        ['14000/TCP'],
      ]);
      expect(egress.map((r) => r.to)).toEqual([[monitoring], [apiServer], undefined, undefined]);
    });

    it('does not select the helm test Pod, which the operator’s Deployment and Service do not either', () => {
      const objs = render('pt', 'certroute', ['--set', 'networkPolicy.enabled=true']);
      const labels = testPodOf(objs)?.metadata?.labels ?? {};
      const selects = (sel: Record<string, string> | undefined) =>
        Object.entries(sel ?? {}).every(([k, v]) => labels[k] === v);
      expect(selects(policyOf(objs)?.spec?.podSelector.matchLabels)).toBe(false);
      expect(selects(podOf(objs).d.spec?.selector.matchLabels)).toBe(false);
      const [svc] = find(objs, 'Service') as k8s.V1Service[];
      expect(selects(svc?.spec?.selector)).toBe(false);
    });
  });

  it('crds.install: the five CRDs by default; false leaves them out and nothing else', () => {
    expect(find(defaults, 'CustomResourceDefinition')).toHaveLength(5);
    const objs = render('cr', 'ns', ['--set', 'crds.install=false']);
    expect(find(objs, 'CustomResourceDefinition')).toEqual([]);
    const again = render('cr', 'ns');
    expect(kindsOf(objs)).toEqual(kindsOf(again).filter((k) => k !== 'CustomResourceDefinition'));
  });

  it('domainPolicies: each item becomes a DomainPolicy with its spec; none by default', () => {
    expect(find(defaults, 'DomainPolicy')).toEqual([]);
    const objs = render('dp', 'ns', [
      '--set',
      'domainPolicies[0].name=team-a',
      '--set',
      'domainPolicies[0].labels.tier=test',
      '--set',
      'domainPolicies[0].spec.namespaces.names={team-a}',
      '--set',
      'domainPolicies[0].spec.domains[0].suffix=a.example.com',
    ]);
    const [p] = find(objs, 'DomainPolicy') as (Obj & { spec?: unknown })[];
    expect(p?.metadata?.name).toBe('team-a');
    expect(p?.metadata?.labels?.tier).toBe('test');
    expect(p?.spec).toEqual({
      namespaces: { names: ['team-a'] },
      domains: [{ suffix: 'a.example.com' }],
    });
    const bad = helm(['template', 'dp', chart, '--set', 'domainPolicies[0].name=x']);
    expect(bad.status).not.toBe(0);
  });

  describe('aggregated roles', () => {
    const rulesOf = (objs: Obj[], name: string) =>
      (named(objs, 'ClusterRole', name) as k8s.V1ClusterRole | undefined)?.rules;
    const labelsOf = (objs: Obj[], name: string) =>
      named(objs, 'ClusterRole', name)?.metadata?.labels ?? {};
    const agg = (r: string) => `rbac.authorization.k8s.io/aggregate-to-${r}`;

    it('by default: view (read) aggregates into view, edit and admin; edit (Certificates and Issuers) into edit and admin', () => {
      const objs = render('rel', 'ns');
      expect(rulesOf(objs, 'rel-certroute-view')).toEqual([
        {
          apiGroups: ['certroute.io'],
          resources: ['certificates', 'dnsendpoints', 'issuers'],
          verbs: ['get', 'list', 'watch'],
        },
      ]);
      expect(labelsOf(objs, 'rel-certroute-view')).toMatchObject({
        [agg('view')]: 'true',
        [agg('edit')]: 'true',
        [agg('admin')]: 'true',
      });
      expect(rulesOf(objs, 'rel-certroute-edit')).toEqual([
        {
          apiGroups: ['certroute.io'],
          resources: ['certificates', 'issuers'],
          verbs: ['create', 'update', 'patch', 'delete', 'deletecollection'],
        },
      ]);
      const edit = labelsOf(objs, 'rel-certroute-edit');
      expect(edit).toMatchObject({ [agg('edit')]: 'true', [agg('admin')]: 'true' });
      expect(edit[agg('view')]).toBeUndefined();
      // The operator's own ClusterRole aggregates nowhere.
      expect(
        Object.keys(labelsOf(objs, 'rel-certroute')).filter((k) => k.includes('aggregate')),
      ).toEqual([]);
    });

    it('editDNSEndpoints adds DNSEndpoints to edit; editIssuers=false takes Issuers out; enabled=false or rbac.create=false leaves them out', () => {
      const dns = render('rel', 'ns', ['--set', 'rbac.aggregatedRoles.editDNSEndpoints=true']);
      expect(rulesOf(dns, 'rel-certroute-edit')?.[0]?.resources).toEqual([
        'certificates',
        'issuers',
        'dnsendpoints',
      ]);
      const noIssuers = render('rel', 'ns', ['--set', 'rbac.aggregatedRoles.editIssuers=false']);
      expect(rulesOf(noIssuers, 'rel-certroute-edit')?.[0]?.resources).toEqual(['certificates']);
      // Reading them stays: a team sees the Issuers the platform made in its namespace.
      expect(rulesOf(noIssuers, 'rel-certroute-view')?.[0]?.resources).toContain('issuers');
      const off = render('rel', 'ns', ['--set', 'rbac.aggregatedRoles.enabled=false']);
      expect(find(off, 'ClusterRole').map((r) => r.metadata?.name)).toEqual(['rel-certroute']);
      const none = render('rel', 'ns', ['--set', 'rbac.create=false']);
      expect(find(none, 'ClusterRole')).toEqual([]);
    });
  });

  describe('the helm test hook', () => {
    it('is a test-hook Pod running the operator image’s Node against the metrics Service', () => {
      const pod = must(testPodOf(defaults));
      const spec = must(pod.spec);
      const { c, pod: operatorSpec } = podOf(defaults);
      expect(pod.metadata?.annotations?.['helm.sh/hook']).toBe('test');
      expect(spec.restartPolicy).toBe('Never');
      const tc = must(spec.containers[0]);
      expect(tc.image).toBe(c.image);
      expect(tc.command?.slice(0, 2)).toEqual(['node', '-e']);
      expect(tc.securityContext).toEqual(c.securityContext);
      expect(spec.securityContext).toEqual(operatorSpec.securityContext);
      expect(spec.automountServiceAccountToken).toBe(false);
      const svc = must((find(defaults, 'Service') as k8s.V1Service[])[0]);
      const port = svc.spec?.ports?.[0]?.port;
      const url = tc.env?.find((e) => e.name === 'CERTROUTE_TEST_URL')?.value;
      expect(url).toBe(`http://${svc.metadata?.name}.${releaseNs}.svc:${port}/metrics`);
    });

    it('helmTest.enabled=false leaves it out; it needs the metrics Service', () => {
      expect(find(render('t', 'ns', ['--set', 'helmTest.enabled=false']), 'Pod')).toEqual([]);
      const res = helm(['template', 'x', chart, '--set', 'metrics.service.enabled=false']);
      expect(res.status).not.toBe(0);
      expect(res.stderr).toContain('helmTest.enabled needs metrics.service.enabled');
      const both = render('t', 'ns', [
        '--set',
        'metrics.service.enabled=false',
        '--set',
        'helmTest.enabled=false',
      ]);
      expect(find(both, 'Pod')).toEqual([]);
    });
  });

  describe('EndpointSlice (HTTP-01 solver) RBAC', () => {
    const hasSolverRules = (rules: k8s.V1PolicyRule[] | undefined) =>
      (rules ?? []).some((r) => r.resources?.includes('endpointslices'));

    it('is cluster-wide without config.watchNamespaces', () => {
      const [cr] = find(defaults, 'ClusterRole').filter((r) =>
        hasSolverRules((r as k8s.V1ClusterRole).rules),
      );
      expect(cr?.metadata?.name).toBe(`${release}-certroute`);
      expect(find(defaults, 'Role').map((r) => r.metadata?.name)).toEqual([
        `${release}-certroute-leader-election`,
        `${release}-certroute-deletions`,
      ]);
    });

    it('with config.watchNamespaces (list or string, repeats once), a Role and RoleBinding in each, one in the release namespace, and only cluster-scoped rules in the ClusterRole', () => {
      for (const set of [
        'config.watchNamespaces={shop,blog,shop}',
        'config.watchNamespaces=shop\\,blog',
      ]) {
        const objs = render('rel', 'ns', ['--set', set]);
        const cr = named(objs, 'ClusterRole', 'rel-certroute') as k8s.V1ClusterRole | undefined;
        expect(hasSolverRules(cr?.rules), set).toBe(false);
        // Nothing namespaced in the ClusterRole: no Secret, Ingress or Event anywhere else.
        expect(cr?.rules?.map((x) => [x.apiGroups, x.resources, x.verbs])).toEqual([
          [['certroute.io'], ['clusterissuers'], ['get', 'list', 'watch']],
          [['certroute.io'], ['domainpolicies'], ['get', 'list', 'watch']],
          [['certroute.io'], ['clusterissuers/status', 'domainpolicies/status'], ['patch']],
          [[''], ['namespaces'], ['list', 'watch']],
          [['gateway.networking.k8s.io'], ['gatewayclasses'], ['get', 'list', 'watch']],
          [[''], ['namespaces'], ['get']],
        ]);
        const roles = find(objs, 'Role').filter(
          (r) => r.metadata?.name === 'rel-certroute-watched',
        );
        expect(
          roles.map((r) => r.metadata?.namespace),
          set,
        ).toEqual(['shop', 'blog']);
        for (const r of roles as k8s.V1Role[]) {
          expect(r.rules?.map((x) => [x.resources, x.verbs])).toEqual([
            [['ingresses'], ['get', 'list', 'watch', 'patch']],
            [['ingresses'], ['create', 'delete']],
            [['services'], ['list', 'create', 'delete']],
            [['endpointslices'], ['get', 'list', 'create', 'update', 'delete']],
            [['httproutes'], ['get', 'list', 'create', 'delete']],
            [['secrets'], ['get', 'list', 'watch', 'create', 'update', 'delete']],
            [['events'], ['create', 'patch']],
            [
              ['certificates', 'dnsendpoints'],
              ['get', 'list', 'watch', 'create', 'update', 'delete'],
            ],
            [['certificates/status', 'dnsendpoints/status'], ['patch']],
            [['issuers'], ['get', 'list', 'watch']],
            [['issuers/status'], ['patch']],
            [['services'], ['get', 'list', 'watch']],
            [
              ['gateways', 'httproutes', 'grpcroutes', 'tlsroutes'],
              ['get', 'list', 'watch'],
            ],
          ]);
        }
        expectReleaseAndEventRoles(objs);
        const bindings = find(objs, 'RoleBinding').filter(
          (b) => b.metadata?.name === 'rel-certroute-watched',
        ) as unknown as k8s.V1RoleBinding[];
        expect(bindings.map((b) => b.metadata?.namespace)).toEqual(['shop', 'blog']);
        for (const b of bindings)
          expect(b.subjects).toEqual([
            { kind: 'ServiceAccount', name: 'rel-certroute', namespace: 'ns' },
          ]);
      }
    });
  });
});

/** With config.watchNamespaces: the release namespace's Role and the Events Role in `default`. */
function expectReleaseAndEventRoles(objs: Obj[]): void {
  // The release namespace: account key Secrets (read, created).
  const release = named(objs, 'Role', 'rel-certroute-release') as k8s.V1Role | undefined;
  expect(release?.metadata?.namespace).toBe('ns');
  expect(release?.rules?.map((x) => [x.resources, x.verbs])).toEqual([
    [['secrets'], ['get', 'create']],
  ]);
  // Events about ClusterIssuers and DomainPolicies: only `default` accepts them.
  const events = named(objs, 'Role', 'rel-certroute-cluster-events') as k8s.V1Role | undefined;
  expect(events?.metadata?.namespace).toBe('default');
  expect(events?.rules?.map((x) => [x.resources, x.verbs])).toEqual([
    [['events'], ['create', 'patch']],
  ]);
  expect(named(objs, 'RoleBinding', 'rel-certroute-cluster-events')?.metadata?.namespace).toBe(
    'default',
  );
}

// ---------------------------------------------------------------- applied to the lab

describe('applied to the lab kube-apiserver', () => {
  it('creates every object of the default render (strict field validation)', async () => {
    // beforeAll applied them; they are all there, as rendered.
    const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
    for (const o of defaults.filter((x) => !isHook(x))) {
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
      // The watched namespaces of that file do not exist here: the solver Roles go into this one.
      const objs = render(uniqueName('full'), ns, [
        '-f',
        allFeatures,
        '--set',
        `config.watchNamespaces={${ns}}`,
      ]);
      await apply(objs, created);
      expect(new Set(kindsOf(created))).toEqual(
        new Set([
          'ClusterIssuer',
          'ClusterRole',
          'ClusterRoleBinding',
          'ConfigMap',
          'Deployment',
          'NetworkPolicy',
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

describe('applied to the lab: the NetworkPolicy, the CRD switch and the test Pod', () => {
  it('installs with the NetworkPolicy on and the CRDs left out', async () => {
    const ns = await createNamespace(kc, 'helm-np');
    const created: Obj[] = [];
    try {
      const objs = render(uniqueName('np'), ns, [
        '--set',
        'networkPolicy.enabled=true',
        '--set',
        'crds.install=false',
        '--set-json',
        'networkPolicy.egress.apiServer.to=[{"ipBlock":{"cidr":"10.0.0.1/32"}}]',
      ]);
      expect(find(objs, 'CustomResourceDefinition')).toEqual([]);
      await apply(objs, created);
      const [np] = find(objs, 'NetworkPolicy');
      // Read back raw (the typed client renames `from`): stored as rendered.
      const live = await requestJson(
        'GET',
        `/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies/${np?.metadata?.name}`,
        undefined,
      );
      expect(live.status).toBe(200);
      expect((JSON.parse(live.body) as Obj).spec).toEqual(np?.spec);
      expect(kindsOf(created)).toContain('Deployment');
    } finally {
      await deleteClusterScoped(created);
      await deleteNamespace(kc, ns);
    }
  });

  it('the CRDs crds.install renders are accepted as they are (server-side apply, dry run)', async () => {
    const crds = find(defaults, 'CustomResourceDefinition');
    expect(crds).toHaveLength(5);
    for (const crd of crds) {
      const res = await requestJson(
        'PATCH',
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata?.name}?dryRun=All&fieldManager=certroute-helm-test&force=true&fieldValidation=Strict`,
        crd,
        'application/apply-patch+yaml',
      );
      expect(res.status, `${crd.metadata?.name}: ${res.body}`).toBe(200);
    }
  });

  it('creates the helm test Pod as rendered (strict field validation)', async () => {
    const [pod] = find(defaults, 'Pod');
    if (!pod) throw new Error('no test Pod rendered');
    // The namespace's default ServiceAccount appears shortly after the namespace.
    const res = await eventually(async () => {
      const r = await createStrict(pod);
      return r.status === 201 ? r : r.body.includes('serviceaccount') ? false : r;
    });
    expect(res.status, res.body).toBe(201);
    await kc
      .makeApiClient(k8s.CoreV1Api)
      .deleteNamespacedPod({ namespace: releaseNs, name: pod.metadata?.name ?? '' });
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

/** The rules `as` holds in `namespace`, one `group/resource:verb[names]` string each. */
async function rulesIn(as: k8s.KubeConfig, namespace: string): Promise<string[]> {
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
}

let baseline: k8s.KubeConfig | undefined;
/**
 * What `as` is granted in `namespace` beyond what every authenticated identity may do anyway
 * (self-reviews, public discovery data, which differ between Kubernetes versions): the rules
 * of a ServiceAccount with no bindings at all are taken away.
 */
async function granted(as: k8s.KubeConfig, namespace: string): Promise<string[]> {
  if (!baseline) {
    const bare = uniqueName('bare');
    await kc
      .makeApiClient(k8s.CoreV1Api)
      .createNamespacedServiceAccount({ namespace: releaseNs, body: { metadata: { name: bare } } });
    baseline = (await serviceAccountKubeConfig(kc, releaseNs, bare)).kubeConfig;
  }
  const base = new Set(await rulesIn(baseline, namespace));
  return (await rulesIn(as, namespace)).filter((r) => !base.has(r));
}

/** Rules on cluster-scoped objects: the whole ClusterRole with config.watchNamespaces. */
const clusterScoped = [
  ...['get', 'list', 'watch'].map((v) => `certroute.io/clusterissuers:${v}`),
  'certroute.io/clusterissuers/status:patch',
  ...['get', 'list', 'watch'].map((v) => `certroute.io/domainpolicies:${v}`),
  'certroute.io/domainpolicies/status:patch',
  '/namespaces:list',
  '/namespaces:watch',
  '/namespaces:get[kube-system]',
  ...['get', 'list', 'watch'].map((v) => `gateway.networking.k8s.io/gatewayclasses:${v}`),
];
/**
 * The rules on namespaced objects but the HTTP-01 solver's: in the ClusterRole by default, in
 * each watched namespace's Role with config.watchNamespaces.
 */
const namespaced = [
  ...['get', 'list', 'watch', 'patch'].map((v) => `networking.k8s.io/ingresses:${v}`),
  ...['get', 'list', 'watch', 'create', 'update', 'delete'].map((v) => `/secrets:${v}`),
  '/events:create',
  '/events:patch',
  ...['get', 'list', 'watch', 'create', 'update', 'delete'].flatMap((v) => [
    `certroute.io/certificates:${v}`,
    `certroute.io/dnsendpoints:${v}`,
  ]),
  'certroute.io/certificates/status:patch',
  'certroute.io/dnsendpoints/status:patch',
  ...['get', 'list', 'watch'].map((v) => `certroute.io/issuers:${v}`),
  'certroute.io/issuers/status:patch',
  // The sources beyond Ingress: read only.
  ...['get', 'list', 'watch'].flatMap((v) => [
    `/services:${v}`,
    ...['gateways', 'httproutes', 'grpcroutes', 'tlsroutes'].map(
      (r) => `gateway.networking.k8s.io/${r}:${v}`,
    ),
  ]),
];
/** The default ClusterRole's rules but the HTTP-01 solver's, as a rules review lists them. */
const clusterWide = [...namespaced, ...clusterScoped];
/** The release namespace's Role with config.watchNamespaces: account keys. */
const releaseRules = ['/secrets:get', '/secrets:create'];
/** `default`, with config.watchNamespaces: Events about cluster-scoped objects only. */
const clusterEventRules = ['/events:create', '/events:patch'];
/** Rules as a rules review lists them: each once (two rules may grant the same), sorted. */
const ruleSet = (...rules: string[]): string[] => [...new Set(rules)].sort();
/** The HTTP-01 solver's rules: cluster-wide by default, per watched namespace when narrowed. */
const solverRules = [
  ...['create', 'delete'].map((v) => `networking.k8s.io/ingresses:${v}`),
  ...['list', 'create', 'delete'].map((v) => `/services:${v}`),
  ...['get', 'list', 'create', 'update', 'delete'].map(
    (v) => `discovery.k8s.io/endpointslices:${v}`,
  ),
  ...['get', 'list', 'create', 'delete'].map((v) => `gateway.networking.k8s.io/httproutes:${v}`),
];
const leader = [
  // Leader election and the solver members' Leases (src/acme/solvers/members.ts).
  'coordination.k8s.io/leases:create',
  'coordination.k8s.io/leases:delete',
  'coordination.k8s.io/leases:get',
  'coordination.k8s.io/leases:list',
  'coordination.k8s.io/leases:update',
  // Blocked deletions and their approvals (src/dns/approvals.ts).
  '/configmaps:create',
  '/configmaps:get[certroute-deletions]',
  '/configmaps:update[certroute-deletions]',
];

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
    // Leases: another namespace is out of reach. In its own, any Lease is (the solver members'
    // names come from pod names, which RBAC cannot list in advance: docs/rbac.md).
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
    ).toBe(200);
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
    { verb: 'update', resource: 'configmaps', namespace: 'RELEASE', name: 'other' },
    { verb: 'list', resource: 'configmaps', namespace: 'RELEASE' },
    { verb: 'get', resource: 'namespaces', name: 'default' },
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
    { verb: 'patch', resource: 'services', namespace: 'x' },
    { verb: 'create', group: 'gateway.networking.k8s.io', resource: 'gateways', namespace: 'x' },
    { verb: 'update', group: 'gateway.networking.k8s.io', resource: 'httproutes', namespace: 'x' },
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
    { verb: 'create', group: 'certroute.io', resource: 'domainpolicies' },
    { verb: 'update', group: 'certroute.io', resource: 'domainpolicies' },
    // Issuers belong to their namespace's team: the operator reads them and writes status only.
    { verb: 'create', group: 'certroute.io', resource: 'issuers', namespace: 'x' },
    { verb: 'update', group: 'certroute.io', resource: 'issuers', namespace: 'x' },
    { verb: 'delete', group: 'certroute.io', resource: 'issuers', namespace: 'x' },
    {
      verb: 'update',
      group: 'certroute.io',
      resource: 'certificates',
      subresource: 'status',
      namespace: 'x',
    },
    { verb: 'create', group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions' },
    // Leases only in the release namespace.
    { verb: 'list', group: 'coordination.k8s.io', resource: 'leases' },
    { verb: 'delete', group: 'coordination.k8s.io', resource: 'leases', namespace: 'x' },
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
      { verb, group: 'certroute.io', resource: 'issuers' },
    ]),
    { verb: 'get', group: 'certroute.io', resource: 'clusterissuers' },
    ...['get', 'list', 'watch'].map((verb) => ({
      verb,
      group: 'certroute.io',
      resource: 'domainpolicies',
    })),
    { verb: 'patch', group: 'certroute.io', resource: 'domainpolicies', subresource: 'status' },
    ...['list', 'watch'].map((verb) => ({ verb, resource: 'namespaces' })),
    { verb: 'get', group: 'certroute.io', resource: 'issuers', namespace: 'any' },
    {
      verb: 'patch',
      group: 'certroute.io',
      resource: 'issuers',
      subresource: 'status',
      namespace: 'any',
    },
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
    // The solver members: one Lease per replica, listed by the leader, deleted when it leaves.
    ...['list', 'delete'].map((verb) => ({
      verb,
      group: 'coordination.k8s.io',
      resource: 'leases',
      namespace: 'RELEASE',
    })),
    { verb: 'get', resource: 'namespaces', name: 'kube-system' },
    { verb: 'create', resource: 'configmaps', namespace: 'RELEASE' },
    ...['get', 'update'].map((verb) => ({
      verb,
      resource: 'configmaps',
      namespace: 'RELEASE',
      name: 'certroute-deletions',
    })),
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
    expect(await granted(sa, otherNs)).toEqual(ruleSet(...clusterWide, ...solverRules));
    expect(await granted(sa, releaseNs)).toEqual(
      ruleSet(...clusterWide, ...solverRules, ...leader),
    );
  });
});

/**
 * Runs the operator as a chart ServiceAccount (its kubeconfig `saFile`, its release namespace),
 * watching `app` only, until it has led, published an Ingress's DNS and issued its certificate
 * over HTTP-01 (solver Ingress, Service and EndpointSlice in `app`); `whileRunning` runs before
 * it is stopped. Nothing may be refused: no `forbidden` in its log.
 */
async function operatorIssues(opts: {
  saFile: string;
  releaseNs: string;
  app: string;
  tag: string;
  /** --watch-namespaces; default: `app` only. */
  watch?: string[];
  extra?: string[];
  whileRunning?: () => Promise<void>;
}): Promise<void> {
  const { saFile, app, tag } = opts;
  const r53 = labRoute53(env);
  const zone = await createZone(r53, tag);
  const logFile = join(env.dir, `${opts.releaseNs}-operator.log`);
  const op = spawnOperator(env, logFile, [
    `--kubeconfig=${saFile}`,
    `--namespace=${opts.releaseNs}`,
    `--pod-name=${tag}-op`,
    `--watch-namespaces=${(opts.watch ?? [app]).join(',')}`,
    `--domain-filter=${zone.name}`,
    `--owner-id=${tag}`,
    '--lease-duration=4s',
    ...(opts.extra ?? []),
  ]);
  const issuer = `${tag}-${opts.releaseNs}`;
  try {
    // Leader election through the chart's Role, in the release namespace.
    await eventually(
      async () =>
        (
          await kc
            .makeApiClient(k8s.CoordinationV1Api)
            .readNamespacedLease({ namespace: opts.releaseNs, name: 'certroute-leader' })
        ).spec?.holderIdentity === `${tag}-op`,
      { timeoutMs: 30_000 },
    );

    await createClusterIssuer(kc, labIssuer(env, issuer));
    const net = kc.makeApiClient(k8s.NetworkingV1Api);
    const host = `www.${zone.name}`;
    await net.createNamespacedIngress({
      namespace: app,
      body: ingress({
        name: 'web',
        namespace: app,
        hosts: [host],
        tls: [{ secretName: 'web-tls', hosts: [host] }],
        annotations: { 'certroute.io/dns': 'true', 'certroute.io/issuer': issuer },
      }),
    });
    await writeAddress(net, app, 'web', [{ ip: env.ingressAddress }]);

    // The shim (DNSEndpoint create), the DNS controller (Route53, DNSEndpoint status) and the
    // event recorder all worked under the ServiceAccount.
    await eventually(
      async () =>
        (await record(r53, zone.id, host, 'A'))?.ResourceRecords?.[0]?.Value === env.ingressAddress,
      { timeoutMs: 45_000 },
    );
    await eventually(async () =>
      (await eventsFor(kc, app, 'web')).some((e) => e.reason === 'RecordPublished'),
    );
    // The issuer controller (account key Secret in the release namespace) and the certificate
    // controller (solver Ingress, Service, EndpointSlice; the tls Secret) did too.
    const secret = await eventually(
      async () => {
        const s = await kc
          .makeApiClient(k8s.CoreV1Api)
          .readNamespacedSecret({ namespace: app, name: 'web-tls' });
        return s.type === 'kubernetes.io/tls' && s;
      },
      { timeoutMs: 45_000 },
    );
    expect(secret.data?.['tls.crt']).toBeTruthy();
    await opts.whileRunning?.();

    const denied = rbacDenials(logFile);
    expect(denied).toEqual([]);
    expect(op.exitCode).toBeUndefined();
  } finally {
    await op.stop();
    await deleteClusterIssuer(kc, issuer).catch(() => undefined);
  }
}

/** Runs the helm test Pod's command here, as its container would, with `env` over the Pod's. */
function runTestPod(pod: k8s.V1Pod, vars: Record<string, string>) {
  const c = pod.spec?.containers[0];
  const [cmd, ...args] = c?.command ?? [];
  expect(cmd).toBe('node');
  const podEnv = Object.fromEntries((c?.env ?? []).map((e) => [e.name, e.value ?? '']));
  // The lab's Node is the image's (both 22.x); only the Pod's own variables, no NODE_OPTIONS.
  return spawnSync(process.execPath, args, {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, ...podEnv, ...vars },
  });
}

describe('RBAC is enough', () => {
  it(
    'runs the operator as the chart ServiceAccount: it leads, publishes DNS and issues a certificate; the helm test command passes against it',
    { timeout: 120_000 },
    async () => {
      const metricsPort = await freePort();
      const probePort = await freePort();
      const [testPod] = find(defaults, 'Pod') as k8s.V1Pod[];
      if (!testPod) throw new Error('no helm test Pod rendered');
      await operatorIssues({
        saFile,
        releaseNs,
        app: appNs,
        tag: 'helm',
        extra: [
          `--metrics-address=127.0.0.1:${metricsPort}`,
          `--probe-address=127.0.0.1:${probePort}`,
        ],
        whileRunning: async () => {
          // The helm test hook's own command (node -e, the operator image has no shell), pointed
          // at this operator's metrics instead of the Service's cluster DNS name.
          const ok = runTestPod(testPod, {
            CERTROUTE_TEST_URL: `http://127.0.0.1:${metricsPort}/metrics`,
          });
          expect(ok.stdout + ok.stderr).toContain('HTTP 200, certroute metrics served');
          expect(ok.status).toBe(0);
          // And it fails when nothing serves there, or something else does (the probe port's
          // /healthz is not certroute's metrics).
          const closed = runTestPod(testPod, {
            CERTROUTE_TEST_URL: `http://127.0.0.1:${await freePort()}/metrics`,
            CERTROUTE_TEST_ATTEMPTS: '1',
          });
          expect(closed.stderr).toContain('ECONNREFUSED');
          expect(closed.status).toBe(1);
          const other = runTestPod(testPod, {
            CERTROUTE_TEST_URL: `http://127.0.0.1:${probePort}/healthz`,
            CERTROUTE_TEST_ATTEMPTS: '1',
          });
          expect(other.stderr).toContain('HTTP 200 without certroute metrics');
          expect(other.status).toBe(1);
        },
      });
    },
  );
});

// ---------------------------------------------------------------- EndpointSlices, narrowed

describe('with config.watchNamespaces: Roles in those namespaces (and the release namespace), not ClusterRoles', () => {
  let narrowNs: string;
  let narrowApp: string;
  let narrowApp2: string;
  let narrowSa: k8s.KubeConfig;
  let narrowSaFile: string;
  const created: Obj[] = [];

  beforeAll(async () => {
    narrowNs = await createNamespace(kc, 'helm-narrow');
    narrowApp = await createNamespace(kc, 'helm-narrow-app');
    narrowApp2 = await createNamespace(kc, 'helm-narrow-app2');
    const objs = render(uniqueName('narrow'), narrowNs, [
      '--set',
      `config.watchNamespaces={${narrowApp},${narrowApp2}}`,
    ]);
    await apply(objs, created);
    const name = find(objs, 'ServiceAccount')[0]?.metadata?.name ?? '';
    narrowSaFile = join(work, 'narrow-sa.kubeconfig');
    narrowSa = (await serviceAccountKubeConfig(kc, narrowNs, name, narrowSaFile)).kubeConfig;
  });

  afterAll(async () => {
    await deleteClusterScoped(created);
    for (const ns of [narrowNs, narrowApp, narrowApp2]) if (ns) await deleteNamespace(kc, ns);
  });

  it('grants the namespaced rules in the watched namespaces only (rules review)', async () => {
    for (const app of [narrowApp, narrowApp2])
      expect(await granted(narrowSa, app)).toEqual(ruleSet(...clusterWide, ...solverRules));
    expect(await granted(narrowSa, otherNs)).toEqual(ruleSet(...clusterScoped));
    expect(await granted(narrowSa, narrowNs)).toEqual(
      ruleSet(...clusterScoped, ...leader, ...releaseRules),
    );
    expect(await granted(narrowSa, 'default')).toEqual(
      ruleSet(...clusterScoped, ...clusterEventRules),
    );
  });

  it('cannot read a Secret in a third namespace (access review and a real request), nor list Secrets cluster-wide', async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    await core.createNamespacedSecret({
      namespace: otherNs,
      body: { metadata: { name: 'not-yours' }, stringData: { password: 'hunter2' } },
    });
    try {
      const self = narrowSa.makeApiClient(k8s.AuthorizationV1Api);
      const may = async (attrs: k8s.V1ResourceAttributes) =>
        (
          await self.createSelfSubjectAccessReview({
            body: { spec: { resourceAttributes: attrs } },
          })
        ).status?.allowed === true;
      const secret = { resource: 'secrets', namespace: otherNs };
      for (const verb of ['get', 'list', 'watch'])
        expect(await may({ ...secret, verb }), verb).toBe(false);
      expect(await may({ ...secret, verb: 'get', name: 'not-yours' })).toBe(false);
      expect(await may({ resource: 'secrets', verb: 'list' })).toBe(false); // all namespaces
      expect(await may({ resource: 'secrets', verb: 'list', namespace: narrowNs })).toBe(false);
      // In a watched namespace it may.
      expect(await may({ resource: 'secrets', verb: 'list', namespace: narrowApp2 })).toBe(true);
      const as = narrowSa.makeApiClient(k8s.CoreV1Api);
      expect(
        await statusOf(as.readNamespacedSecret({ namespace: otherNs, name: 'not-yours' })),
      ).toBe(403);
      expect(await statusOf(as.listNamespacedSecret({ namespace: otherNs }))).toBe(403);
      expect(await statusOf(as.listSecretForAllNamespaces())).toBe(403);
      // Nor the other namespaced objects it works with.
      const net = narrowSa.makeApiClient(k8s.NetworkingV1Api);
      expect(await statusOf(net.listNamespacedIngress({ namespace: otherNs }))).toBe(403);
      expect(await statusOf(net.listIngressForAllNamespaces())).toBe(403);
    } finally {
      await core.deleteNamespacedSecret({ namespace: otherNs, name: 'not-yours' });
    }
  });

  it("lets the solver's own code create its Service, EndpointSlice and Ingress in the watched namespace, and refuses them elsewhere", async () => {
    const cert = await k8s.KubernetesObjectApi.makeApiClient(kc).create<k8s.KubernetesObject>({
      apiVersion: 'certroute.io/v1alpha1',
      kind: 'Certificate',
      metadata: { name: 'solver-owner', namespace: narrowApp },
      spec: {
        dnsNames: ['solver.example.test'],
        issuerRef: { name: 'none' },
        secretName: 'solver-tls',
      },
    } as k8s.KubernetesObject);
    const objects = new Http01Objects(narrowSa, () =>
      Promise.resolve({ port: 8089, addresses: ['192.0.2.7'] }),
    );
    const target = {
      namespace: narrowApp,
      certificate: { name: 'solver-owner', uid: cert.metadata?.uid ?? '' },
      host: 'solver.example.test',
      ingressClassName: undefined,
    };
    await objects.present(target);
    const name = solverName(target.certificate.uid, target.host);
    const slice = await kc
      .makeApiClient(k8s.DiscoveryV1Api)
      .readNamespacedEndpointSlice({ namespace: narrowApp, name });
    expect(slice.endpoints?.[0]?.addresses).toEqual(['192.0.2.7']);
    // A resumed order on another replica re-points the slice (get, update).
    // Every replica that serves tokens is listed.
    await new Http01Objects(narrowSa, () =>
      Promise.resolve({ port: 8089, addresses: ['192.0.2.8', '192.0.2.9'] }),
    ).present(target);
    expect(
      (
        await kc
          .makeApiClient(k8s.DiscoveryV1Api)
          .readNamespacedEndpointSlice({ namespace: narrowApp, name })
      ).endpoints?.map((e) => e.addresses[0]),
    ).toEqual(['192.0.2.8', '192.0.2.9']);
    expect(await objects.cleanup(narrowApp, 'solver-owner')).toBe(3);

    // Elsewhere: refused, the EndpointSlice itself included.
    await expect(objects.present({ ...target, namespace: otherNs })).rejects.toMatchObject({
      code: 403,
    });
    const disc = narrowSa.makeApiClient(k8s.DiscoveryV1Api);
    expect(
      await statusOf(
        disc.createNamespacedEndpointSlice({
          namespace: otherNs,
          body: {
            metadata: { name: 'hijack', labels: { 'kubernetes.io/service-name': 'anything' } },
            addressType: 'IPv4',
            endpoints: [{ addresses: ['192.0.2.9'] }],
          },
        }),
      ),
    ).toBe(403);
    expect(await statusOf(disc.listEndpointSliceForAllNamespaces())).toBe(403);
  });

  it(
    'runs the operator as that ServiceAccount with --watch-namespaces: it publishes DNS and issues a certificate over HTTP-01 in a watched namespace, with no RBAC denial',
    { timeout: 120_000 },
    async () => {
      await operatorIssues({
        saFile: narrowSaFile,
        releaseNs: narrowNs,
        app: narrowApp2,
        watch: [narrowApp, narrowApp2],
        tag: 'narrow',
      });
      // Every namespaced cache was one informer per watched namespace, none cluster-wide.
      const synced = logLines(join(env.dir, `${narrowNs}-operator.log`))
        .filter((l) => l.msg === 'cache synced')
        .map((l) => String(l.resource));
      for (const r of ['ingresses', 'certificates', 'dnsendpoints', 'secrets']) {
        expect(synced).not.toContain(r);
        for (const app of [narrowApp, narrowApp2]) expect(synced).toContain(`${r}/${app}`);
      }
    },
  );
});

// ---------------------------------------------------------------- aggregated roles

describe('aggregated view and edit roles', () => {
  let kcm: ManagedProcess | undefined;
  const user = (name: string) => `${name}-${releaseNs}`;

  beforeAll(async () => {
    // The lab's kube-controller-manager runs no clusterrole aggregation; this one runs only
    // that controller, as every cluster's does, so the built-in view/edit/admin roles pick up
    // the chart's labelled ClusterRoles.
    kcm = spawnManaged('kube-controller-manager (aggregation)', bin.kubeControllerManager(), {
      args: [
        `--kubeconfig=${env.kubeconfig}`,
        '--controllers=clusterrole-aggregation-controller',
        '--leader-elect=false',
        '--secure-port=0',
        '--v=1',
      ],
      logFile: join(env.dir, `${releaseNs}-aggregation-controller.log`),
    });
    const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
    for (const role of ['view', 'edit'])
      await rbac.createNamespacedRoleBinding({
        namespace: appNs,
        body: {
          metadata: { name: `${role}-user` },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
          subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user(role) }],
        },
      });
  });

  afterAll(async () => {
    await kcm?.stop();
  });

  /** The API server's own decision for a user (SubjectAccessReview). */
  async function userMay(name: string, attrs: k8s.V1ResourceAttributes): Promise<boolean> {
    const review = await kc.makeApiClient(k8s.AuthorizationV1Api).createSubjectAccessReview({
      body: { spec: { user: name, resourceAttributes: attrs } },
    });
    return review.status?.allowed === true;
  }

  it('a user bound to view in a namespace reads certroute.io Certificates and DNSEndpoints there, and writes nothing', async () => {
    const cert = { group: 'certroute.io', resource: 'certificates', namespace: appNs };
    // Aggregation is asynchronous: wait until the controller has copied the chart's rules.
    await eventually(async () => userMay(user('view'), { ...cert, verb: 'list' }), {
      timeoutMs: 30_000,
    });
    for (const verb of ['get', 'list', 'watch']) {
      expect(await userMay(user('view'), { ...cert, verb }), verb).toBe(true);
      expect(
        await userMay(user('view'), { ...cert, resource: 'dnsendpoints', verb }),
        `dnsendpoints ${verb}`,
      ).toBe(true);
    }
    for (const verb of ['create', 'update', 'patch', 'delete'])
      expect(await userMay(user('view'), { ...cert, verb }), verb).toBe(false);
    expect(await userMay(user('view'), { ...cert, verb: 'get', namespace: otherNs })).toBe(false);
    // A real request as that user (impersonated): the list is served.
    const as = impersonating(user('view'));
    const list: unknown = await as.makeApiClient(k8s.CustomObjectsApi).listNamespacedCustomObject({
      group: 'certroute.io',
      version: 'v1alpha1',
      namespace: appNs,
      plural: 'certificates',
    });
    expect(list).toHaveProperty('items');
    expect(
      await statusOf(
        as.makeApiClient(k8s.CustomObjectsApi).listNamespacedCustomObject({
          group: 'certroute.io',
          version: 'v1alpha1',
          namespace: otherNs,
          plural: 'certificates',
        }),
      ),
    ).toBe(403);
  });

  it('a user bound to edit writes Certificates and Issuers, but not DNSEndpoints (editDNSEndpoints is off) or status', async () => {
    const cert = { group: 'certroute.io', resource: 'certificates', namespace: appNs };
    await eventually(async () => userMay(user('edit'), { ...cert, verb: 'create' }), {
      timeoutMs: 30_000,
    });
    for (const verb of ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']) {
      expect(await userMay(user('edit'), { ...cert, verb }), verb).toBe(true);
      expect(await userMay(user('edit'), { ...cert, resource: 'issuers', verb }), verb).toBe(true);
    }
    expect(
      await userMay(user('edit'), {
        ...cert,
        resource: 'issuers',
        verb: 'create',
        namespace: otherNs,
      }),
    ).toBe(false);
    expect(
      await userMay(user('edit'), {
        ...cert,
        resource: 'issuers',
        subresource: 'status',
        verb: 'patch',
      }),
    ).toBe(false);
    expect(
      await userMay(user('edit'), {
        group: 'certroute.io',
        resource: 'clusterissuers',
        verb: 'create',
      }),
    ).toBe(false);
    expect(await userMay(user('edit'), { ...cert, resource: 'dnsendpoints', verb: 'list' })).toBe(
      true,
    );
    expect(await userMay(user('edit'), { ...cert, resource: 'dnsendpoints', verb: 'create' })).toBe(
      false,
    );
    expect(await userMay(user('edit'), { ...cert, subresource: 'status', verb: 'patch' })).toBe(
      false,
    );
    expect(await userMay(user('edit'), { ...cert, verb: 'create', namespace: otherNs })).toBe(
      false,
    );
  });
});

/** The admin kubeconfig acting as `user` (Impersonate-User), for real requests as that user. */
function impersonating(user: string): k8s.KubeConfig {
  const as = new k8s.KubeConfig();
  as.loadFromOptions({
    clusters: kc.clusters,
    contexts: kc.contexts,
    currentContext: kc.currentContext,
    users: kc.users.map((u) => ({ ...u, impersonateUser: user })),
  });
  return as;
}
