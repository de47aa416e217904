// The DNS controller against the real API server, moto's Route53 and the lab DNS.
import { Resolver } from 'node:dns/promises';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DNSEndpoint } from '../../src/api/v1alpha1.js';
import type { Operator } from '../../src/operator.js';
import {
  adminConfig,
  createNamespace,
  deleteNamespace,
  eventually,
  labEnv,
  labRoute53,
} from '../lab/context.js';
import { createDnsEndpoint, eventsFor, ingress, listDnsEndpoints } from '../lab/k8s-helpers.js';
import { ensureNamespace, startOperator } from '../lab/operator.js';
import { injectThrottling } from '../lab/aws-proxy.js';
import { writeAddress } from '../lab/ingress-router.js';
import { createZone, put, record } from '../lab/route53-helpers.js';

const env = labEnv();
const kc = adminConfig(env);
const net = kc.makeApiClient(k8s.NetworkingV1Api);
const r53 = labRoute53(env);
const resolver = new Resolver();
resolver.setServers([`${env.dnsHost}:${env.dnsPort}`]);

let ns: string;
let zone: { id: string; name: string };
let op: Operator;

beforeAll(async () => {
  ns = await createNamespace(kc, 'dns');
  await ensureNamespace(kc, 'certroute');
  zone = await createZone(r53, 'dns');
  // Records certroute does not own, there before it starts (its first listing sees them).
  await put(r53, zone.id, `taken.${zone.name}`, 'A', ['198.51.100.1']);
  await put(r53, zone.id, `theirs.${zone.name}`, 'A', ['198.51.100.2']);
  await put(r53, zone.id, `a-theirs.${zone.name}`, 'TXT', [
    '"heritage=certroute,certroute/owner=other-cluster,certroute/resource=ingress/x/y"',
  ]);
  // external-dns's records: one for another Ingress (ingress/old/app), one for the Ingress that
  // will ask for it (ingress/<ns>/adopt). Only the second may be adopted.
  await put(r53, zone.id, `legacy.${zone.name}`, 'A', ['198.51.100.9']);
  await put(r53, zone.id, `a-legacy.${zone.name}`, 'TXT', [
    '"heritage=external-dns,external-dns/owner=legacy-cluster,external-dns/resource=ingress/old/app"',
  ]);
  await put(r53, zone.id, `mine.${zone.name}`, 'A', ['198.51.100.10']);
  await put(r53, zone.id, `a-mine.${zone.name}`, 'TXT', [
    `"heritage=external-dns,external-dns/owner=legacy-cluster,external-dns/resource=ingress/${ns}/adopt"`,
  ]);
  // An Ingress there before it starts: the shim derives its DNSEndpoint only once every cache
  // has synced (ADR 0013), and the records must still follow.
  await makeIngress('early', [`early.${zone.name}`]);
  await setAddress('early', [{ ip: '192.0.2.40' }]);
  op = await startOperator(env, [
    `--watch-namespaces=${ns}`,
    '--leader-election=false',
    `--domain-filter=${zone.name}`,
    '--owner-id=lab',
    '--adopt-owner-ids=legacy-cluster',
    // This file checks prompt deletion; the grace period has its own (tenancy-claims.test.ts).
    '--claim-grace-period=0s',
  ]);
});
afterAll(async () => {
  await op?.stop();
  await deleteNamespace(kc, ns);
});

async function makeIngress(
  name: string,
  hosts: string[],
  annotations: Record<string, string> = {},
): Promise<void> {
  await net.createNamespacedIngress({
    namespace: ns,
    body: ingress({
      name,
      namespace: ns,
      hosts,
      annotations: { 'certroute.io/dns': 'true', ...annotations },
    }),
  });
}

async function setAddress(
  name: string,
  address: k8s.V1IngressLoadBalancerIngress[],
): Promise<void> {
  await writeAddress(net, ns, name, address);
}

async function endpointStatus(name: string): Promise<DNSEndpoint['status']> {
  return (await listDnsEndpoints(kc, ns)).find((d) => d.metadata.name === name)?.status;
}

