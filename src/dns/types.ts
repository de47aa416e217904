/** DNS record types certroute manages (plus TXT for its ownership companions). */
export type ManagedType = 'A' | 'AAAA' | 'CNAME';
export type RecordType = ManagedType | 'TXT';

export interface Alias {
  hostedZoneId: string;
  dnsName: string;
}

/** One resource record set, normalised: lower-case name, no trailing dot, "*" for wildcards. */
export interface RecordSet {
  name: string;
  /** A RecordType for what certroute writes; any Route53 type for what it reads. */
  type: string;
  ttl?: number;
  values: string[];
  alias?: Alias;
  /** Route53 routing-policy records (weighted, latency...) are never touched by certroute. */
  setIdentifier?: string;
}

/** A record some DNSEndpoint asks for. */
export interface DesiredRecord {
  name: string;
  type: ManagedType;
  ttl: number;
  values: string[];
  alias?: Alias;
  /** ingress/<ns>/<name>: the owner written into the companion TXT. */
  resource: string;
}

export interface Zone {
  id: string;
  name: string;
  private: boolean;
}

export type Action = 'CREATE' | 'UPSERT' | 'DELETE';

export interface Change {
  action: Action;
  record: RecordSet;
}

/**
 * A record change and its companion TXT change: they always travel in the same batch, so a
 * record is never published without its owner marker, nor the marker left without the record.
 */
export interface ChangeGroup {
  key: string;
  resource: string;
  changes: Change[];
}

export function recordKey(name: string, type: string): string {
  return `${name}|${type}`;
}
