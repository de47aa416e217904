import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { bin } from './paths.js';
import { freePort, spawnManaged, waitFor, type ManagedProcess } from './process.js';

export interface PebbleOptions {
  /** host:port of the DNS server Pebble's VA uses (the lab DNS). */
  dnsServer: string;
  /** Port the VA connects to for HTTP-01 (where the ingress stand-in listens). */
  http01Port: number;
  /** PEBBLE_VA_NOSLEEP: validate at once instead of sleeping up to 15 s. Default true. */
  vaNoSleep?: boolean;
  /** PEBBLE_WFE_NONCEREJECT: percentage of valid nonces rejected as badNonce. Default 0. */
  nonceRejectPercent?: number;
  /** PEBBLE_AUTHZREUSE: percentage of authorizations reused. Default 0. */
  authzReusePercent?: number;
  /**
   * Extra ACME profiles (name → validity in seconds); "default" and "shortlived" always exist.
   * Pebble gives an order that names no profile a random one, so a short-lived profile here
   * makes every such order short-lived now and then: give it its own Pebble.
   */
  profiles?: Record<string, number>;
  eabKeys?: Record<string, string>;
}

export interface PebbleLab {
  directory: string;
  management: string;
  caFile: string;
  proc: ManagedProcess;
}

export async function startPebble(dir: string, opts: PebbleOptions): Promise<PebbleLab> {
  const [acmePort, mgmtPort, tlsPort] = [await freePort(), await freePort(), await freePort()];
  const certs = bin.pebbleCerts();
  const profiles: Record<string, { description: string; validityPeriod: number }> = {
    default: { description: 'lab default, 90 days', validityPeriod: 90 * 86400 },
    shortlived: { description: 'lab short-lived, 6 days', validityPeriod: 6 * 86400 },
  };
  for (const [name, seconds] of Object.entries(opts.profiles ?? {})) {
    profiles[name] = { description: `lab ${name}`, validityPeriod: seconds };
  }
  const config = {
    pebble: {
      listenAddress: `127.0.0.1:${acmePort}`,
      managementListenAddress: `127.0.0.1:${mgmtPort}`,
      certificate: join(certs, 'cert.pem'),
      privateKey: join(certs, 'key.pem'),
      httpPort: opts.http01Port,
      tlsPort,
      ocspResponderURL: '',
      externalAccountBindingRequired: false,
      externalAccountMACKeys: opts.eabKeys ?? {},
      retryAfter: { authz: 1, order: 1 },
      keyAlgorithm: 'ecdsa',
      profiles,
    },
  };
  const configFile = join(dir, 'pebble-config.json');
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const proc = spawnManaged('pebble', bin.pebble(), {
    args: ['-config', configFile, '-dnsserver', opts.dnsServer],
    logFile: join(dir, 'pebble.log'),
    env: {
      PEBBLE_VA_NOSLEEP: opts.vaNoSleep === false ? '0' : '1',
      PEBBLE_WFE_NONCEREJECT: String(opts.nonceRejectPercent ?? 0),
      PEBBLE_AUTHZREUSE: String(opts.authzReusePercent ?? 0),
    },
  });
  const caFile = join(certs, 'ca.pem');
  const directory = `https://127.0.0.1:${acmePort}/dir`;
  const ca = readFileSync(caFile);
  await waitFor('pebble directory', async () => (await getJson(directory, ca)) !== undefined, {
    proc,
  });
  return { directory, management: `https://127.0.0.1:${mgmtPort}`, caFile, proc };
}

/** GETs JSON over HTTPS trusting only the given CA (Pebble's own test CA). */
export function getJson(url: string, ca: Buffer): Promise<unknown> {
  return new Promise((resolve, reject) => {
    // Pebble answers 400 to a request without a User-Agent, as RFC 8555 §6.1 allows.
    const req = request(
      url,
      { ca, timeout: 2000, headers: { 'user-agent': 'certroute-lab' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          if (res.statusCode !== 200) return resolve(undefined);
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        });
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
    req.end();
  });
}
