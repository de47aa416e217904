// The CA's rate limits, end to end (issue 22): a proxy in front of Pebble answers newOrder with
// 429 rateLimited and a Retry-After; certroute waits at least that long, says RateLimited on
// the Certificate while it waits, backs off only the scope the CA named, and issues everything.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Operator } from '../../src/operator.js';
import { createClusterIssuer, deleteClusterIssuer, labIssuer } from '../lab/acme-helpers.js';
import { startAcmeProxy, type AcmeProxy, type ProxiedCall } from '../lab/acme-proxy.js';
import {
  adminConfig,
  createNamespace,
  deleteNamespace,
  eventually,
  labEnv,
  labRoute53,
} from '../lab/context.js';
import { conditionOf, getCertificate, ingress, listCertificates } from '../lab/k8s-helpers.js';
import { ensureNamespace, startOperator } from '../lab/operator.js';
import { createZone } from '../lab/route53-helpers.js';

const env = labEnv();
const kc = adminConfig(env);
const net = kc.makeApiClient(k8s.NetworkingV1Api);
const r53 = labRoute53(env);

let ns: string;
let zoneA: { id: string; name: string };
let zoneB: { id: string; name: string };
let proxy: AcmeProxy;
let op: Operator;
const suffix = Date.now().toString(36);
const issuer = `limits-${suffix}`;
const issuer2 = `limits2-${suffix}`;

/** Every Ready/Issuing condition each Certificate showed, polled while the test runs. */
const seen = new Map<string, { reason: string; message: string }[]>();
let watching: NodeJS.Timeout | undefined;

beforeAll(async () => {
  ns = await createNamespace(kc, 'limits');
  await ensureNamespace(kc, 'certroute');
  zoneA = await createZone(r53, 'limits');
  zoneB = await createZone(r53, 'limitsb');
  proxy = await startAcmeProxy(env.acmeDirectory, env.acmeCaFile);
  for (const name of [issuer, issuer2])
    await createClusterIssuer(kc, labIssuer(env, name, { server: proxy.directory }));
  op = await startOperator(
    env,
    [
      `--watch-namespaces=${ns}`,
      '--leader-election=false',
      `--domain-filter=${zoneA.name},${zoneB.name}`,
      '--owner-id=lab-limits',
      '--namespace=certroute',
    ],
    undefined,
    // A short backoff: what waits is the CA's Retry-After, not certroute's own doubling.
    { certificates: { retryBaseMs: 200 } },
  );
  watching = setInterval(() => {
    void listCertificates(kc, ns)
      .then((cs) => {
        for (const c of cs)
          for (const cond of c.status?.conditions ?? [])
            if (cond.reason === 'RateLimited' || cond.message.includes('RateLimited')) {
              const name = c.metadata?.name ?? '';
              const list = seen.get(name) ?? [];
              list.push({ reason: cond.reason, message: cond.message });
              seen.set(name, list);
            }
      })
      .catch(() => undefined);
  }, 200);
}, 60_000);

afterAll(async () => {
  if (watching) clearInterval(watching);
  // What the proxy saw, for whoever reads the lab's directory after a failure.
  if (proxy) writeFileSync(join(env.dir, 'acme-proxy-calls.json'), JSON.stringify(proxy.calls));
  await op?.stop();
  await proxy?.stop();
  for (const name of [issuer, issuer2]) await deleteClusterIssuer(kc, name);
  await deleteNamespace(kc, ns);
});

async function tlsIngress(name: string, host: string, issuerName: string): Promise<void> {
  await net.createNamespacedIngress({
    namespace: ns,
    body: ingress({
      name,
      namespace: ns,
      hosts: [host],
      tls: [{ secretName: `${name}-tls`, hosts: [host] }],
      className: env.ingressClass,
      annotations: { 'certroute.io/issuer': issuerName, 'certroute.io/dns': 'true' },
    }),
  });
}

function newOrders(identifier: string): ProxiedCall[] {
  return proxy.calls
    .filter((c) => c.action === 'newOrder' && c.identifiers.includes(identifier))
    .sort((a, b) => a.at - b.at);
}

