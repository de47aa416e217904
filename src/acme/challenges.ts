import type * as k8s from '@kubernetes/client-node';
import type * as acme from 'acme-client';
import type { Config } from '../config/index.js';
import { describeError, Failure } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { Account } from './issuer.js';
import { dns01Of, type Authz } from './orders.js';
import { Dns01ConfigError, dns01Ref, type Dns01Ref, type Dns01Solver } from './solvers/dns01.js';
import {
  checkDns,
  Http01Objects,
  Lookup,
  probeAnswer,
  probeToken,
  selfCheck,
  solverName,
  type SolverTarget,
} from './solvers/http01.js';
import { selectSolver, type Selection } from './solvers/select.js';

export interface ChallengeDeps {
  kubeConfig: k8s.KubeConfig;
  config: Config;
  dns01: Dns01Solver;
  /** The port and the addresses (every replica serving tokens) in solver EndpointSlices. */
  solverEndpoints: () => Promise<{ port: number; addresses: string[] }>;
}

/** Where an HTTP-01 solver's objects go: the Certificate's namespace, owner and class. */
export type ChallengeTarget = Omit<SolverTarget, 'host'>;

/** What the HTTP-01 preflight checks a host against. */
export interface Http01Preflight {
  /** The Ingress the Certificate came from; undefined for a Certificate made by hand. */
  ingress: { namespace: string; name: string } | undefined;
  /** The Ingress's addresses (IPs and hostnames) the host must resolve to; [] when none. */
  want: string[];
  target: ChallengeTarget;
}

export type PreflightWaitReason =
  'WaitingForAddress' | 'WaitingForDNS' | 'SolverUnreachable' | 'SolverRouteNotAccepted';

/**
 * The preflight's verdict: go ahead; a failure the user must fix (no solver, no zone); or a
 * wait for something that comes by itself (an address, DNS, the solver route).
 */
export type PreflightResult =
  | { ok: true }
  | { ok: false; failure: Failure }
  | { ok: false; wait: { reason: PreflightWaitReason; message: string } };

/**
 * The challenges of an order, in PRODUCT order: each name gets its solver (selection), each
 * solver is prepared and checked before the CA is asked to validate, and everything a solver
 * created goes afterwards, in every outcome.
 */
export class Challenges {
  private readonly objects: Http01Objects;
  private readonly lookup: Lookup;

  constructor(private readonly d: ChallengeDeps) {
    this.objects = new Http01Objects(d.kubeConfig, d.solverEndpoints);
    this.lookup = new Lookup(d.config.recursiveNameservers);
  }

  /**
   * Before an order: every name has a solver; every DNS-01 name a zone certroute can write;
   * every HTTP-01 host's Ingress has an address, the host resolves to it, and a probe token
   * fetched through the host's solver Ingress, as the CA will fetch the real one, comes back.
   * Until then no order exists (an order that cannot validate costs a failed validation).
   */
  async preflight(
    account: Account,
    dnsNames: readonly string[],
    forced: 'http01' | 'dns01' | undefined,
    http: Http01Preflight,
  ): Promise<PreflightResult> {
    const http01: { host: string; sel: Extract<Selection, { ok: true }> }[] = [];
    for (const name of dnsNames) {
      const wildcard = name.startsWith('*.');
      const host = name.replace(/^\*\./, '');
      const sel = selectSolver(account.spec.acme.solvers, host, wildcard, forced);
      if (!sel.ok) return { ok: false, failure: new Failure(sel.reason, sel.message) };
      if (sel.type === 'http-01') {
        http01.push({ host, sel });
        continue;
      }
      const ref = this.dns01Ref(account, sel.solver.dns01);
      if (!ref) continue;
      try {
        await this.d.dns01.place(ref, host);
      } catch (err) {
        if (err instanceof Dns01ConfigError) return { ok: false, failure: err };
        throw err;
      }
    }
    for (const { host, sel } of http01) {
      const wait = await this.http01Ready(host, sel, http);
      if (wait) return { ok: false, wait };
    }
    return { ok: true };
  }

