// Claims, the grace period and the deletion cap (issue 21, items 3 and 4), with two tenant
// namespaces whose RBAC-limited users write the Ingresses. The admin writes only what an
// ingress controller would (Ingress addresses) and what a human operator would (an approval).
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DNSEndpoint } from '../../src/api/v1alpha1.js';
import { approveAnnotation, deletionsConfigMap } from '../../src/dns/approvals.js';
import type { Operator } from '../../src/operator.js';
import { changesSeen } from '../lab/aws-proxy.js';
import { adminConfig, eventually, labEnv, labRoute53, uniqueName } from '../lab/context.js';
import { eventsFor, ingress, listDnsEndpoints } from '../lab/k8s-helpers.js';
import { writeAddress } from '../lab/ingress-router.js';
import { ensureNamespace, startOperator } from '../lab/operator.js';
import { createZone, record } from '../lab/route53-helpers.js';
import { createTenant, deleteTenant, type Tenant } from '../lab/tenants.js';

const env = labEnv();
const kc = adminConfig(env);
const adminNet = kc.makeApiClient(k8s.NetworkingV1Api);
const core = kc.makeApiClient(k8s.CoreV1Api);
const r53 = labRoute53(env);
/** Short, so the test waits it out; the default is 10 minutes. */
const graceSeconds = 30;

let a: Tenant;
let b: Tenant;
let zone: { id: string; name: string };
let op: Operator | undefined;
let clusterUid: string;

beforeAll(async () => {
  await ensureNamespace(kc, 'certroute');
  // "claims-a-…" sorts before "claims-b-…": A is the first claim by name.
  a = await createTenant(env, uniqueName('claims-a'));
  b = await createTenant(env, uniqueName('claims-b'));
  zone = await createZone(r53, 'claims');
  clusterUid = (await core.readNamespace({ name: 'kube-system' })).metadata?.uid ?? '';
});
afterAll(async () => {
  await op?.stop();
  await Promise.all([a && deleteTenant(env, a), b && deleteTenant(env, b)]);
});

/** An Ingress created by the tenant's own user, and its address written as a controller would. */
async function publish(t: Tenant, name: string, host: string, ip: string): Promise<void> {
  await t.kube.makeApiClient(k8s.NetworkingV1Api).createNamespacedIngress({
    namespace: t.namespace,
    body: ingress({
      name,
      namespace: t.namespace,
      hosts: [host],
      className: 'tenant',
      annotations: { 'certroute.io/dns': 'true' },
    }),
  });
  await writeAddress(adminNet, t.namespace, name, [{ ip }]);
}

async function remove(t: Tenant, name: string): Promise<void> {
  await t.kube
    .makeApiClient(k8s.NetworkingV1Api)
    .deleteNamespacedIngress({ namespace: t.namespace, name });
}

/** The record's status in the tenant's DNSEndpoint, read as the tenant. */
async function statusOf(t: Tenant, name: string, host: string) {
  const eps: DNSEndpoint[] = await listDnsEndpoints(t.kube, t.namespace);
  return eps
    .find((d) => d.metadata.name === name)
    ?.status?.endpoints?.find((e) => e.dnsName === host && e.recordType === 'A');
}

