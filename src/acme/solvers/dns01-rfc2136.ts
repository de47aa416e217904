/**
 * The pure parts of a `dns01.rfc2136` solver: its nameserver, its TSIG key from the Secret's
 * value, and the key its provider is cached under. Every problem is a Dns01ConfigError whose
 * message names what to fix.
 */
import { createHash } from 'node:crypto';
import type { Solver } from '../../api/v1alpha1.js';
import { decodeSecret } from '../../dns/providers/rfc2136-config.js';
import type { DnsServer } from '../../dns/providers/rfc2136-transport.js';
import { parseTsigAlgorithm, type TsigKey } from '../../dns/providers/tsig.js';
import { Dns01ConfigError } from './dns01-error.js';

export type Rfc2136Solver = NonNullable<NonNullable<Solver['dns01']>['rfc2136']>;

/** An rfc2136 solver as used for one issuer: its Secret is read in `namespace`. */
export interface Rfc2136Ref {
  rfc2136: Rfc2136Solver;
  /** The namespace of the TSIG Secret (issuer-ref.ts's secretNamespace). */
  namespace: string;
}

/** `host`, `host:port`, `[v6]`, `[v6]:port` → its parts (port 53 when none); else undefined. */
export function parseNameserver(s: string): DnsServer | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(s.trim());
  if (!m) return undefined;
  const host = m[1] ?? m[2] ?? '';
  const port = m[3] === undefined ? 53 : Number(m[3]);
  if (!host || port < 1 || port > 65535) return undefined;
  return { host, port };
}

/** The server of a solver, or a Dns01ConfigError naming the bad value. */
export function rfc2136Server(cfg: Rfc2136Solver): DnsServer {
  const server = parseNameserver(cfg.nameserver);
  if (!server)
    throw new Dns01ConfigError(
      'Rfc2136ConfigInvalid',
      `dns01.rfc2136.nameserver "${cfg.nameserver}" is not host:port (IPv6 in brackets)`,
    );
  return server;
}

/** Where the solver's Secret is, for messages: `namespace/name` and its key. */
export function describeTsigSecret(ref: Rfc2136Ref): string {
  const s = ref.rfc2136.tsigSecretSecretRef;
  return `Secret ${ref.namespace}/${s.name} key "${s.key}"`;
}

/**
 * The TSIG key from the Secret's value (`raw`, undefined when the Secret or its key is
 * missing). A missing or non-base64 secret is a Dns01ConfigError naming the Secret.
 */
export function rfc2136Key(ref: Rfc2136Ref, raw: string | undefined): TsigKey {
  const cfg = ref.rfc2136;
  const where = describeTsigSecret(ref);
  if (raw === undefined)
    throw new Dns01ConfigError(
      'Rfc2136TsigSecretMissing',
      `the TSIG secret of dns01.rfc2136 (key ${cfg.tsigKeyName}) is not there: ${where} not found; create it with the base64 secret of the server's key (kubectl -n ${ref.namespace} create secret generic ${cfg.tsigSecretSecretRef.name} --from-literal=${cfg.tsigSecretSecretRef.key}=<secret>)`,
    );
  const secret = decodeSecret(raw);
  if (!secret)
    throw new Dns01ConfigError(
      'Rfc2136TsigSecretInvalid',
      `the TSIG secret in ${where} is not base64; put the secret exactly as the server's key statement has it`,
    );
  const algorithm = parseTsigAlgorithm(cfg.tsigAlgorithm ?? 'HMACSHA256');
  if (!algorithm)
    throw new Dns01ConfigError(
      'Rfc2136ConfigInvalid',
      `dns01.rfc2136.tsigAlgorithm "${cfg.tsigAlgorithm}" is not HMACSHA256, HMACSHA512 or HMACSHA1`,
    );
  return { name: cfg.tsigKeyName.replace(/\.$/, ''), algorithm, secret };
}

/**
 * What a provider is cached under: the server and the whole key (the secret by its hash), so a
 * rotated Secret gets a new provider and two issuers with the same key share one.
 */
export function providerKey(server: DnsServer, key: TsigKey): string {
  const digest = createHash('sha256').update(key.secret).digest('hex').slice(0, 16);
  return `rfc2136|${server.host}|${server.port}|${key.name.toLowerCase()}|${key.algorithm}|${digest}`;
}
