// npm run sandbox: the lab, the operator, and a demo Ingress getting DNS records and a real
// certificate, shown step by step. Ctrl-C at any point stops everything it started.
// `npm run sandbox -- --keep` leaves it all running until Ctrl-C, for poking with kubectl.
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { createWriteStream, readFileSync } from 'node:fs';
import { Resolver } from 'node:dns/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateHostedZoneCommand } from '@aws-sdk/client-route-53';
import * as k8s from '@kubernetes/client-node';
import type { Certificate, DNSEndpoint } from '../src/api/v1alpha1.js';
import { createLogger } from '../src/observability/logger.js';
import type { Operator } from '../src/operator.js';
import { createClusterIssuer, labIssuer } from '../test/lab/acme-helpers.js';
import { ingress } from '../test/lab/k8s-helpers.js';
import { route53For, startLab, type Lab } from '../test/lab/lab.js';
import { ensureNamespace, startOperator } from '../test/lab/operator.js';
import { labEnvVars } from '../test/lab/types.js';

const keep = process.argv.includes('--keep');
const t0 = Date.now();
const step = (msg: string) =>
  console.log(`\n==> [${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${msg}`);
const info = (msg: string) => console.log(`    ${msg}`);

let lab: Lab | undefined;
let op: Operator | undefined;
let stopping = false;

async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    step('cleaning up: operator, then the lab (every process it started, by PID)');
    await op?.stop().catch(() => undefined);
    await lab?.stop().catch(() => undefined);
  }
  process.exit(code);
}

async function poll<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
    if (last !== what) info(`waiting for ${what} ...`);
    last = what;
  }
}

async function main(): Promise<void> {
  process.on('SIGINT', () => void stop(130));
  process.on('SIGTERM', () => void stop(143));

  step('1. starting the lab: etcd, kube-apiserver, Pebble, moto (Route53), lab DNS, Traefik');
  lab = await startLab({ log: (m) => info(m) });
  const env = lab.env;
  info(
    `lab processes: ${lab
      .pids()
      .map((p) => `pid ${p}`)
      .join(', ')}`,
  );
  info(`Traefik and the pod network run in the network namespace ${env.netns}`);
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(env.kubeconfig);
  const net = kc.makeApiClient(k8s.NetworkingV1Api);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);

  step('2. CRDs, a ClusterIssuer for Pebble, and a hosted zone in moto');
  info('CRDs installed from crds/ (certificates, clusterissuers, dnsendpoints)');
  await ensureNamespace(kc, 'certroute');
  await ensureNamespace(kc, 'demo');
  await createClusterIssuer(kc, labIssuer(env, 'pebble', { email: 'demo@example.com' }));
  info(`ClusterIssuer "pebble" → ${env.acmeDirectory}`);
  const zoneName = 'sandbox.example';
  await route53For(env.awsEndpoint).send(
    new CreateHostedZoneCommand({ Name: zoneName, CallerReference: `sandbox-${Date.now()}` }),
  );
  info(`hosted zone "${zoneName}" in moto`);

  step('3. running the operator, and creating the demo Ingress');
  const logFile = join(env.dir, 'operator.log');
  op = await startOperator(
    env,
    ['--leader-election=false', '--namespace=certroute', '--owner-id=sandbox'],
    createLogger('info', createWriteStream(logFile, { flags: 'a' })),
  );
  info(`operator ready (logs: ${logFile})`);
  const host = `www.${zoneName}`;
  await net.createNamespacedIngress({
    namespace: 'demo',
    body: ingress({
      name: 'web',
      namespace: 'demo',
      hosts: [host],
      tls: [{ secretName: 'web-tls', hosts: [host] }],
      className: env.ingressClass,
      annotations: { 'certroute.io/issuer': 'pebble', 'certroute.io/dns': 'true' },
    }),
  });
  info(
    `Ingress demo/web: class ${env.ingressClass}, host ${host}, TLS Secret web-tls, issuer pebble`,
  );

  step('4. the ingress controller (Traefik) publishes the Ingress address');
  const address = await poll('Traefik to write status.loadBalancer.ingress', async () => {
    const ing = await net.readNamespacedIngressStatus({ namespace: 'demo', name: 'web' });
    return ing.status?.loadBalancer?.ingress?.[0]?.ip;
  });
  info(
    `status.loadBalancer.ingress = ${address} (written by Traefik, pid ${lab.traefik.proc.pid})`,
  );
  info(
    `Traefik routes /.well-known/acme-challenge/<token> to the operator (log: ${lab.traefik.accessLogFile})`,
  );

  const dnsEp = await poll('DNS records to be published', async () => {
    const list = (await custom.listNamespacedCustomObject({
      group: 'certroute.io',
      version: 'v1alpha1',
      plural: 'dnsendpoints',
      namespace: 'demo',
    })) as { items: DNSEndpoint[] };
    const d = list.items[0];
    const ready = d?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    return ready ? d : undefined;
  });
  step('5a. DNS: published, and resolved through the lab DNS (answers from moto)');
  const resolver = new Resolver();
  resolver.setServers([`${env.dnsHost}:${env.dnsPort}`]);
  for (const e of dnsEp.status?.endpoints ?? [])
    info(`${e.recordType} ${e.dnsName}: ${e.state} in zone ${e.zoneID ?? '?'}`);
  info(`dig ${host} A     → ${(await resolver.resolve4(host)).join(', ')}`);
  const txt = await resolver.resolveTxt(`a-${host}`);
  info(`dig a-${host} TXT → ${txt.map((t) => t.join('')).join(' | ')}`);

  const cert = await poll('the certificate to be issued', async () => {
    const c = (await custom.getNamespacedCustomObject({
      group: 'certroute.io',
      version: 'v1alpha1',
      plural: 'certificates',
      namespace: 'demo',
      name: 'web-tls',
    })) as Certificate;
    const ready = c.status?.conditions?.find((x) => x.type === 'Ready')?.status === 'True';
    return ready ? c : undefined;
  });
  step('5b. certificate: issued by Pebble over HTTP-01, stored in Secret demo/web-tls');
  await showCertificate(core, cert);
  showValidations(lab.traefik.accessLogFile);
  const events = await core.listNamespacedEvent({
    namespace: 'demo',
    fieldSelector: 'involvedObject.name=web',
  });
  for (const e of events.items) info(`event on Ingress demo/web: ${e.reason}: ${e.message}`);

  step(
    `6. kubectl certroute explain ${host} -n demo: every step from the Ingress to the certificate`,
  );
  explain(host, env.kubeconfig);

  if (keep) {
    step('still running (--keep). In another shell:');
    for (const [k, v] of Object.entries(labEnvVars(env))) info(`export ${k}=${v}`);
    info('kubectl get ingress,certificates.certroute.io,dnsendpoints.certroute.io -n demo');
    info('Ctrl-C stops everything.');
    await new Promise(() => undefined);
  }
  step(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  await stop(0);
}

