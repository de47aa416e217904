// Proves each lab component is the real thing and wired as the rest of the suite expects.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, get, type Server } from 'node:http';
import { Agent } from 'node:https';
import { promisify } from 'node:util';
import { Resolver } from 'node:dns/promises';
import * as k8s from '@kubernetes/client-node';
import * as acme from 'acme-client';
import { ChangeResourceRecordSetsCommand, CreateHostedZoneCommand } from '@aws-sdk/client-route-53';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminConfig,
  createNamespace,
  deleteNamespace,
  eventually,
  labEnv,
  labRoute53,
  uniqueName,
} from '../lab/context.js';
import { labPodAddress } from '../lab/ingress-router.js';
import { serviceAccountKubeConfig } from '../lab/kube.js';
import { labNetnsNames, sweepStaleNetns } from '../lab/netns.js';
import { bin } from '../lab/paths.js';
import { spawnManaged } from '../lab/process.js';

const run = promisify(execFile);
const env = labEnv();
const kc = adminConfig(env);
const core = kc.makeApiClient(k8s.CoreV1Api);
const net = kc.makeApiClient(k8s.NetworkingV1Api);
let ns: string;

beforeAll(async () => {
  ns = await createNamespace(kc, 'smoke');
});
afterAll(async () => {
  await deleteNamespace(kc, ns);
});

function ingress(name: string, host: string, path: string, service: string): k8s.V1Ingress {
  return {
    metadata: { name, namespace: ns },
    spec: {
      rules: [
        {
          host,
          http: {
            paths: [
              {
                path,
                pathType: 'Prefix',
                backend: { service: { name: service, port: { number: 80 } } },
              },
            ],
          },
        },
      ],
    },
  };
}

describe('kube-apiserver', () => {
  it('creates, watches and deletes an Ingress', async () => {
    const seen: string[] = [];
    const watch = new k8s.Watch(kc);
    const req = await watch.watch(
      `/apis/networking.k8s.io/v1/namespaces/${ns}/ingresses`,
      {},
      (type: string, obj: k8s.V1Ingress) => seen.push(`${type}:${obj.metadata?.name}`),
      () => undefined,
    );
    try {
      await net.createNamespacedIngress({
        namespace: ns,
        body: ingress('web', 'web.example.test', '/', 'web'),
      });
      const got = await net.readNamespacedIngress({ namespace: ns, name: 'web' });
      expect(got.spec?.rules?.[0]?.host).toBe('web.example.test');
      await net.deleteNamespacedIngress({ namespace: ns, name: 'web' });
      await eventually(() => seen.includes('DELETED:web'));
      expect(seen).toEqual(['ADDED:web', 'DELETED:web']);
    } finally {
      req.abort();
    }
  });

  it('garbage-collects objects whose owner is deleted (kube-controller-manager runs)', async () => {
    const owner = await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'owner' } },
    });
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: {
        metadata: {
          name: 'child',
          ownerReferences: [
            { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata?.uid ?? '' },
          ],
        },
      },
    });
    await core.deleteNamespacedConfigMap({ namespace: ns, name: 'owner' });
    await eventually(
      async () => {
        const list = await core.listNamespacedConfigMap({ namespace: ns });
        return !list.items.some((c) => c.metadata?.name === 'child');
      },
      { timeoutMs: 30_000 },
    );
  });

  it('enforces RBAC for a ServiceAccount kubeconfig', async () => {
    const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
    await core.createNamespacedServiceAccount({
      namespace: ns,
      body: { metadata: { name: 'reader' } },
    });
    await rbac.createNamespacedRole({
      namespace: ns,
      body: {
        metadata: { name: 'cm-reader' },
        rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: 'cm-reader' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'cm-reader' },
        subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: ns }],
      },
    });
    const sa = await serviceAccountKubeConfig(kc, ns, 'reader');
    const saCore = sa.kubeConfig.makeApiClient(k8s.CoreV1Api);
    const cms = await saCore.listNamespacedConfigMap({ namespace: ns });
    expect(Array.isArray(cms.items)).toBe(true);
    await expect(saCore.listNamespacedSecret({ namespace: ns })).rejects.toMatchObject({
      code: 403,
    });
  });
});

describe('moto and the lab DNS', () => {
  it('resolves a record created in a moto hosted zone', async () => {
    const r53 = labRoute53(env);
    const zoneName = `${uniqueName('smoke')}.test`;
    const zone = await r53.send(
      new CreateHostedZoneCommand({ Name: zoneName, CallerReference: uniqueName('ref') }),
    );
    await r53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: zone.HostedZone?.Id,
        ChangeBatch: {
          Changes: [
            {
              Action: 'CREATE',
              ResourceRecordSet: {
                Name: `www.${zoneName}`,
                Type: 'A',
                TTL: 60,
                ResourceRecords: [{ Value: '127.0.0.1' }],
              },
            },
          ],
        },
      }),
    );
    const resolver = new Resolver();
    resolver.setServers([`${env.dnsHost}:${env.dnsPort}`]);
    expect(await resolver.resolve4(`www.${zoneName}`)).toEqual(['127.0.0.1']);
    await expect(resolver.resolve4(`nope.${zoneName}`)).rejects.toMatchObject({
      code: 'ENOTFOUND',
    });
  });
});

