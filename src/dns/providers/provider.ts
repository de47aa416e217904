import type { Change, RecordSet, Zone } from '../types.js';

/**
 * The narrow interface to a DNS provider: the DNS controller (records of a whole zone) and the
 * DNS-01 solver (one TXT set) use it alike. Route53 (route53.ts) is the one implementation.
 */
export interface DnsProvider {
  /** How messages name it: `Route53`, `the RFC 2136 server 10.0.0.53:53`. */
  readonly label: string;
  /** What messages call one of its zones: `Route53 hosted zone`, `RFC 2136 zone`. */
  readonly zoneNoun: string;
  zones(): Promise<Zone[]>;
  /**
   * Every record set of a zone. `background`: nobody waits for this listing (a zone with
   * nothing asked of it, read for the cleanup of orphans): its calls yield the account's
   * request budget to every other call.
   */
  records(zoneId: string, opts?: { background?: boolean }): Promise<RecordSet[]>;
  /** One record set by exact name and type, or undefined when there is none. */
  recordSet(zoneId: string, name: string, type: string): Promise<RecordSet | undefined>;
  /** Sends one batch; resolves to a change id. Rejects with InvalidBatchError if the provider refuses it. */
  applyChanges(zoneId: string, changes: Change[]): Promise<string>;
  /** One poll: has the change reached every authoritative server (Route53: INSYNC)? */
  isInSync(changeId: string): Promise<boolean>;
}

/** The provider refused a batch as a whole (Route53: InvalidChangeBatch, InvalidInput): nothing in it was applied. */
export class InvalidBatchError extends Error {
  override name = 'InvalidBatchError';
}

/** A provider for a region and, optionally, an IAM role to assume (DNS-01 solvers name both). */
export type ProviderFactory = (region: string, role?: string) => DnsProvider;