async function stateOf(name: string, host: string, type?: string): Promise<string | undefined> {
  return (await endpointStatus(name))?.endpoints?.find(
    (e) => e.dnsName === host && (!type || e.recordType === type),
  )?.state;
}

describe('basic lifecycle', () => {
  it('publishes an Ingress that was there before it started', async () => {
    const host = `early.${zone.name}`;
    await eventually(async () => (await stateOf('early', host, 'A')) === 'Published');
    const a = await record(r53, zone.id, host, 'A');
    expect(a?.ResourceRecords?.map((r) => r.Value)).toEqual(['192.0.2.40']);
    expect(await resolver.resolve4(host)).toEqual(['192.0.2.40']);
  });

  it('waits for an address, then publishes A + TXT that resolve through the lab DNS', async () => {
    const host = `www.${zone.name}`;
    await makeIngress('web', [host], { 'certroute.io/ttl': '120' });
    await eventually(async () => (await stateOf('web', host)) === 'WaitingForAddress');
    expect(await record(r53, zone.id, host, 'A')).toBeUndefined();

    await setAddress('web', [{ ip: '192.0.2.10' }]);
    await eventually(async () => (await stateOf('web', host, 'A')) === 'Published');
    const a = await record(r53, zone.id, host, 'A');
    expect(a?.ResourceRecords?.map((r) => r.Value)).toEqual(['192.0.2.10']);
    expect(a?.TTL).toBe(120);
    const txt = await record(r53, zone.id, `a-${host}`, 'TXT');
    expect(txt?.ResourceRecords?.[0]?.Value).toBe(
      `"heritage=certroute,certroute/owner=lab,certroute/resource=ingress/${ns}/web"`,
    );
    expect(await resolver.resolve4(host)).toEqual(['192.0.2.10']);
    const ready = (await endpointStatus('web'))?.conditions?.find((c) => c.type === 'Ready');
    expect(ready).toMatchObject({ status: 'True', reason: 'Published' });
    await eventually(async () =>
      (await eventsFor(kc, ns, 'web')).some((e) => e.reason === 'RecordPublished'),
    );
  });

  it('upserts when the address changes', async () => {
    const host = `www.${zone.name}`;
    await setAddress('web', [{ ip: '192.0.2.20' }, { ip: '2001:db8::20' }]);
    await eventually(
      async () =>
        (await record(r53, zone.id, host, 'A'))?.ResourceRecords?.[0]?.Value === '192.0.2.20',
    );
    await eventually(async () => (await stateOf('web', host, 'AAAA')) === 'Published');
    expect((await record(r53, zone.id, host, 'AAAA'))?.ResourceRecords?.[0]?.Value).toBe(
      '2001:db8::20',
    );
    expect(await record(r53, zone.id, `aaaa-${host}`, 'TXT')).toBeDefined();
    expect(await resolver.resolve4(host)).toEqual(['192.0.2.20']);
  });

  it('deletes the records and their TXT when a host is removed or the Ingress deleted (sync)', async () => {
    await makeIngress('two', [`a.${zone.name}`, `b.${zone.name}`]);
    await setAddress('two', [{ ip: '192.0.2.30' }]);
    await eventually(async () => (await stateOf('two', `b.${zone.name}`, 'A')) === 'Published');
    const cur = await net.readNamespacedIngress({ namespace: ns, name: 'two' });
    cur.spec!.rules = [{ host: `a.${zone.name}` }];
    await net.replaceNamespacedIngress({ namespace: ns, name: 'two', body: cur });
    await eventually(async () => !(await record(r53, zone.id, `b.${zone.name}`, 'A')));
    expect(await record(r53, zone.id, `a-b.${zone.name}`, 'TXT')).toBeUndefined();
    expect(await record(r53, zone.id, `a.${zone.name}`, 'A')).toBeDefined();

    await net.deleteNamespacedIngress({ namespace: ns, name: 'two' });
    await eventually(async () => !(await record(r53, zone.id, `a.${zone.name}`, 'A')), {
      timeoutMs: 30_000,
    });
    expect(await record(r53, zone.id, `a-a.${zone.name}`, 'TXT')).toBeUndefined();
  });
});

