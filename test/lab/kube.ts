import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { bin } from './paths.js';
import { freePort, spawnManaged, waitFor, type ManagedProcess } from './process.js';

export interface KubeLab {
  server: string;
  kubeconfig: string;
  adminToken: string;
  processes: ManagedProcess[];
  /** Stops kube-apiserver only (etcd keeps its data), for apiserver-restart tests. */
  stopApiServer(): Promise<void>;
  /**
   * Starts kube-apiserver again on the same port and waits until it is ready; `extraArgs`
   * (e.g. feature gates) apply to this start only.
   */
  startApiServer(extraArgs?: string[]): Promise<void>;
  stop(): Promise<void>;
}

/**
 * @param beforeControllers runs once the API server is ready and before kube-controller-manager
 *   starts, so that CRDs installed there are known to the garbage collector from its first sync.
 */
export async function startKube(
  dir: string,
  beforeControllers?: (kubeconfig: string) => Promise<void>,
): Promise<KubeLab> {
  const kdir = join(dir, 'kube');
  mkdirSync(join(kdir, 'certs'), { recursive: true });
  const adminToken = randomBytes(24).toString('hex');
  writeFileSync(join(kdir, 'tokens.csv'), `${adminToken},lab-admin,lab-admin,"system:masters"\n`);
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(kdir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(join(kdir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));

  const etcd = await startEtcd(dir);
  const port = await freePort();
  const server = `https://127.0.0.1:${port}`;
  const kubeconfig = join(kdir, 'admin.kubeconfig');
  writeFileSync(kubeconfig, kubeconfigYaml(server, adminToken, 'lab-admin'));

  const apiArgs = [
    `--etcd-servers=${etcd.url}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${port}`,
    `--cert-dir=${join(kdir, 'certs')}`,
    '--authorization-mode=RBAC',
    `--token-auth-file=${join(kdir, 'tokens.csv')}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${join(kdir, 'sa.pub')}`,
    `--service-account-signing-key-file=${join(kdir, 'sa.key')}`,
    '--service-cluster-ip-range=10.96.0.0/16',
    '--endpoint-reconciler-type=none',
    '--enable-priority-and-fairness=false',
    '--allow-privileged=true',
    '--profiling=false',
    '--v=1',
  ];
  const lab: KubeLab = {
    server,
    kubeconfig,
    adminToken,
    processes: [etcd.proc],
    stopApiServer: async () => {
      const api = lab.processes.find((p) => p.name === 'kube-apiserver');
      await api?.stop();
      lab.processes = lab.processes.filter((p) => p !== api);
    },
    startApiServer: async (extraArgs: string[] = []) => {
      const api = spawnManaged('kube-apiserver', bin.kubeApiServer(), {
        args: [...apiArgs, ...extraArgs],
        logFile: join(dir, 'kube-apiserver.log'),
      });
      lab.processes.push(api);
      await waitFor('kube-apiserver /readyz', () => apiReady(server, adminToken), {
        proc: api,
        timeoutMs: 90_000,
        intervalMs: 200,
      });
    },
    stop: async () => {
      for (const p of [...lab.processes].reverse()) await p.stop();
      lab.processes = [];
    },
  };
  try {
    await lab.startApiServer();
    await beforeControllers?.(kubeconfig);
    lab.processes.push(startControllerManager(dir, kubeconfig));
  } catch (err) {
    await lab.stop();
    throw err;
  }
  return lab;
}

async function startEtcd(dir: string): Promise<{ url: string; proc: ManagedProcess }> {
  const [client, peer] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const proc = spawnManaged('etcd', bin.etcd(), {
    args: [
      '--name=lab',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=lab=${peerUrl}`,
      '--log-level=warn',
      // The lab's data is disposable; skipping fsync makes every write much faster.
      '--unsafe-no-fsync',
    ],
    logFile: join(dir, 'etcd.log'),
  });
  await waitFor(
    'etcd /health',
    async () => {
      const res = await fetch(`${url}/health`);
      return res.ok;
    },
    { proc },
  );
  return { url, proc };
}

/**
 * Only the controllers that make owner references and namespace deletion behave as in a
 * cluster (plus ServiceAccounts' default account); nothing that would schedule or run pods.
 */
function startControllerManager(dir: string, kubeconfig: string): ManagedProcess {
  return spawnManaged('kube-controller-manager', bin.kubeControllerManager(), {
    args: [
      `--kubeconfig=${kubeconfig}`,
      '--controllers=garbage-collector-controller,namespace-controller,serviceaccount-controller',
      '--leader-elect=false',
      '--secure-port=0',
      '--concurrent-gc-syncs=5',
      '--v=1',
    ],
    logFile: join(dir, 'kube-controller-manager.log'),
  });
}

function apiReady(server: string, token: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      `${server}/readyz`,
      { headers: { authorization: `Bearer ${token}` }, rejectUnauthorized: false, timeout: 2000 },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

// The apiserver serves a self-signed certificate it generates at start; the lab is loopback
// only, so clients skip verification rather than juggling a CA that changes every run.
export function kubeconfigYaml(server: string, token: string, user: string): string {
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'lab', server, skipTLSVerify: true }],
    users: [{ name: user, token }],
    contexts: [{ name: 'lab', cluster: 'lab', user }],
    currentContext: 'lab',
  });
  return kc.exportConfig();
}

export function adminKubeConfig(kubeconfigFile: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfigFile);
  return kc;
}

/**
 * A kubeconfig that authenticates as a ServiceAccount (a bound token from the TokenRequest API),
 * for tests that prove what RBAC allows and refuses.
 */
export async function serviceAccountKubeConfig(
  admin: k8s.KubeConfig,
  namespace: string,
  serviceAccount: string,
  file?: string,
): Promise<{ kubeConfig: k8s.KubeConfig; file?: string }> {
  const core = admin.makeApiClient(k8s.CoreV1Api);
  const tr = await core.createNamespacedServiceAccountToken({
    name: serviceAccount,
    namespace,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const token = tr.status?.token;
  if (!token) throw new Error(`[lab] no token issued for ${namespace}/${serviceAccount}`);
  const server = admin.getCurrentCluster()?.server ?? '';
  const yaml = kubeconfigYaml(
    server,
    token,
    `system:serviceaccount:${namespace}:${serviceAccount}`,
  );
  if (file) writeFileSync(file, yaml);
  const kubeConfig = new k8s.KubeConfig();
  kubeConfig.loadFromString(yaml);
  return { kubeConfig, ...(file ? { file } : {}) };
}
