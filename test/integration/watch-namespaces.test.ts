// With --watch-namespaces the operator reads and writes only in those namespaces: a hand-written
// DNSEndpoint and an Ingress in another namespace get no record, no status and no Event (the
// DNSEndpoint used to get all three, from a cluster-wide informer), while the same in a watched
// namespace are published; the caches hold nothing from outside.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
import { writeAddress } from '../lab/ingress-router.js';
import { createClusterIssuer, deleteClusterIssuer, labIssuer } from '../lab/acme-helpers.js';
import { ensureNamespace, startOperator } from '../lab/operator.js';
import { createZone, record } from '../lab/route53-helpers.js';

const env = labEnv();
const kc = adminConfig(env);
const net = kc.makeApiClient(k8s.NetworkingV1Api);
const r53 = labRoute53(env);
let watched: string;
let outside: string;
let zone: { id: string; name: string };
let op: Operator;

beforeAll(async () => {
  watched = await createNamespace(kc, 'wn-in');
  outside = await createNamespace(kc, 'wn-out');
  await ensureNamespace(kc, 'certroute');
  zone = await createZone(r53, 'wn');
  op = await startOperator(env, [
    `--watch-namespaces=${watched}`,
    '--leader-election=false',
    `--domain-filter=${zone.name}`,
    '--owner-id=wn',
  ]);
});
afterAll(async () => {
  await op?.stop();
  await deleteNamespace(kc, watched);
  await deleteNamespace(kc, outside);
});

describe('--watch-namespaces', () => {
  it('publishes, writes status and records Events in the watched namespace only', async () => {
    const host = (ns: string) => `${ns === watched ? 'in' : 'out'}.${zone.name}`;
    const ip = (ns: string) => (ns === watched ? '192.0.2.72' : '192.0.2.71');
    for (const ns of [outside, watched]) {
      await createDnsEndpoint(kc, ns, 'hand', [
        { dnsName: host(ns), recordType: 'A', targets: [ip(ns)] },
      ]);
      await net.createNamespacedIngress({
        namespace: ns,
        body: ingress({ name: 'web', namespace: ns, hosts: [`web-${host(ns)}`] }),
      });
      await writeAddress(net, ns, 'web', [{ ip: ip(ns) }]);
    }

    // The watched namespace's records are published, with status and Events.
    for (const h of [host(watched), `web-${host(watched)}`])
      await eventually(
        async () =>
          (await record(r53, zone.id, h, 'A'))?.ResourceRecords?.[0]?.Value === ip(watched),
        { timeoutMs: 30_000 },
      );
    await eventually(async () => {
      const e = (await listDnsEndpoints(kc, watched)).find((d) => d.metadata.name === 'hand');
      return e?.status?.endpoints?.[0]?.state === 'Published';
    });
    await eventually(async () =>
      (await eventsFor(kc, watched, 'web')).some((e) => e.reason === 'RecordPublished'),
    );

    // One more full pass of the zone, after both namespaces' objects existed.
    await op.dns.syncZoneNow(zone.id);
    expect(await record(r53, zone.id, host(outside), 'A')).toBeUndefined();
    expect(await record(r53, zone.id, `web-${host(outside)}`, 'A')).toBeUndefined();
    const theirs = await listDnsEndpoints(kc, outside);
    // Only the hand-written one: the shim derived none from the Ingress outside.
    expect(theirs.map((d) => d.metadata.name)).toEqual(['hand']);
    expect(theirs[0]?.status).toBeUndefined();
    expect(await eventsFor(kc, outside, 'hand')).toEqual([]);
    expect(await eventsFor(kc, outside, 'web')).toEqual([]);

    // Nothing from outside is cached: every namespaced informer is the watched namespace's.
    const namespaces = (objs: { metadata?: { namespace?: string } }[]) =>
      new Set(objs.map((o) => o.metadata?.namespace));
    expect(namespaces(op.dns.endpoints.list())).toEqual(new Set([watched]));
    expect(namespaces(op.shim.dnsEndpoints.list())).toEqual(new Set([watched]));
    expect(op.shim.certificates.list().every((c) => c.metadata?.namespace === watched)).toBe(true);
    expect(op.shim.ingresses.flatMap((i) => i.list()).map((i) => i.metadata?.namespace)).toEqual([
      watched,
    ]);
  });

  it('records Events about a ClusterIssuer in `default`, the only namespace the API server accepts them in', async () => {
    const name = `wn-unreachable-${Date.now().toString(36)}`;
    // Nothing listens on port 1: registration fails with CAUnreachable and a Warning Event.
    await createClusterIssuer(kc, labIssuer(env, name, { server: 'https://127.0.0.1:1/dir' }));
    try {
      await eventually(
        async () =>
          (await eventsFor(kc, 'default', name)).some(
            (e) => e.involvedObject.kind === 'ClusterIssuer' && e.type === 'Warning',
          ),
        { timeoutMs: 30_000 },
      );
      expect(await eventsFor(kc, 'certroute', name)).toEqual([]);
    } finally {
      await deleteClusterIssuer(kc, name);
    }
  });
});