describe('hostname targets', () => {
  it('publishes ALIAS A and AAAA for an AWS load balancer, a CNAME for any other hostname', async () => {
    const elb = 'k8s-shop-1234567890.eu-west-1.elb.amazonaws.com';
    await makeIngress('alb', [`alb.${zone.name}`]);
    await setAddress('alb', [{ hostname: elb }]);
    await eventually(
      async () => (await stateOf('alb', `alb.${zone.name}`, 'AAAA')) === 'Published',
    );
    for (const type of ['A', 'AAAA']) {
      const rs = await record(r53, zone.id, `alb.${zone.name}`, type);
      expect(rs?.AliasTarget?.HostedZoneId).toBe('Z32O12XQLNTSW2');
      expect(rs?.AliasTarget?.DNSName).toContain(elb);
    }
    await makeIngress('cname', [`cn.${zone.name}`]);
    await setAddress('cname', [{ hostname: 'lb.other-cloud.example.net' }]);
    await eventually(
      async () => (await stateOf('cname', `cn.${zone.name}`, 'CNAME')) === 'Published',
    );
    expect(
      (await record(r53, zone.id, `cn.${zone.name}`, 'CNAME'))?.ResourceRecords?.[0]?.Value,
    ).toBe('lb.other-cloud.example.net');
    expect(await record(r53, zone.id, `cname-cn.${zone.name}`, 'TXT')).toBeDefined();
  });
});

