import { AsyncLocalStorage } from 'node:async_hooks';
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListHostedZonesCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  type Route53ClientConfig,
  type Change as AwsChange,
  type ResourceRecordSet,
  type RRType,
} from '@aws-sdk/client-route-53';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { AccountBudgets, accountKey } from '../../aws/account-budget.js';
import { instrumentAwsClient } from '../../aws/instrument.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import type { Change, RecordSet, Zone } from '../types.js';
import { describeError } from '../../errors.js';
import { InvalidBatchError, type DnsProvider, type ProviderFactory } from './provider.js';

export function normalizeName(n: string): string {
  return n.toLowerCase().replace(/\.$/, '').replace(/\\052/g, '*');
}

function fqdn(n: string): string {
  return n.endsWith('.') ? n : `${n}.`;
}

function fromAws(rs: ResourceRecordSet): RecordSet {
  return {
    name: normalizeName(rs.Name ?? ''),
    type: rs.Type ?? '',
    ...(rs.TTL !== undefined ? { ttl: rs.TTL } : {}),
    values: (rs.ResourceRecords ?? []).map((r) => r.Value ?? ''),
    ...(rs.AliasTarget
      ? {
          alias: {
            hostedZoneId: rs.AliasTarget.HostedZoneId ?? '',
            dnsName: normalizeName(rs.AliasTarget.DNSName ?? ''),
          },
        }
      : {}),
    ...(rs.SetIdentifier ? { setIdentifier: rs.SetIdentifier } : {}),
  };
}

function toAws(c: Change): AwsChange {
  const r = c.record;
  // Fully qualified, as Route53 stores names: some implementations compare names literally.
  const base: ResourceRecordSet = { Name: fqdn(r.name), Type: r.type as RRType };
  if (r.setIdentifier) base.SetIdentifier = r.setIdentifier;
  if (r.alias) {
    base.AliasTarget = {
      HostedZoneId: r.alias.hostedZoneId,
      DNSName: fqdn(r.alias.dnsName),
      EvaluateTargetHealth: false,
    };
  } else {
    base.TTL = r.ttl ?? 300;
    base.ResourceRecords = r.values.map((Value) => ({ Value }));
  }
  return { Action: c.action, ResourceRecordSet: base };
}

export interface Route53Options {
  metrics: Metrics;
  region?: string;
  /** Credentials other than the default chain (e.g. an assumed role for a DNS-01 solver). */
  credentials?: Route53ClientConfig['credentials'];
  /** The IAM role `credentials` assume: its ARN names the account whose budget is taken. */
  role?: string;
  /**
   * The request budgets by AWS account (Route53: 5 requests per second per account), shared
   * by every provider the operator makes. Absent: a registry of this provider's own.
   */
  budgets?: AccountBudgets;
  /** Where the account-key fallback is logged (once per key). */
  log?: Logger;
  client?: Route53Client;
}

/** Below every other call: listings nobody waits for (see DnsProvider.records). */
const backgroundPriority = 3;

/** Set while a background listing runs: its calls (and their retries) take the lowest priority. */
const backgroundCalls = new AsyncLocalStorage<boolean>();

/**
 * The order in which waiting Route53 calls get the next token (lower first): a change is what
 * someone is waiting for, listings feed the next change, and `GetChange` polls only confirm
 * what was already sent. Every other operation counts as a listing.
 */
export function route53Priority(operation: string, background = false): number {
  if (background) return backgroundPriority;
  switch (operation) {
    case 'ChangeResourceRecordSetsCommand':
      return 0;
    case 'GetChangeCommand':
      return 2;
    default:
      return 1;
  }
}

/**
 * Route53 behind DnsProvider. Throttling is retried by the SDK's adaptive retry mode, which
 * also rate-limits the client once throttled; on top, the AWS account's token bucket (shared
 * with every other provider in that account) keeps certroute under the account-wide request
 * rate from the first call, serving waiting calls by `route53Priority()`. Every attempt is
 * counted by operation and outcome.
 */
export class Route53Provider implements DnsProvider {
  readonly label = 'Route53';
  readonly zoneNoun = 'Route53 hosted zone';
  readonly client: Route53Client;
  private readonly budgets: AccountBudgets;
  private budgetKey: Promise<string> | undefined;

  constructor(private readonly opts: Route53Options) {
    this.client =
      opts.client ??
      new Route53Client({
        region: opts.region ?? 'us-east-1',
        maxAttempts: 10,
        retryMode: 'adaptive',
        // The SDK waits forever by default; a hung call would stall a zone's queue key.
        requestHandler: { requestTimeout: 30_000, connectionTimeout: 5_000 },
        ...(opts.credentials ? { credentials: opts.credentials } : {}),
      });
    this.budgets = opts.budgets ?? new AccountBudgets();
    instrumentAwsClient(this.client, 'route53', opts.metrics, (operation) =>
      this.takeToken(operation),
    );
  }

  /** The budget key of this provider's account (resolved once; see accountKey()). */
  account(): Promise<string> {
    this.budgetKey ??= this.resolveAccount();
    return this.budgetKey;
  }

