// DNS-01 through RFC 2136 against BIND 9 (test/lab/bind.ts): an Ingress in a BIND zone gets its
// A record (dig against BIND) and a wildcard certificate from a Pebble that resolves through
// BIND, with a ClusterIssuer whose dns01 solver is rfc2136 and whose TSIG secret is a Secret
// in the operator's namespace; an Issuer's Secret in its own namespace. A missing Secret and a
// wrong secret are said on the Certificate before any order; the API server refuses a dns01
// block naming both route53 and rfc2136.
import { X509Certificate } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Certificate } from '../../src/api/v1alpha1.js';
import type { Operator } from '../../src/operator.js';
import { createClusterIssuer, deleteClusterIssuer, labIssuer } from '../lab/acme-helpers.js';
import { startBind, type BindLab } from '../lab/bind.js';
import {
  adminConfig,
  createNamespace,
  deleteNamespace,
  eventually,
  labEnv,
} from '../lab/context.js';
import { conditionOf, eventsFor, getCertificate, ingress } from '../lab/k8s-helpers.js';
import { writeAddress } from '../lab/ingress-router.js';
import { uniqueName } from '../lab/names.js';
import { ensureNamespace, startOperator } from '../lab/operator.js';
import { startPebble, type PebbleLab } from '../lab/pebble.js';
import { freePort } from '../lab/process.js';

const env = labEnv();
const kc = adminConfig(env);
const core = kc.makeApiClient(k8s.CoreV1Api);
const net = kc.makeApiClient(k8s.NetworkingV1Api);
const custom = kc.makeApiClient(k8s.CustomObjectsApi);
const zone = `${uniqueName('bind01')}.test`;
const issuer = `rfc2136-${zone.split('.')[0]}`;
const orphan = `${issuer}-nosecret`;
const tsigSecret = `${issuer}-tsig`;

let ns: string;
let bind: BindLab;
let pebble: PebbleLab | undefined;
let op: Operator | undefined;

function rfc2136Solver(secretName: string, host = '127.0.0.1') {
  return {
    dns01: {
      rfc2136: {
        nameserver: `${host}:${bind.port}`,
        tsigKeyName: bind.keyName,
        tsigAlgorithm: 'HMACSHA256',
        tsigSecretSecretRef: { name: secretName, key: 'secret' },
      },
    },
  };
}

beforeAll(async () => {
  ns = await createNamespace(kc, 'rfc2136-dns01');
  await ensureNamespace(kc, 'certroute');
  bind = await startBind(join(env.dir, `bind-${zone}`), { zones: [zone] });
  // A Pebble of its own whose resolver is BIND: BIND serves every name it validates here.
  const pebbleDir = join(env.dir, `pebble-${zone}`);
  mkdirSync(pebbleDir, { recursive: true });
  pebble = await startPebble(pebbleDir, {
    dnsServer: `127.0.0.1:${bind.port}`,
    http01Port: await freePort(),
  });
  // The solver's TSIG secret: a ClusterIssuer's Secrets are in the operator's namespace.
  await core.createNamespacedSecret({
    namespace: 'certroute',
    body: {
      metadata: { name: tsigSecret, namespace: 'certroute' },
      stringData: { secret: bind.secret },
    },
  });
  const server = pebble.directory;
  await createClusterIssuer(
    kc,
    labIssuer(env, issuer, { server, solvers: [rfc2136Solver(tsigSecret)] }),
  );
  await createClusterIssuer(
    kc,
    labIssuer(env, orphan, { server, solvers: [rfc2136Solver(`${tsigSecret}-absent`)] }),
  );
  // The records go over RFC 2136 too (the records provider reads its key from a file).
  const secretFile = join(bind.dir, 'tsig.secret');
  writeFileSync(secretFile, `${bind.secret}\n`);
  op = await startOperator(env, [
    `--watch-namespaces=${ns}`,
    '--leader-election=false',
    '--namespace=certroute',
    '--owner-id=lab-rfc2136-dns01',
    '--provider=rfc2136',
    `--rfc2136-server=127.0.0.1:${bind.port}`,
    `--rfc2136-zones=${zone}`,
    `--rfc2136-tsig-key-name=${bind.keyName}`,
    '--rfc2136-tsig-algorithm=hmac-sha256',
    `--rfc2136-tsig-secret-file=${secretFile}`,
  ]);
}, 90_000);
afterAll(async () => {
  await op?.stop();
  await deleteClusterIssuer(kc, issuer);
  await deleteClusterIssuer(kc, orphan);
  await core.deleteNamespacedSecret({ namespace: 'certroute', name: tsigSecret }).catch(() => {
    /* not made */
  });
  await pebble?.proc.stop();
  await bind?.stop();
  await deleteNamespace(kc, ns);
});

async function readyCert(name: string): Promise<Certificate> {
  return eventually(
    async () => {
      const c = await getCertificate(kc, ns, name);
      return conditionOf(c, 'Ready')?.status === 'True' && c;
    },
    { timeoutMs: 90_000 },
  );
}

/** A Certificate by hand; its Secret has its name. */
async function createCertificate(
  name: string,
  dnsNames: string[],
  issuerRef: { name: string; kind?: 'Issuer' },
): Promise<void> {
  await custom.createNamespacedCustomObject({
    group: 'certroute.io',
    version: 'v1alpha1',
    plural: 'certificates',
    namespace: ns,
    body: {
      apiVersion: 'certroute.io/v1alpha1',
      kind: 'Certificate',
      metadata: { name, namespace: ns },
      spec: { dnsNames, issuerRef, secretName: name },
    },
  });
}