describe('records certroute does not own', () => {
  it('never modifies a record without our TXT, or one owned by another owner id', async () => {
    await makeIngress('foreign', [
      `taken.${zone.name}`,
      `theirs.${zone.name}`,
      `free.${zone.name}`,
    ]);
    await setAddress('foreign', [{ ip: '192.0.2.40' }]);
    await eventually(
      async () => (await stateOf('foreign', `free.${zone.name}`, 'A')) === 'Published',
    );
    await eventually(
      async () => (await stateOf('foreign', `theirs.${zone.name}`, 'A')) === 'OwnedByOther',
    );
    const st = await endpointStatus('foreign');
    expect(st?.endpoints?.find((e) => e.dnsName === `taken.${zone.name}`)).toMatchObject({
      state: 'OwnedByOther',
      owner: 'unmanaged (no ownership record)',
    });
    expect(st?.endpoints?.find((e) => e.dnsName === `theirs.${zone.name}`)).toMatchObject({
      state: 'OwnedByOther',
      owner: 'certroute owner "other-cluster" (ingress/x/y)',
    });
    expect(
      (await record(r53, zone.id, `taken.${zone.name}`, 'A'))?.ResourceRecords?.[0]?.Value,
    ).toBe('198.51.100.1');
    expect(
      (await record(r53, zone.id, `theirs.${zone.name}`, 'A'))?.ResourceRecords?.[0]?.Value,
    ).toBe('198.51.100.2');
    expect(st?.conditions?.[0]).toMatchObject({ status: 'False', reason: 'OwnedByOther' });
    const ev = await eventually(async () => {
      const e = (await eventsFor(kc, ns, 'foreign')).filter(
        (x) => x.reason === 'RecordOwnedByOther',
      );
      return e.length >= 2 ? e : undefined;
    });
    expect(ev.map((e) => e.type)).toEqual(['Warning', 'Warning']);
  });

  it('publishes nothing for an Ingress whose DNSEndpoint name a hand-written one holds', async () => {
    const held = `held.${zone.name}`;
    const wanted = `wanted.${zone.name}`;
    await createDnsEndpoint(kc, ns, 'claimed', [
      { dnsName: held, recordType: 'A', targets: ['192.0.2.80'] },
    ]);
    await eventually(async () => (await stateOf('claimed', held, 'A')) === 'Published');
    await makeIngress('claimed', [wanted]);
    await setAddress('claimed', [{ ip: '192.0.2.81' }]);
    await eventually(async () =>
      (await eventsFor(kc, ns, 'claimed')).some((e) => e.reason === 'DNSEndpointConflict'),
    );
    // The DNS controller knows the Ingress's address by now; a full pass must not publish it.
    await op.dns.syncZoneNow(zone.id);
    expect(await record(r53, zone.id, wanted, 'A')).toBeUndefined();
    expect((await record(r53, zone.id, held, 'A'))?.ResourceRecords?.map((r) => r.Value)).toEqual([
      '192.0.2.80',
    ]);
    expect((await record(r53, zone.id, `a-${held}`, 'TXT'))?.ResourceRecords?.[0]?.Value).toBe(
      `"heritage=certroute,certroute/owner=lab,certroute/resource=dnsendpoint/${ns}/claimed"`,
    );
  });

  it("adopts a configured external-dns owner id's record only for the resource it names", async () => {
    await makeIngress('adopt', [`legacy.${zone.name}`, `mine.${zone.name}`]);
    await setAddress('adopt', [{ ip: '192.0.2.50' }]);
    // external-dns wrote mine.<zone> for ingress/<ns>/adopt: adopted.
    await eventually(
      async () =>
        (await record(r53, zone.id, `mine.${zone.name}`, 'A'))?.ResourceRecords?.[0]?.Value ===
        '192.0.2.50',
    );
    expect(
      (await record(r53, zone.id, `a-mine.${zone.name}`, 'TXT'))?.ResourceRecords?.[0]?.Value,
    ).toBe(`"heritage=certroute,certroute/owner=lab,certroute/resource=ingress/${ns}/adopt"`);
    // legacy.<zone> is external-dns's record for ingress/old/app: refused, naming it.
    await eventually(
      async () => (await stateOf('adopt', `legacy.${zone.name}`, 'A')) === 'OwnedByOther',
    );
    const refused = (await endpointStatus('adopt'))?.endpoints?.find(
      (e) => e.dnsName === `legacy.${zone.name}`,
    );
    expect(refused).toMatchObject({ state: 'OwnedByOther', owner: 'ingress/old/app' });
    expect(refused?.message).toContain('ingress/old/app');
    expect(
      (await record(r53, zone.id, `legacy.${zone.name}`, 'A'))?.ResourceRecords?.[0]?.Value,
    ).toBe('198.51.100.9');
    expect(
      (await record(r53, zone.id, `a-legacy.${zone.name}`, 'TXT'))?.ResourceRecords?.[0]?.Value,
    ).toContain('external-dns/resource=ingress/old/app');
    const ev = await eventually(async () =>
      (await eventsFor(kc, ns, 'adopt')).find((e) => e.reason === 'RecordOwnedByOther'),
    );
    expect(ev.message).toContain('ingress/old/app');
  });

  it('reports a host in no managed zone as NoZone', async () => {
    await makeIngress('nozone', ['app.nowhere.invalid']);
    await setAddress('nozone', [{ ip: '192.0.2.60' }]);
    await eventually(
      async () => (await stateOf('nozone', 'app.nowhere.invalid', 'A')) === 'NoZone',
    );
    await eventually(async () =>
      (await eventsFor(kc, ns, 'nozone')).some(
        (e) => e.reason === 'RecordNoZone' && e.type === 'Warning',
      ),
    );
  });
});

