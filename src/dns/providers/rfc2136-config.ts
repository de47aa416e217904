import { readFileSync } from 'node:fs';
import type { Config } from '../../config/index.js';
import { ConfigError } from '../../config/index.js';
import type { Rfc2136Options } from './rfc2136.js';
import type { TsigKey } from './tsig.js';

/** host:port (IPv6 in brackets) → its parts. */
export function parseServer(s: string): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  return { host: s.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(s.slice(i + 1)) };
}

/** A base64 TSIG secret, decoded; undefined when it is not base64 or decodes to nothing. */
export function decodeSecret(s: string): Buffer | undefined {
  const t = s.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(t)) return undefined;
  const b = Buffer.from(t, 'base64');
  return b.length > 0 ? b : undefined;
}

/**
 * The RFC 2136 records provider's settings from the configuration, every problem named at
 * once. `read` reads the secret file (injected for tests).
 */
export function rfc2136Options(
  config: Config,
  read: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): Omit<Rfc2136Options, 'transport' | 'now'> {
  const problems: string[] = [];
  if (!config.rfc2136Server) problems.push('--rfc2136-server is required');
  if (config.rfc2136Zones.length === 0) problems.push('--rfc2136-zones names no zone');
  if (!config.rfc2136TsigKeyName) problems.push('--rfc2136-tsig-key-name is required');
  let raw = config.rfc2136TsigSecret;
  if (config.rfc2136TsigSecretFile) {
    if (raw) problems.push('set one of --rfc2136-tsig-secret and --rfc2136-tsig-secret-file');
    try {
      raw = read(config.rfc2136TsigSecretFile);
    } catch (err) {
      problems.push(
        `--rfc2136-tsig-secret-file ${config.rfc2136TsigSecretFile}: ${(err as Error).message}`,
      );
    }
  }
  const secret = raw ? decodeSecret(raw) : undefined;
  if (!raw)
    problems.push(
      'no TSIG secret: set CERTROUTE_RFC2136_TSIG_SECRET or --rfc2136-tsig-secret-file',
    );
  else if (!secret) problems.push('the TSIG secret is not base64');
  if (problems.length > 0 || !secret)
    throw new ConfigError(`invalid --provider=rfc2136 configuration:\n  ${problems.join('\n  ')}`);
  const key: TsigKey = {
    name: config.rfc2136TsigKeyName,
    algorithm: config.rfc2136TsigAlgorithm,
    secret,
  };
  return { server: parseServer(config.rfc2136Server), key, zones: config.rfc2136Zones };
}