async function sansOf(secret: string): Promise<string[]> {
  const s = await core.readNamespacedSecret({ namespace: ns, name: secret });
  const leaf = new X509Certificate(Buffer.from(s.data?.['tls.crt'] ?? '', 'base64'));
  return (leaf.subjectAltName ?? '').split(', ').sort();
}

describe('DNS-01 through RFC 2136', () => {
  it('an Ingress in a BIND zone gets its A record and a wildcard certificate from Pebble', async () => {
    const host = `www.${zone}`;
    const names = [`*.${zone}`, host];
    await net.createNamespacedIngress({
      namespace: ns,
      body: ingress({
        name: 'web',
        namespace: ns,
        hosts: [host],
        tls: [{ secretName: 'web-tls', hosts: names }],
        annotations: { 'certroute.io/issuer': issuer, 'certroute.io/dns': 'true' },
      }),
    });
    await writeAddress(net, ns, 'web', [{ ip: '192.0.2.40' }]);
    await eventually(async () => (await bind.dig(host, 'A')).join() === '192.0.2.40', {
      timeoutMs: 60_000,
    });
    // Only DNS-01 can validate the wildcard, and this Pebble resolves through BIND alone.
    const c = await readyCert('web-tls');
    expect(c.status?.lastOrder?.result).toBe('valid');
    expect(await sansOf('web-tls')).toEqual(names.map((n) => `DNS:${n}`).sort());
    // Each challenge removed its own value: nothing is left at either name.
    await eventually(
      async () =>
        (await bind.dig(`_acme-challenge.${zone}`, 'TXT')).length === 0 &&
        (await bind.dig(`_acme-challenge.${host}`, 'TXT')).length === 0,
      { timeoutMs: 30_000 },
    );
  });

  it('a missing TSIG Secret is said on the Certificate, naming it, and no order is placed', async () => {
    await createCertificate('orphan', [`orphan.${zone}`], { name: orphan });
    const c = await eventually(
      async () => {
        const x = await getCertificate(kc, ns, 'orphan');
        return conditionOf(x, 'Ready')?.reason === 'Rfc2136TsigSecretMissing' && x;
      },
      { timeoutMs: 60_000 },
    );
    expect(conditionOf(c, 'Ready')?.message).toContain(`certroute/${tsigSecret}-absent`);
    expect(c.status?.lastOrder).toBeUndefined();
    await eventually(async () =>
      (await eventsFor(kc, ns, 'orphan')).some((e) => e.reason === 'Rfc2136TsigSecretMissing'),
    );
    // The other issuer's certificate is untouched.
    expect(conditionOf(await getCertificate(kc, ns, 'web-tls'), 'Ready')?.status).toBe('True');
  });

  it("an Issuer's TSIG Secret is read in its own namespace; a nameserver by host name", async () => {
    // Only in the Issuer's namespace: the operator's namespace has no Secret of this name.
    await core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'team-tsig', namespace: ns }, stringData: { secret: bind.secret } },
    });
    const body = labIssuer(env, 'team', {
      server: pebble?.directory ?? '',
      // A host name, not an address: resolved for the update and the check alike.
      solvers: [rfc2136Solver('team-tsig', 'localhost')],
    });
    await custom.createNamespacedCustomObject({
      group: 'certroute.io',
      version: 'v1alpha1',
      plural: 'issuers',
      namespace: ns,
      body: { ...body, kind: 'Issuer', metadata: { name: 'team', namespace: ns } },
    });
    await createCertificate('team', [`team.${zone}`], { name: 'team', kind: 'Issuer' });
    const c = await readyCert('team');
    expect(c.status?.lastOrder?.result).toBe('valid');
    expect(await sansOf('team')).toEqual([`DNS:team.${zone}`]);
  });

  it('a secret BIND does not accept: Rfc2136Refused (BADSIG) before any order', async () => {
    await core.createNamespacedSecret({
      namespace: ns,
      body: {
        metadata: { name: 'wrong-tsig', namespace: ns },
        stringData: { secret: Buffer.alloc(32, 9).toString('base64') },
      },
    });
    const body = labIssuer(env, 'wrong', {
      server: pebble?.directory ?? '',
      solvers: [rfc2136Solver('wrong-tsig')],
    });
    await custom.createNamespacedCustomObject({
      group: 'certroute.io',
      version: 'v1alpha1',
      plural: 'issuers',
      namespace: ns,
      body: { ...body, kind: 'Issuer', metadata: { name: 'wrong', namespace: ns } },
    });
    await createCertificate('wrong', [`wrong.${zone}`], { name: 'wrong', kind: 'Issuer' });
    const c = await eventually(
      async () => {
        const x = await getCertificate(kc, ns, 'wrong');
        return conditionOf(x, 'Ready')?.reason === 'Rfc2136Refused' && x;
      },
      { timeoutMs: 60_000 },
    );
    expect(conditionOf(c, 'Ready')?.message).toMatch(/BADSIG.*secret does not match/);
    expect(c.status?.lastOrder).toBeUndefined();
    expect(await bind.dig(`_acme-challenge.wrong.${zone}`, 'TXT')).toEqual([]);
  });

  it('the API server refuses a dns01 block with both route53 and rfc2136', async () => {
    const both = labIssuer(env, `${issuer}-both`, {
      solvers: [{ dns01: { ...rfc2136Solver(tsigSecret).dns01, route53: {} } }],
    });
    await expect(createClusterIssuer(kc, both)).rejects.toThrow(
      /set exactly one of route53 or rfc2136/,
    );
  });
});