async function holder(host: string): Promise<string | undefined> {
  const txt = await record(r53, zone.id, `a-${host}`, 'TXT');
  return /certroute\/resource=([^"]+)/.exec(txt?.ResourceRecords?.[0]?.Value ?? '')?.[1];
}

async function value(host: string): Promise<string | undefined> {
  return (await record(r53, zone.id, host, 'A'))?.ResourceRecords?.[0]?.Value;
}

async function deletesOf(zoneId: string, host: string): Promise<number> {
  return (await changesSeen(env.awsEndpoint, zoneId)).filter(
    (c) => c.action === 'DELETE' && (c.name === host || c.name === `a-${host}`),
  ).length;
}

/** One sample of a metric from the operator's /metrics, for one zone. */
async function gauge(o: Operator, name: string, zoneName: string): Promise<number | undefined> {
  const text = await (await fetch(o.metricsUrl ?? '')).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{zone="${zoneName}"}`));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

describe('claims and the grace period', () => {
  beforeAll(async () => {
    op = await startOperator(env, [
      `--watch-namespaces=${a.namespace},${b.namespace}`,
      '--leader-election=false',
      `--domain-filter=${zone.name}`,
      // No --owner-id: derived from the kube-system namespace's UID, under the chart's RBAC.
      `--claim-grace-period=${graceSeconds}s`,
      '--ingress-classes=tenant',
    ]);
  });
  afterAll(async () => {
    await op?.stop();
    op = undefined;
  });

  it('two namespaces racing for one name: exactly one wins, the same one every round, and the other names it', async () => {
    for (let round = 0; round < 3; round++) {
      const host = `race-${round}.${zone.name}`;
      const name = `web-${round}`;
      // Both namespaces ask nearly at once (which request leaves first alternates). Zone syncs
      // are held until the operator has both claims in memory, so they meet in one sync: a
      // real tie, decided the same way every time. (Claims that land in different syncs go
      // to the first published: that is "first to publish holds it", not a tie.)
      op?.dns.queue.hold();
      const racers = round % 2 === 0 ? [a, b] : [b, a];
      await Promise.all(
        racers.map((t) => publish(t, name, host, t === a ? '192.0.2.11' : '192.0.2.12')),
      );
      await eventually(() =>
        [a, b].every(
          (t) =>
            (op?.shim.derivedEndpoints.get(t.namespace, name)?.spec?.endpoints?.[0]?.targets
              ?.length ?? 0) > 0,
        ),
      );
      op?.dns.queue.release();
      const winner = `ingress/${a.namespace}/${name}`;
      await eventually(async () => (await holder(host)) === winner);
      expect(await value(host)).toBe('192.0.2.11');
      const txt = await record(r53, zone.id, `a-${host}`, 'TXT');
      expect(txt?.ResourceRecords?.[0]?.Value).toContain(`certroute/owner=cluster-${clusterUid}`);
      const lost = await eventually(async () => {
        const s = await statusOf(b, name, host);
        return s?.state === 'OwnedByOther' && s.owner === winner && s;
      });
      expect(lost.message).toContain(winner);
      expect((await statusOf(a, name, host))?.state).toMatch(/Published|Pending/);
      const ev = await eventually(async () =>
        (await eventsFor(b.kube, b.namespace, name)).find(
          (e) => e.reason === 'RecordOwnedByOther' && e.message?.includes(winner),
        ),
      );
      expect(ev.type).toBe('Warning');
    }
  });

  it('delete and re-create within the grace period: the record stays, no DELETE reaches Route53, and the other namespace cannot take it', async () => {
    const host = `keep.${zone.name}`;
    await publish(a, 'keep', host, '192.0.2.21');
    await eventually(async () => (await statusOf(a, 'keep', host))?.state === 'Published');
    await remove(a, 'keep');
    await eventually(
      async () =>
        !(await listDnsEndpoints(kc, a.namespace)).some((d) => d.metadata.name === 'keep'),
    );
    // Meanwhile B asks for the name: refused, naming A's Ingress, which holds it in its grace.
    await publish(b, 'keep', host, '192.0.2.22');
    const refused = await eventually(async () => {
      const s = await statusOf(b, 'keep', host);
      return s?.state === 'OwnedByOther' && s;
    });
    expect(refused.owner).toBe(`ingress/${a.namespace}/keep`);
    expect(refused.message).toContain('--claim-grace-period');
    expect(await gauge(op!, 'certroute_dns_records_in_grace', zone.name)).toBeGreaterThanOrEqual(1);
    // A re-creates it (a re-apply): published again, as it was.
    await publish(a, 'keep', host, '192.0.2.21');
    await eventually(async () => (await statusOf(a, 'keep', host))?.state === 'Published');
    expect(await value(host)).toBe('192.0.2.21');
    expect(await holder(host)).toBe(`ingress/${a.namespace}/keep`);
    expect(await deletesOf(zone.id, host)).toBe(0);
    expect((await statusOf(b, 'keep', host))?.owner).toBe(`ingress/${a.namespace}/keep`);
  });

  it('a change of class deletes nothing within the grace period; changed back, nothing changed', async () => {
    const host = `classy.${zone.name}`;
    await publish(a, 'classy', host, '192.0.2.51');
    await eventually(async () => (await statusOf(a, 'classy', host))?.state === 'Published');
    const setClass = async (cls: string) => {
      const api = a.kube.makeApiClient(k8s.NetworkingV1Api);
      const cur = await api.readNamespacedIngress({ namespace: a.namespace, name: 'classy' });
      cur.spec = { ...cur.spec, ingressClassName: cls };
      await api.replaceNamespacedIngress({ namespace: a.namespace, name: 'classy', body: cur });
    };
    await setClass('someone-else');
    // Out of scope now: its DNSEndpoint goes, its record stays, counted in grace.
    await eventually(
      async () =>
        !(await listDnsEndpoints(kc, a.namespace)).some((d) => d.metadata.name === 'classy'),
    );
    await eventually(
      async () => ((await gauge(op!, 'certroute_dns_records_in_grace', zone.name)) ?? 0) >= 1,
    );
    expect(await value(host)).toBe('192.0.2.51');
    await setClass('tenant');
    await eventually(async () => (await statusOf(a, 'classy', host))?.state === 'Published');
    expect(await value(host)).toBe('192.0.2.51');
    expect(await deletesOf(zone.id, host)).toBe(0);
    await remove(a, 'classy');
  });

  it(
    'after the grace period an unwanted record is deleted, or taken over by the next claimant',
    { timeout: (graceSeconds + 60) * 1000 },
    async () => {
      const gone = `gone.${zone.name}`;
      const host = `keep.${zone.name}`;
      await publish(a, 'gone', gone, '192.0.2.31');
      await eventually(async () => (await statusOf(a, 'gone', gone))?.state === 'Published');
      await Promise.all([remove(a, 'gone'), remove(a, 'keep')]);
      // Still there well into the grace period.
      await new Promise((r) => setTimeout(r, (graceSeconds / 3) * 1000));
      expect(await value(gone)).toBe('192.0.2.31');
      expect(await holder(host)).toBe(`ingress/${a.namespace}/keep`);
      // The zone is synced again when the period ends (a timer, not the 10-minute resync).
      await eventually(async () => (await value(gone)) === undefined, {
        timeoutMs: (graceSeconds + 30) * 1000,
      });
      expect(await record(r53, zone.id, `a-${gone}`, 'TXT')).toBeUndefined();
      expect(await deletesOf(zone.id, gone)).toBe(2);
      // keep.<zone>: B, still asking, takes it over with an update, not a DELETE.
      await eventually(async () => (await holder(host)) === `ingress/${b.namespace}/keep`, {
        timeoutMs: 30_000,
      });
      expect(await value(host)).toBe('192.0.2.22');
      expect(await deletesOf(zone.id, host)).toBe(0);
      await eventually(async () => (await statusOf(b, 'keep', host))?.state === 'Published');
    },
  );
});

describe('the deletion cap', () => {
  let capZone: { id: string; name: string };
  const hosts = (prefix: string, n: number) =>
    Array.from({ length: n }, (_, i) => `${prefix}-${i}.${capZone.name}`);
  const capFlags = (max: number) => [
    `--watch-namespaces=${a.namespace}`,
    '--leader-election=false',
    `--domain-filter=${capZone.name}`,
    '--owner-id=lab-cap',
    '--claim-grace-period=0s',
    `--max-deletions-per-zone=${max}`,
  ];

  async function publishAll(prefix: string, n: number): Promise<void> {
    await Promise.all(
      hosts(prefix, n).map((h, i) => publish(a, `${prefix}-${i}`, h, '192.0.2.41')),
    );
    for (const h of hosts(prefix, n)) await eventually(async () => (await value(h)) !== undefined);
  }

  async function removeAll(prefix: string, n: number): Promise<void> {
    await Promise.all(hosts(prefix, n).map((_, i) => remove(a, `${prefix}-${i}`)));
  }

  async function value(host: string): Promise<string | undefined> {
    return (await record(r53, capZone.id, host, 'A'))?.ResourceRecords?.[0]?.Value;
  }

  async function entry(): Promise<{ cm?: k8s.V1ConfigMap; text?: string }> {
    const cm = await core
      .readNamespacedConfigMap({ name: deletionsConfigMap, namespace: 'certroute' })
      .catch(() => undefined);
    return { cm, text: cm?.data?.[capZone.name] };
  }

  beforeAll(async () => {
    capZone = await createZone(r53, 'cap');
  });
  afterAll(async () => {
    await op?.stop();
    op = undefined;
    // Leave the shared ConfigMap as found: without this zone's entry.
    const { cm } = await entry();
    if (cm?.data?.[capZone.name] !== undefined) {
      delete cm.data[capZone.name];
      await core
        .replaceNamespacedConfigMap({ name: deletionsConfigMap, namespace: 'certroute', body: cm })
        .catch(() => undefined);
    }
  });

  it(
    'more deletions than the cap: none goes, the gauge, ConfigMap and Event say so, and an approval of exactly that set lets them go',
    { timeout: 120_000 },
    async () => {
      op = await startOperator(env, capFlags(3));
      await publishAll('cap', 5);
      await removeAll('cap', 5);
      await eventually(
        async () => (await gauge(op!, 'certroute_dns_deletions_blocked', capZone.name)) === 5,
        { timeoutMs: 30_000 },
      );
      for (const h of hosts('cap', 5)) expect(await value(h)).toBe('192.0.2.41');
      expect(await deletesOf(capZone.id, hosts('cap', 5)[0] ?? '')).toBe(0);
      const { text } = await eventually(async () => {
        const e = await entry();
        return e.text !== undefined && e;
      });
      const listed = k8s.loadYaml<{ count: number; token: string; sample: string[] }>(text ?? '');
      expect(listed.count).toBe(5);
      expect(listed.sample).toContain(`A ${hosts('cap', 5)[0]}`);
      expect(listed.token).toMatch(/^[0-9a-f]{12}$/);
      const ev = await eventually(async () =>
        (await eventsFor(kc, 'certroute', deletionsConfigMap)).find(
          (e) => e.reason === 'DeletionsBlocked' && e.message?.includes(capZone.name),
        ),
      );
      expect(ev.type).toBe('Warning');
      expect(ev.message).toContain(listed.token);

      // A human approves exactly this set.
      const { cm } = await entry();
      await core.replaceNamespacedConfigMap({
        name: deletionsConfigMap,
        namespace: 'certroute',
        body: {
          ...cm,
          metadata: {
            ...cm?.metadata,
            annotations: { ...cm?.metadata?.annotations, [approveAnnotation]: listed.token },
          },
        },
      });
      for (const h of hosts('cap', 5))
        await eventually(async () => (await value(h)) === undefined, { timeoutMs: 30_000 });
      expect(await gauge(op, 'certroute_dns_deletions_blocked', capZone.name)).toBe(0);
      // The entry is gone and the token used up.
      await eventually(async () => (await entry()).text === undefined);
      expect((await entry()).cm?.metadata?.annotations?.[approveAnnotation] ?? '').not.toContain(
        listed.token,
      );
    },
  );

  it('raising the cap lets blocked deletions go', { timeout: 120_000 }, async () => {
    await publishAll('raise', 4);
    await removeAll('raise', 4);
    await eventually(
      async () => (await gauge(op!, 'certroute_dns_deletions_blocked', capZone.name)) === 4,
      { timeoutMs: 30_000 },
    );
    for (const h of hosts('raise', 4)) expect(await value(h)).toBe('192.0.2.41');
    await op?.stop();
    op = await startOperator(env, capFlags(10));
    for (const h of hosts('raise', 4))
      await eventually(async () => (await value(h)) === undefined, { timeoutMs: 30_000 });
    await eventually(
      async () => (await gauge(op!, 'certroute_dns_deletions_blocked', capZone.name)) === 0,
    );
  });
});