  private async takeToken(operation: string): Promise<void> {
    const account = await this.account();
    const waiting = this.opts.metrics.awsBudgetWaiting;
    waiting.inc({ account });
    try {
      const background = backgroundCalls.getStore() === true;
      await this.budgets.budgetFor(account).take(route53Priority(operation, background));
    } finally {
      waiting.dec({ account });
    }
  }

  /**
   * The role's ARN names its account; for the default chain, the account id the SDK put on
   * the resolved credentials (web identity, SSO, assumed roles, AWS_ACCOUNT_ID). Runs inside
   * the first call, after signing resolved the credentials, so it makes no call of its own.
   */
  private async resolveAccount(): Promise<string> {
    const { role } = this.opts;
    let accountId: string | undefined;
    let failure: unknown;
    if (!role) {
      const credentials = (
        this.client as { config?: { credentials?: () => Promise<{ accountId?: string }> } }
      ).config?.credentials;
      try {
        accountId = (await credentials?.())?.accountId;
      } catch (err) {
        failure = err;
      }
    }
    const { key, fallback } = accountKey({ ...(role ? { role } : {}), accountId });
    if (fallback && this.budgets.firstFallback(key))
      this.opts.log?.info(
        { budget: key, ...(failure ? { err: describeError(failure) } : {}) },
        'the AWS account of these credentials is not known: their Route53 calls share the budget of every client with the same credentials source (set AWS_ACCOUNT_ID to key it by account)',
      );
    return key;
  }

  async zones(): Promise<Zone[]> {
    const zones: Zone[] = [];
    let marker: string | undefined;
    do {
      const res = await this.client.send(
        new ListHostedZonesCommand({ Marker: marker, MaxItems: 100 }),
      );
      for (const z of res.HostedZones ?? []) {
        zones.push({
          id: (z.Id ?? '').replace(/^\/hostedzone\//, ''),
          name: normalizeName(z.Name ?? ''),
          private: z.Config?.PrivateZone ?? false,
        });
      }
      marker = res.IsTruncated ? res.NextMarker : undefined;
    } while (marker);
    return zones;
  }

  async records(zoneId: string, opts: { background?: boolean } = {}): Promise<RecordSet[]> {
    return backgroundCalls.run(opts.background === true, () => this.listRecords(zoneId));
  }

  private async listRecords(zoneId: string): Promise<RecordSet[]> {
    const out: RecordSet[] = [];
    let start: {
      StartRecordName?: string;
      StartRecordType?: RRType;
      StartRecordIdentifier?: string;
    } = {};
    for (;;) {
      const res = await this.client.send(
        new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, MaxItems: 300, ...start }),
      );
      out.push(...(res.ResourceRecordSets ?? []).map(fromAws));
      if (!res.IsTruncated) return out;
      start = {
        StartRecordName: res.NextRecordName,
        StartRecordType: res.NextRecordType,
        ...(res.NextRecordIdentifier ? { StartRecordIdentifier: res.NextRecordIdentifier } : {}),
      };
    }
  }

  async recordSet(zoneId: string, name: string, type: string): Promise<RecordSet | undefined> {
    const res = await this.client.send(
      new ListResourceRecordSetsCommand({
        HostedZoneId: zoneId,
        StartRecordName: fqdn(name),
        StartRecordType: type as RRType,
        MaxItems: 1,
      }),
    );
    const rs = (res.ResourceRecordSets ?? []).map(fromAws)[0];
    return rs && rs.name === normalizeName(name) && rs.type === type ? rs : undefined;
  }

  async applyChanges(zoneId: string, changes: Change[]): Promise<string> {
    try {
      const res = await this.client.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: zoneId,
          ChangeBatch: { Changes: changes.map(toAws) },
        }),
      );
      return res.ChangeInfo?.Id ?? '';
    } catch (err) {
      const name = (err as { name?: string }).name;
      if (name === 'InvalidChangeBatch' || name === 'InvalidInput')
        throw new InvalidBatchError((err as Error).message, { cause: err });
      throw err;
    }
  }

  async isInSync(changeId: string): Promise<boolean> {
    const res = await this.client.send(new GetChangeCommand({ Id: changeId }));
    return res.ChangeInfo?.Status === 'INSYNC';
  }
}

/**
 * Route53 providers by region and IAM role, for DNS-01 solvers: a role is assumed with
 * temporary credentials (refreshed by the SDK), every client is instrumented alike, and each
 * takes its account's budget from `budgets` (the one the DNS controller's provider uses).
 */
export function route53Factory(
  metrics: Metrics,
  budgets: AccountBudgets,
  log?: Logger,
): ProviderFactory {
  return (region, role) =>
    new Route53Provider({
      metrics,
      region,
      budgets,
      ...(log ? { log } : {}),
      ...(role
        ? {
            role,
            credentials: fromTemporaryCredentials({
              params: { RoleArn: role, RoleSessionName: 'certroute-dns01' },
              clientConfig: { region },
            }),
          }
        : {}),
    });
}