describe('a CA answering newOrder with 429 rateLimited, Retry-After 8 s', () => {
  const K = 3;
  const retryAfter = 8;
  const names = ['one', 'two', 'three'];

  it('certroute waits at least Retry-After per Certificate, says RateLimited, and issues all', async () => {
    proxy.refuse({ action: 'newOrder', first: K, retryAfterSeconds: retryAfter });
    const hosts = names.map((n) => `${n}.${zoneA.name}`);
    for (const [i, n] of names.entries()) await tlsIngress(n, hosts[i] ?? '', issuer);

    for (const n of names)
      await eventually(
        async () =>
          conditionOf(await getCertificate(kc, ns, `${n}-tls`), 'Ready')?.status === 'True',
        { timeoutMs: 120_000, intervalMs: 250 },
      );

    // The proxy refused K newOrders and forwarded exactly one per Certificate.
    expect(proxy.refused('newOrder')).toBe(K);
    expect(proxy.forwarded('newOrder')).toBe(names.length);

    let refusedSeen = 0;
    for (const host of hosts) {
      const calls = newOrders(host);
      expect(calls.at(-1)?.refused, `${host}: the last newOrder was forwarded`).toBe(false);
      // After a refusal, the next newOrder for the same names comes after first + Retry-After
      // (the proxy's own timestamps of the two calls).
      for (let i = 0; i < calls.length - 1; i++) {
        const [a, b] = [calls[i], calls[i + 1]] as [ProxiedCall, ProxiedCall];
        if (!a.refused) continue;
        refusedSeen++;
        expect(b.at, `${host}: newOrder #${i + 2} vs the refusal before it`).toBeGreaterThanOrEqual(
          a.at + retryAfter * 1000,
        );
      }
    }
    expect(refusedSeen).toBe(K);

    // Every Certificate was held back, by the CA's answer or by certroute's own backoff of the
    // account it scoped; the CA's wait is in the message.
    for (const n of names) {
      const conds = seen.get(`${n}-tls`) ?? [];
      expect(
        conds.some((c) => c.reason === 'RateLimited'),
        `${n}: RateLimited was shown`,
      ).toBe(true);
      expect(
        conds.some((c) =>
          /Retry-After: 8 s|local limit: the CA refused orders for this account/.test(c.message),
        ),
      ).toBe(true);
    }
    const rl = await op.metrics.registry.getSingleMetricAsString(
      'certroute_acme_rate_limited_total',
    );
    expect(rl).toMatch(/certroute_acme_rate_limited_total\{scope="account"\} [1-9]/);
  }, 180_000);
});

describe('a rateLimited answer for one registered domain', () => {
  it('holds back orders in that domain, not in another', async () => {
    proxy.refuse({
      action: 'newOrder',
      first: 1_000,
      retryAfterSeconds: 600,
      detail: `lab proxy: too many certificates already issued for "${zoneA.name}" (registered domain)`,
      match: (ids) => ids.some((i) => i.endsWith(`.${zoneA.name}`)),
    });
    const a1 = `a1.${zoneA.name}`;
    await tlsIngress('a1', a1, issuer2);
    const refused = await eventually(() => newOrders(a1).find((c) => c.refused), {
      timeoutMs: 60_000,
    });
    await eventually(
      async () =>
        conditionOf(await getCertificate(kc, ns, 'a1-tls'), 'Ready')?.reason === 'RateLimited',
    );

    // Another name in the same domain: certroute does not ask the CA at all.
    const a2 = `a2.${zoneA.name}`;
    await tlsIngress('a2', a2, issuer2);
    const held = await eventually(
      async () => {
        const c = conditionOf(await getCertificate(kc, ns, 'a2-tls'), 'Ready');
        return c?.reason === 'RateLimited' && c;
      },
      { timeoutMs: 60_000 },
    );
    expect(held.message).toMatch(
      new RegExp(
        `^local limit: the CA refused orders for registered domain ${zoneA.name.replace(/\./g, '\\.')} until `,
      ),
    );
    expect(newOrders(a2)).toEqual([]);

    // A name in another domain, same account: ordered and issued.
    const b1 = `b1.${zoneB.name}`;
    await tlsIngress('b1', b1, issuer2);
    await eventually(
      async () => conditionOf(await getCertificate(kc, ns, 'b1-tls'), 'Ready')?.status === 'True',
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    expect(newOrders(b1).map((c) => c.refused)).toEqual([false]);
    // Still nothing for a2, and a1 was not asked again within its Retry-After.
    expect(newOrders(a2)).toEqual([]);
    expect(newOrders(a1).filter((c) => c.at > refused.at)).toEqual([]);
    const local = await op.metrics.registry.getSingleMetricAsString(
      'certroute_acme_local_limit_total',
    );
    expect(local).toMatch(/certroute_acme_local_limit_total\{limit="ca-registered-domain"\} [1-9]/);
  }, 180_000);
});
