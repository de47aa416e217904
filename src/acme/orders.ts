import type * as acme from 'acme-client';
import type { CertificateStatus } from '../api/v1alpha1.js';
import { newOrderPayload, problemType } from './client.js';
import type { Account } from './issuer.js';
import { selectSolver } from './solvers/select.js';

/** An authorization as kept in the Certificate's status, so any replica can resume it. */
export type Authz = NonNullable<CertificateStatus['order']>['authorizations'][number];

/** newOrder with profile and replaces; a CA that says "already replaced" gets a plain order. */
export async function createOrder(
  account: Account,
  dnsNames: readonly string[],
  replaces: string | undefined,
): Promise<acme.Order> {
  const profile = account.profile;
  try {
    return await account.client.createOrder(newOrderPayload({ dnsNames, profile, replaces }));
  } catch (err) {
    if (!replaces || problemType(err) !== 'alreadyReplaced') throw err;
    return account.client.createOrder(newOrderPayload({ dnsNames, profile }));
  }
}

/** The order's authorizations, each with its solver's challenge and key authorization. */
export async function describeAuthorizations(
  account: Account,
  order: acme.Order,
  forced: 'http01' | 'dns01' | undefined,
): Promise<Authz[]> {
  const client = account.client;
  const out: Authz[] = [];
  for (const a of await client.getAuthorizations(order)) {
    const sel = selectSolver(account.spec.acme.solvers, a.identifier.value, !!a.wildcard, forced);
    const ch = sel.ok ? a.challenges.find((c) => c.type === sel.type) : undefined;
    const challenge =
      ch && sel.ok
        ? {
            type: sel.type,
            url: ch.url,
            token: ch.token,
            // http-01: token.thumbprint; dns-01: its SHA-256 digest, the TXT value.
            keyAuthorization: await client.getChallengeKeyAuthorization(ch),
          }
        : undefined;
    out.push({
      url: a.url,
      identifier: a.identifier.value,
      ...(a.wildcard ? { wildcard: true } : {}),
      ...(sel.ok ? { solver: sel.index } : {}),
      ...(challenge ? { challenge } : {}),
    });
  }
  return out;
}

/** Why an order turned invalid: the CA's words for each invalid challenge. */
export async function whyInvalid(account: Account, order: acme.Order): Promise<string> {
  return (await describeInvalid(account, order)).message;
}

/**
 * Why an order turned invalid, and the hostnames whose validation failed (each counts against
 * the CA's failed-validation limit).
 */
export async function describeInvalid(
  account: Account,
  order: acme.Order,
): Promise<{ message: string; hosts: string[] }> {
  try {
    const authzs = await account.client.getAuthorizations(order);
    const bad = authzs.flatMap((a) =>
      a.challenges
        .filter((c) => c.status === 'invalid')
        .map((c) => ({
          host: a.identifier.value,
          why: `${a.identifier.value}: ${(c.error as { detail?: string } | undefined)?.detail ?? 'challenge invalid'}`,
        })),
    );
    return {
      message: bad.map((b) => b.why).join('; ') || `order ${order.url} is ${order.status}`,
      hosts: [...new Set(bad.map((b) => b.host))],
    };
  } catch {
    return { message: `order ${order.url} is ${order.status}`, hosts: [] };
  }
}

/** The dns01 block of the solver an authorization was given, if it is a DNS-01 one. */
export function dns01Of(account: Account, a: Authz) {
  return a.solver === undefined ? undefined : account.spec.acme.solvers[a.solver]?.dns01;
}