describe('a rejected change', () => {
  it('still delivers every other change in the batch, and says why the bad one failed', async () => {
    // A DNSEndpoint written by hand (no Ingress): certroute publishes those too. One record has
    // a value Route53 refuses, so the first batch holding all five is rejected as a whole.
    const hosts = ['g1', 'g2', 'bad', 'g3', 'g4'].map((h) => `${h}.${zone.name}`);
    await createDnsEndpoint(
      kc,
      ns,
      'batch',
      hosts.map((h) => ({
        dnsName: h,
        recordType: 'A',
        targets: [h.startsWith('bad.') ? 'not-an-address' : '192.0.2.70'],
      })),
    );
    await eventually(async () => (await stateOf('batch', `bad.${zone.name}`, 'A')) === 'Error');
    for (const h of hosts.filter((x) => !x.startsWith('bad.'))) {
      expect((await record(r53, zone.id, h, 'A'))?.ResourceRecords?.[0]?.Value).toBe('192.0.2.70');
      await eventually(async () => (await stateOf('batch', h, 'A')) === 'Published');
    }
    expect(await record(r53, zone.id, `bad.${zone.name}`, 'A')).toBeUndefined();
    expect(await record(r53, zone.id, `a-bad.${zone.name}`, 'TXT')).toBeUndefined();
    const bad = (await endpointStatus('batch'))?.endpoints?.find(
      (e) => e.dnsName === `bad.${zone.name}`,
    );
    expect(bad?.message).toContain('ARRDATAIllegalIPv4Address');
    const ev = await eventually(async () =>
      (await eventsFor(kc, ns, 'batch')).find((e) => e.reason === 'RecordError'),
    );
    expect(ev.message).toContain('Route53 rejected the change');
  });
});

describe('upsert-only policy', () => {
  it(
    'creates and updates but keeps records whose host was removed',
    { timeout: 90_000 },
    async () => {
      const ns2 = await createNamespace(kc, 'dns-upsert');
      const zone2 = await createZone(r53, 'upsert');
      const op2 = await startOperator(env, [
        `--watch-namespaces=${ns2}`,
        '--leader-election=false',
        `--domain-filter=${zone2.name}`,
        '--owner-id=lab',
        '--policy=upsert-only',
        // The policy, not the grace period, must be what keeps the record.
        '--claim-grace-period=0s',
      ]);
      try {
        await net.createNamespacedIngress({
          namespace: ns2,
          body: ingress({
            name: 'keep',
            namespace: ns2,
            hosts: [`keep.${zone2.name}`],
            annotations: { 'certroute.io/dns': 'true' },
          }),
        });
        const cur = await net.readNamespacedIngress({ namespace: ns2, name: 'keep' });
        cur.status = { loadBalancer: { ingress: [{ ip: '192.0.2.80' }] } };
        await net.replaceNamespacedIngressStatus({ namespace: ns2, name: 'keep', body: cur });
        await eventually(
          async () => (await record(r53, zone2.id, `keep.${zone2.name}`, 'A')) !== undefined,
        );
        await net.deleteNamespacedIngress({ namespace: ns2, name: 'keep' });
        await eventually(async () => (await listDnsEndpoints(kc, ns2)).length === 0, {
          timeoutMs: 45_000,
        });
        // A full sync of the zone with the host gone: under sync it would delete the record.
        await op2.dns.syncZoneNow(zone2.id);
        expect(await record(r53, zone2.id, `keep.${zone2.name}`, 'A')).toBeDefined();
        expect(await record(r53, zone2.id, `a-keep.${zone2.name}`, 'TXT')).toBeDefined();
      } finally {
        await op2.stop();
        await deleteNamespace(kc, ns2);
      }
    },
  );
});

describe('throttling', () => {
  it('retries throttled Route53 calls with backoff and still publishes', async () => {
    const before = (await op.metrics.awsThrottles.get()).values.reduce((n, v) => n + v.value, 0);
    // The next four record-set calls (list or change) are refused with Route53's Throttling error.
    await injectThrottling(env.awsEndpoint, 4, '/rrset');
    const host = `throttled.${zone.name}`;
    await makeIngress('throttled', [host]);
    await setAddress('throttled', [{ ip: '192.0.2.90' }]);
    await eventually(async () => (await stateOf('throttled', host, 'A')) === 'Published', {
      timeoutMs: 30_000,
    });
    expect((await record(r53, zone.id, host, 'A'))?.ResourceRecords?.[0]?.Value).toBe('192.0.2.90');
    const after = (await op.metrics.awsThrottles.get()).values.reduce((n, v) => n + v.value, 0);
    expect(after - before).toBe(4);
  });
});
