// The RFC 2136 provider against BIND 9 (test/lab/bind.ts): an Ingress's records and their TXT
// companions written by TSIG-signed UPDATEs and read back by AXFR, seen with dig against BIND;
// a record certroute does not own left alone; a wrong key refused with a clear status and Event.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DNSEndpoint } from '../../src/api/v1alpha1.js';
import type { Operator } from '../../src/operator.js';
import { startBind, type BindLab } from '../lab/bind.js';
import {
  adminConfig,
  createNamespace,
  deleteNamespace,
  eventually,
  labEnv,
} from '../lab/context.js';
import { eventsFor, ingress, listDnsEndpoints } from '../lab/k8s-helpers.js';
import { writeAddress } from '../lab/ingress-router.js';
import { uniqueName } from '../lab/names.js';
import { ensureNamespace, startOperator } from '../lab/operator.js';

const env = labEnv();
const kc = adminConfig(env);
const net = kc.makeApiClient(k8s.NetworkingV1Api);
const zone = `${uniqueName('bind')}.test`;

let ns: string;
let bind: BindLab;
let op: Operator | undefined;

function rfc2136Flags(secretFile: string): string[] {
  return [
    '--provider=rfc2136',
    `--rfc2136-server=127.0.0.1:${bind.port}`,
    `--rfc2136-zones=${zone}`,
    `--rfc2136-tsig-key-name=${bind.keyName}`,
    '--rfc2136-tsig-algorithm=hmac-sha256',
    `--rfc2136-tsig-secret-file=${secretFile}`,
  ];
}

beforeAll(async () => {
  ns = await createNamespace(kc, 'rfc2136');
  await ensureNamespace(kc, 'certroute');
  bind = await startBind(join(env.dir, `bind-${zone}`), { zones: [zone] });
  // A record nobody at certroute owns: there before the operator starts.
  await bind.nsupdate([`zone ${zone}`, `update add theirs.${zone} 60 A 198.51.100.2`]);
  const secretFile = join(bind.dir, 'tsig.secret');
  writeFileSync(secretFile, `${bind.secret}\n`);
  op = await startOperator(env, [
    `--watch-namespaces=${ns}`,
    '--leader-election=false',
    '--owner-id=lab-rfc2136',
    '--claim-grace-period=0s',
    ...rfc2136Flags(secretFile),
  ]);
}, 60_000);
afterAll(async () => {
  await op?.stop();
  await bind?.stop();
  await deleteNamespace(kc, ns);
});

async function makeIngress(namespace: string, name: string, hosts: string[]): Promise<void> {
  await net.createNamespacedIngress({
    namespace,
    body: ingress({ name, namespace, hosts, annotations: { 'certroute.io/dns': 'true' } }),
  });
}

async function recordOf(namespace: string, name: string, host: string) {
  const eps: DNSEndpoint[] = await listDnsEndpoints(kc, namespace);
  return eps
    .find((d) => d.metadata.name === name)
    ?.status?.endpoints?.find((e) => e.dnsName === host && e.recordType === 'A');
}

describe('records over RFC 2136', () => {
  it('writes an A record and its TXT companion, seen with dig against BIND', async () => {
    const host = `www.${zone}`;
    await makeIngress(ns, 'web', [host]);
    await writeAddress(net, ns, 'web', [{ ip: '192.0.2.10' }]);
    await eventually(async () => (await recordOf(ns, 'web', host))?.state === 'Published', {
      timeoutMs: 60_000,
    });
    expect(await bind.dig(host, 'A')).toEqual(['192.0.2.10']);
    expect(await bind.dig(`a-${host}`, 'TXT')).toEqual([
      `"heritage=certroute,certroute/owner=lab-rfc2136,certroute/resource=ingress/${ns}/web"`,
    ]);
    // Messages name the server records go to, not Route53.
    const published = await eventually(async () =>
      (await eventsFor(kc, ns, 'web')).find((e) => e.reason === 'RecordPublished'),
    );
    expect(published.message).toBe(
      `A ${host} published in the RFC 2136 server 127.0.0.1:${bind.port}`,
    );
  });

  it('follows an address change with one update', async () => {
    const host = `www.${zone}`;
    await writeAddress(net, ns, 'web', [{ ip: '192.0.2.11' }]);
    await eventually(async () => (await bind.dig(host, 'A')).join() === '192.0.2.11', {
      timeoutMs: 60_000,
    });
  });

  it('leaves a record it does not own alone', async () => {
    const host = `theirs.${zone}`;
    await makeIngress(ns, 'theirs', [host]);
    await writeAddress(net, ns, 'theirs', [{ ip: '192.0.2.20' }]);
    await eventually(async () => (await recordOf(ns, 'theirs', host))?.state === 'OwnedByOther', {
      timeoutMs: 60_000,
    });
    expect(await bind.dig(host, 'A')).toEqual(['198.51.100.2']);
    expect(await bind.dig(`a-${host}`, 'TXT')).toEqual([]);
  });

  it('removes the record and its companion when the Ingress goes', async () => {
    const host = `www.${zone}`;
    await net.deleteNamespacedIngress({ namespace: ns, name: 'web' });
    await eventually(async () => (await bind.dig(host, 'A')).length === 0, { timeoutMs: 60_000 });
    expect(await bind.dig(`a-${host}`, 'TXT')).toEqual([]);
    // Not its record: still there.
    expect(await bind.dig(`theirs.${zone}`, 'A')).toEqual(['198.51.100.2']);
  });
});

describe('a wrong TSIG key', () => {
  let badNs: string;
  let bad: Operator | undefined;
  afterAll(async () => {
    await bad?.stop();
    if (badNs) await deleteNamespace(kc, badNs);
  });

  it('says BADSIG on the record and in an Event, and changes nothing', async () => {
    await op?.stop();
    op = undefined;
    badNs = await createNamespace(kc, 'rfc2136-bad');
    const wrong = join(bind.dir, 'wrong.secret');
    writeFileSync(wrong, Buffer.alloc(32, 9).toString('base64'));
    bad = await startOperator(env, [
      `--watch-namespaces=${badNs}`,
      '--leader-election=false',
      '--owner-id=lab-rfc2136-bad',
      ...rfc2136Flags(wrong),
    ]);
    const host = `bad.${zone}`;
    await makeIngress(badNs, 'bad', [host]);
    await writeAddress(net, badNs, 'bad', [{ ip: '192.0.2.30' }]);
    const rec = await eventually(
      async () => {
        const r = await recordOf(badNs, 'bad', host);
        return r?.state === 'Error' ? r : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(rec.message).toMatch(/BADSIG.*secret does not match/);
    const ev = await eventually(
      async () =>
        (await eventsFor(kc, badNs, 'bad')).find((e) => e.reason === 'RecordError') ?? undefined,
      { timeoutMs: 30_000 },
    );
    expect(ev.message).toMatch(/BADSIG/);
    expect(await bind.dig(host, 'A')).toEqual([]);
    expect(await bind.dig(`theirs.${zone}`, 'A')).toEqual(['198.51.100.2']);
  });
});