/**
 * The kubectl plugin (docs/cli.md), run as a user runs it: its bundle (dist/cli.mjs, built by
 * `npm run sandbox` first) in its own process, with the admin kubeconfig.
 */
function explain(host: string, kubeconfig: string): void {
  const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli.mjs');
  const r = spawnSync(process.execPath, [cli, 'explain', host, '-n', 'demo'], {
    env: { PATH: process.env.PATH ?? '', KUBECONFIG: kubeconfig, NO_COLOR: '1' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  for (const l of `${r.stdout}${r.stderr}`.trimEnd().split('\n')) info(l);
  info(`(exit ${r.status ?? r.signal ?? '?'})`);
}

/** Pebble's HTTP-01 requests, as Traefik logged them: status, and the router that served them. */
function showValidations(accessLog: string): void {
  const line =
    /"GET (\/\.well-known\/acme-challenge\/\S+) HTTP\/1\.1" (\d+) .*"([^"]*)" \d+ "([^"]*)"/;
  const seen = readFileSync(accessLog, 'utf8')
    .split('\n')
    .map((l) => line.exec(l))
    .filter((m): m is RegExpExecArray => m?.[3]?.includes('Pebble-VA') ?? false);
  const statuses = [...new Set(seen.map((m) => m[2]))].join(', ');
  const routers = [...new Set(seen.map((m) => m[4] ?? ''))];
  info(`Traefik served Pebble's ${seen.length} validation request(s), HTTP ${statuses},`);
  for (const r of routers) info(`  by router ${r.length > 72 ? `${r.slice(0, 69)}...` : r}`);
  info('  (the solver Ingress certroute created: Exact /.well-known/acme-challenge/<token>)');
}

async function showCertificate(core: k8s.CoreV1Api, cert: Certificate): Promise<void> {
  const secret = await core.readNamespacedSecret({ namespace: 'demo', name: 'web-tls' });
  const pem = Buffer.from(secret.data?.['tls.crt'] ?? '', 'base64').toString('utf8');
  const leaf = new X509Certificate(pem);
  const oneLine = (dn: string | undefined) => (dn ? dn.replace(/\n/g, ', ') : '(empty)');
  info(`Secret type:  ${secret.type ?? '?'} (tls.crt = full chain, tls.key = PKCS#8)`);
  info(`subject:      ${oneLine(leaf.subject)}`);
  info(`issuer:       ${oneLine(leaf.issuer)}`);
  info(`not after:    ${new Date(leaf.validTo).toISOString()}`);
  info(`SANs:         ${leaf.subjectAltName ?? ''}`);
  info(`serial:       ${leaf.serialNumber}`);
  info(`renewal:      ${cert.status?.renewalTime ?? '?'} (${cert.status?.renewalReason ?? ''})`);
}

main().catch(async (err: unknown) => {
  console.error(err);
  await stop(1);
});