  /** One HTTP-01 host's preflight: undefined when the CA could validate it now. */
  private async http01Ready(
    host: string,
    sel: Extract<Selection, { ok: true }>,
    http: Http01Preflight,
  ): Promise<{ reason: PreflightWaitReason; message: string } | undefined> {
    const ing = http.ingress;
    if (ing && http.want.length === 0)
      return {
        reason: 'WaitingForAddress',
        message: `${host}: Ingress ${ing.namespace}/${ing.name} has no address yet (status.loadBalancer is empty); no order is placed until its ingress controller publishes one`,
      };
    // Split-horizon DNS: what certroute resolves is not what the CA does, so no DNS or probe
    // check; the objects are still made, and a route the CA cannot use costs a validation.
    // A challenge HTTPRoute is looked at in the API, not through DNS: asked in both cases.
    const present = async () => {
      await this.objects.present({
        ...http.target,
        ingressClassName: sel.solver.http01?.ingressClassName ?? http.target.ingressClassName,
        host,
        shape: sel.solver.http01,
      });
      const { namespace, certificate } = http.target;
      const route = await this.routeAccepted(namespace, certificate, host, sel);
      return route ? { reason: 'SolverRouteNotAccepted' as const, message: route } : undefined;
    };
    if (this.d.config.skipSelfChecks) return present();
    const dns = await checkDns(this.lookup, host, http.want);
    if (!dns.ok)
      return {
        reason: 'WaitingForDNS',
        message: `${dns.message}; no order is placed until it does (certroute publishes the record when the host is in a zone it manages; otherwise point the host at the Ingress)`,
      };
    const route = await present();
    if (route) return route;
    const token = probeToken(http.target.certificate.uid, host);
    const address = dns.addresses[0] ?? host;
    const check = await selfCheck(
      address,
      this.d.config.http01Port,
      host,
      token,
      probeAnswer(token),
    );
    if (check.ok) return undefined;
    return {
      reason: 'SolverUnreachable',
      message: `${host}: a probe through the solver ${sel.solver.http01?.gatewayHTTPRoute ? 'HTTPRoute' : 'Ingress'} failed (${check.message}); the CA would fail the same way, so no order is placed`,
    };
  }

  /**
   * One pending authorization. Returns what it waits for, or undefined once the challenge is
   * accepted (or already being validated). Throws Dns01ConfigError for what the user must fix.
   */
  async solve(
    account: Account,
    a: acme.Authorization,
    mine: Authz | undefined,
    want: string[],
    target: ChallengeTarget,
  ): Promise<string | undefined> {
    return mine?.challenge?.type === 'dns-01'
      ? this.solveDns01(account, a, mine)
      : this.solveHttp01(account, a, mine, want, target);
  }

  /**
   * HTTP-01: DNS points at the Ingress, the host's solver objects are there (the preflight
   * made them), the token's self-check passes, and only then the challenge is accepted.
   */
  private async solveHttp01(
    account: Account,
    a: acme.Authorization,
    mine: Authz | undefined,
    want: string[],
    target: ChallengeTarget,
  ): Promise<string | undefined> {
    const host = a.identifier.value;
    const keyAuthorization = mine?.challenge?.keyAuthorization;
    const ch = a.challenges.find((c) => c.type === 'http-01');
    if (!ch || !keyAuthorization) return `${host}: the CA offered no http-01 challenge`;
    // Also while the CA validates: a new leader adopts the objects and points them at the
    // replicas serving now (free when nothing changed).
    await this.objects.present({
      ...target,
      ingressClassName: solverIngressClass(account, mine, target.ingressClassName),
      host,
      shape: matchedHttp01(account, mine),
    });
    if (ch.status === 'processing' || ch.status === 'valid') return undefined;
    const route = await this.routeAccepted(target.namespace, target.certificate, host, {
      solver: { http01: matchedHttp01(account, mine) },
    });
    if (route) return route;
    if (this.d.config.skipSelfChecks) {
      await account.client.completeChallenge(ch);
      return undefined;
    }
    const dns = await checkDns(this.lookup, host, want);
    if (!dns.ok) return dns.message;
    const address = dns.addresses[0] ?? host;
    const port = this.d.config.http01Port;
    const check = await selfCheck(address, port, host, ch.token, keyAuthorization);
    if (!check.ok) return check.message;
    await account.client.completeChallenge(ch);
    return undefined;
  }

