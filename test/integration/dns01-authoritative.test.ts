// The DNS-01 self-check against each authoritative nameserver of the zone (ADR 0025): the lab
// DNS answers as the zone's two nameservers (ns1/ns2.<zone> on 127.0.0.1/127.0.0.2, one port,
// test/lab/dns-authority.ts), the operator finds them through it, and Pebble validates through
// the lab's main DNS, which always shows the TXT.
import { Writable } from 'node:stream';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Certificate } from '../../src/api/v1alpha1.js';
import { createLogger } from '../../src/observability/logger.js';
import type { Operator } from '../../src/operator.js';
import { createClusterIssuer, deleteClusterIssuer, labIssuer } from '../lab/acme-helpers.js';
import {
  adminConfig,
  createNamespace,
  deleteNamespace,
  eventually,
  labEnv,
  labRoute53,
} from '../lab/context.js';
import { startLabNameservers, type LabNameservers } from '../lab/dns-authority.js';
import { conditionOf, getCertificate } from '../lab/k8s-helpers.js';
import { ensureNamespace, startOperator } from '../lab/operator.js';
import { createZone, put, record } from '../lab/route53-helpers.js';

const env = labEnv();
const kc = adminConfig(env);
const custom = kc.makeApiClient(k8s.CustomObjectsApi);
const r53 = labRoute53(env);
const issuer = `dns01-auth-${Date.now().toString(36)}`;

let ns: string;
let zone: { id: string; name: string };
let nameservers: LabNameservers;
let op: Operator | undefined;
const lines: string[] = [];

/** An in-process operator asking the lab nameservers, its log lines kept in `lines`. */
function operator(extra: string[] = []): Promise<Operator> {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return startOperator(
    env,
    [
      `--watch-namespaces=${ns}`,
      '--leader-election=false',
      '--namespace=certroute',
      '--owner-id=lab-dns01-auth',
      // The NS walk and the nameservers' addresses go through the lab nameservers; the TXT
      // queries go to each address on their port.
      `--recursive-nameservers=127.0.0.1:${nameservers.port}`,
      `--dns01-nameserver-port=${nameservers.port}`,
      ...extra,
    ],
    createLogger('info', sink),
  );
}

beforeAll(async () => {
  ns = await createNamespace(kc, 'dns01-auth');
  await ensureNamespace(kc, 'certroute');
  zone = await createZone(r53, 'dns01-auth');
  nameservers = await startLabNameservers({ route53: r53 });
  await createClusterIssuer(
    kc,
    labIssuer(env, issuer, { solvers: [{ dns01: { route53: { region: env.awsRegion } } }] }),
  );
  op = await operator();
});
afterAll(async () => {
  await op?.stop();
  await nameservers?.close();
  await deleteClusterIssuer(kc, issuer);
  await deleteNamespace(kc, ns);
});

async function createCertificate(name: string, dnsNames: string[]) {
  await custom.createNamespacedCustomObject({
    group: 'certroute.io',
    version: 'v1alpha1',
    plural: 'certificates',
    namespace: ns,
    body: {
      apiVersion: 'certroute.io/v1alpha1',
      kind: 'Certificate',
      metadata: { name, namespace: ns },
      spec: { dnsNames, issuerRef: { name: issuer }, secretName: `${name}-tls` },
    },
  });
}

async function readyCert(name: string): Promise<Certificate> {
  return eventually(
    async () => {
      const c = await getCertificate(kc, ns, name);
      return conditionOf(c, 'Ready')?.status === 'True' && c;
    },
    { timeoutMs: 45_000 },
  );
}

const fellBack = () => lines.filter((l) => l.includes('checking through the recursive resolvers'));

describe('DNS-01 self-check at each authoritative nameserver', () => {
  it('issues with both nameservers showing the value, without the resolver fallback', async () => {
    await createCertificate('both', [`both.${zone.name}`]);
    const c = await readyCert('both');
    expect(c.status?.lastOrder?.result).toBe('valid');
    expect(fellBack()).toEqual([]);
    expect(await record(r53, zone.id, `_acme-challenge.both.${zone.name}`, 'TXT')).toBeUndefined();
  });

  it('accepts nothing while one nameserver is stale, names it, and issues once it shows', async () => {
    nameservers.hideTxt('127.0.0.2', true);
    const host = `stale.${zone.name}`;
    await createCertificate('stale', [host]);
    const waiting = await eventually(
      async () => {
        const c = await getCertificate(kc, ns, 'stale');
        const issuing = conditionOf(c, 'Issuing');
        return issuing?.reason === 'WaitingForChallenge' &&
          issuing.message?.includes(`ns2.${zone.name} (127.0.0.2:${nameservers.port})`)
          ? c
          : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(conditionOf(waiting, 'Issuing')?.message).toContain(
      `_acme-challenge.${host} TXT not yet visible at authoritative nameserver ns2.${zone.name}`,
    );
    // The value is in Route53 and the CA's DNS shows it: only certroute's check holds it back.
    expect(await record(r53, zone.id, `_acme-challenge.${host}`, 'TXT')).toBeDefined();
    expect(conditionOf(waiting, 'Ready')?.status).not.toBe('True');
    expect(waiting.status?.lastOrder).toBeUndefined();
    expect(waiting.status?.order).toBeDefined();
    nameservers.hideTxt('127.0.0.2', false);
    const c = await readyCert('stale');
    expect(c.status?.lastOrder?.result).toBe('valid');
    expect(fellBack()).toEqual([]);
  });

  it("asks the nameservers of a CNAME delegation's zone, not the host's", async () => {
    const target = await createZone(r53, 'dns01-auth-delegate');
    const host = `delegated.${zone.name}`;
    await put(r53, zone.id, `_acme-challenge.${host}`, 'CNAME', [`${host}.${target.name}`]);
    // Stale in the delegate's zone, seen from the second nameserver: the wait names its ns2.
    nameservers.hideTxt('127.0.0.2', true);
    await createCertificate('delegated', [host]);
    await eventually(
      async () =>
        conditionOf(await getCertificate(kc, ns, 'delegated'), 'Issuing')?.message?.includes(
          `${host}.${target.name} TXT not yet visible at authoritative nameserver ns2.${target.name}`,
        ),
      { timeoutMs: 30_000 },
    );
    nameservers.hideTxt('127.0.0.2', false);
    await readyCert('delegated');
    expect(fellBack()).toEqual([]);
  });

  it('with --skip-self-checks, accepts at once: a stale nameserver does not hold it', async () => {
    await op?.stop();
    op = undefined;
    op = await operator(['--skip-self-checks']);
    expect(lines.some((l) => l.includes('self-checks are off'))).toBe(true);
    nameservers.hideTxt('127.0.0.2', true);
    try {
      await createCertificate('skipped', [`skipped.${zone.name}`]);
      const c = await readyCert('skipped');
      expect(c.status?.lastOrder?.result).toBe('valid');
    } finally {
      nameservers.hideTxt('127.0.0.2', false);
    }
  });
});