describe('pebble', () => {
  it('serves a directory with renewalInfo and profiles, and registers an account', async () => {
    const ca = readFileSync(env.acmeCaFile);
    acme.axios.defaults.httpsAgent = new Agent({ ca });
    const client = new acme.Client({
      directoryUrl: env.acmeDirectory,
      accountKey: await acme.crypto.createPrivateEcdsaKey(),
    });
    const account = await client.createAccount({
      termsOfServiceAgreed: true,
      contact: ['mailto:lab@example.test'],
    });
    expect(account.status).toBe('valid');
    expect(client.getAccountUrl()).toMatch(/^https:\/\/127\.0\.0\.1:\d+\//);
    const dir = (await acme.axios.get<Record<string, unknown>>(env.acmeDirectory)).data;
    expect(dir.renewalInfo).toEqual(expect.stringContaining('renewalInfo'));
    expect(Object.keys((dir.meta as { profiles: object }).profiles)).toEqual(
      expect.arrayContaining(['default', 'shortlived']),
    );
  });
});

// Traefik is the lab's ingress controller (traefik.test.ts). The harness router stays for
// Ingresses of no class, behind Traefik's lowest-priority catch-all: the tests that use it
// (DNS, ACM, the chart, benchmarks) are not about routing.
describe('harness router, behind Traefik', () => {
  let backend: Server;
  let backendPort: number;
  beforeAll(async () => {
    backend = createServer((req, res) => res.end(`backend saw ${req.headers.host}${req.url}`));
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    backendPort = (backend.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise((r) => backend.close(r));
  });

  it('routes an Ingress of no class by host and path to an EndpointSlice', async () => {
    const svc = uniqueName('svc');
    await core.createNamespacedService({
      namespace: ns,
      body: { metadata: { name: svc }, spec: { ports: [{ name: 'http', port: 80 }] } },
    });
    await kc.makeApiClient(k8s.DiscoveryV1Api).createNamespacedEndpointSlice({
      namespace: ns,
      body: {
        metadata: { name: svc, labels: { 'kubernetes.io/service-name': svc } },
        addressType: 'IPv4',
        endpoints: [{ addresses: [labPodAddress('127.0.0.1')], conditions: { ready: true } }],
        ports: [{ name: 'http', port: backendPort, protocol: 'TCP' }],
      },
    });
    const host = `${svc}.example.test`;
    await net.createNamespacedIngress({ namespace: ns, body: ingress(svc, host, '/app', svc) });
    const body = await eventually(async () => {
      const res = await getVia(env.ingressAddress, env.http01Port, host, '/app/x?q=1');
      return res.status === 200 ? res.body : undefined;
    });
    expect(body).toBe(`backend saw ${host}/app/x?q=1`);
    const miss = await getVia(env.ingressAddress, env.http01Port, host, '/other');
    expect(miss.status).toBe(404);
  });
});

/** A GET with an explicit Host header (fetch does not let a caller set Host). */
function getVia(address: string, port: number, host: string, path: string) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    get({ host: address, port, path, headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

describe('the lab network namespace', () => {
  it('holds the pod network and Traefik; the root namespace has no such address', async () => {
    const inside = (await run('ip', ['-n', env.netns, '-4', '-o', 'address'])).stdout;
    expect(inside).toMatch(/lo +inet 10\.244\.0\.254\/24/);
    // The root namespace's loopback has only its own address; nothing is in the pod network.
    const root = (await run('ip', ['-4', '-o', 'address'])).stdout;
    expect(root).not.toContain('10.244.0.');
    const rootLo = (await run('ip', ['-4', '-o', 'address', 'show', 'dev', 'lo'])).stdout;
    expect(rootLo.trim().split('\n')).toEqual([expect.stringMatching(/inet 127\.0\.0\.1\/8 /)]);
    // Traefik's process is in the namespace (its web entrypoint is bridged out on http01Port).
    const { stdout } = await run('ip', ['netns', 'pids', env.netns]);
    const comms = stdout
      .trim()
      .split('\n')
      .map((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim());
    expect(comms).toContain('traefik');
  });

  it('is swept, with what runs in it, once the lab that made it is gone', async () => {
    // A PID that has just exited stands for a lab killed before it could clean up.
    const gone = spawnManaged('gone', 'true', { args: [], logFile: '/dev/null' });
    await gone.exited;
    const name = `certroute-${gone.pid}-0ff1ce`;
    await run('ip', ['netns', 'add', name]);
    const orphan = spawnManaged('orphan', 'ip', {
      args: ['netns', 'exec', name, 'sleep', '300'],
      logFile: '/dev/null',
    });
    try {
      await eventually(async () => (await run('ip', ['netns', 'pids', name])).stdout.trim() !== '');
      expect(sweepStaleNetns()).toContain(name);
      expect(labNetnsNames()).not.toContain(name);
      expect(await orphan.exited).toBeNull(); // killed by a signal
      // The running lab's own namespace is left alone.
      expect(labNetnsNames()).toContain(env.netns);
    } finally {
      await orphan.stop();
      await run('ip', ['netns', 'delete', name]).catch(() => undefined);
    }
  });
});

describe('tools', () => {
  it('has helm', async () => {
    const { stdout } = await run(bin.helm(), ['version', '--short']);
    expect(stdout).toMatch(/^v3\.\d+/);
  });
  it('has promtool', async () => {
    const { stdout, stderr } = await run(bin.promtool(), ['--version']);
    expect(stdout + stderr).toMatch(/promtool, version \d+\.\d+/);
  });
});