  /**
   * DNS-01: the TXT value is written (INSYNC awaited), every authoritative nameserver of the
   * zone shows it (unless --skip-self-checks), and only then the challenge is accepted.
   */
  private async solveDns01(
    account: Account,
    a: acme.Authorization,
    mine: Authz,
  ): Promise<string | undefined> {
    const host = a.identifier.value;
    const ch = a.challenges.find((c) => c.type === 'dns-01');
    const cfg = this.dns01Ref(account, dns01Of(account, mine));
    const value = mine.challenge?.keyAuthorization;
    if (!ch || !cfg || !value) return `${host}: the CA offered no dns-01 challenge`;
    if (ch.status === 'processing' || ch.status === 'valid') return undefined;
    const at = await this.d.dns01.place(cfg, host);
    // A fresh write is checked once for INSYNC, never waited on: the next poll finds the
    // value present (no new change) and goes on to the nameservers, the real gate.
    const change = await this.d.dns01.present(cfg, at, value);
    if (change && !(await this.d.dns01.inSyncNow(cfg, change)))
      return `${at.name}: DNS change ${change} not in sync yet`;
    // --skip-self-checks (split-horizon DNS): what certroute sees is not what the CA sees.
    if (!this.d.config.skipSelfChecks) {
      const seen = await this.d.dns01.visible(at, value);
      if (!seen.ok) return seen.message;
    }
    await account.client.completeChallenge(ch);
    return undefined;
  }

  /**
   * For a solver with `gatewayHTTPRoute`: why its challenge HTTPRoute does not route yet (no
   * Gateway accepted it), or undefined when every parent accepted it (or the solver makes an
   * Ingress). Asked before any probe: an unaccepted route cannot be reached.
   */
  private async routeAccepted(
    namespace: string,
    certificate: { uid: string },
    host: string,
    sel: { solver: { http01?: { gatewayHTTPRoute?: unknown } | undefined } },
  ): Promise<string | undefined> {
    if (!sel.solver.http01?.gatewayHTTPRoute) return undefined;
    const got = await this.objects.routes.accepted(namespace, solverName(certificate.uid, host));
    return got.ok ? undefined : `${host}: ${got.message}; no challenge is answered until it is`;
  }

  private dns01Ref(account: Account, dns01: Parameters<typeof dns01Ref>[0]): Dns01Ref | undefined {
    return dns01Ref(dns01, account.issuer, this.d.config.namespace);
  }

  /** The replicas serving tokens changed: every solver slice lists the new set. */
  refreshSolvers(): Promise<void> {
    return this.objects.refresh();
  }

  /** Solver objects and challenge TXT values go in every outcome; failures are only logged. */
  async cleanup(
    namespace: string,
    certificate: string,
    account: Account | undefined,
    authorizations: readonly Authz[],
    log: Logger,
  ): Promise<void> {
    try {
      await this.objects.cleanup(namespace, certificate);
    } catch (err) {
      // The objects carry the Certificate as owner: the garbage collector is the backstop.
      log.warn({ err: describeError(err) }, 'HTTP-01 solver cleanup failed');
    }
    if (!account) return;
    for (const a of authorizations) {
      const cfg = this.dns01Ref(account, dns01Of(account, a));
      const value = a.challenge?.keyAuthorization;
      if (a.challenge?.type !== 'dns-01' || !cfg || !value) continue;
      try {
        await this.d.dns01.cleanup(cfg, await this.d.dns01.place(cfg, a.identifier), value);
      } catch (err) {
        log.warn({ host: a.identifier, err: describeError(err) }, 'DNS-01 TXT cleanup failed');
      }
    }
  }
}

/**
 * The class of a host's solver Ingress: the `http01.ingressClassName` of the solver that
 * matched this host (recorded in its authorization's status), else the class of the Ingress
 * that asked for the certificate.
 */
export function solverIngressClass(
  account: Pick<Account, 'spec'>,
  mine: Pick<Authz, 'solver'> | undefined,
  fallback: string | undefined,
): string | undefined {
  return matchedHttp01(account, mine)?.ingressClassName ?? fallback;
}

/** The `http01` block of the solver that matched a host (recorded in its authorization). */
function matchedHttp01(account: Pick<Account, 'spec'>, mine: Pick<Authz, 'solver'> | undefined) {
  return mine?.solver === undefined ? undefined : account.spec.acme.solvers[mine.solver]?.http01;
}
