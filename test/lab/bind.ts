/**
 * BIND 9 for a test: `named -g` on 127.0.0.1 on a free port (UDP and TCP), one generated TSIG
 * key (hmac-sha256), and dynamic zones that take updates and transfers signed with that key
 * only. Its config, zone files and journals live in the test's run directory; it is stopped
 * by PID. Each zone has `ns1.<zone>` (A 127.0.0.1) as its nameserver, so the DNS-01
 * authoritative check finds BIND itself when the port is BIND's.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { bin } from './paths.js';
import { freePort, spawnManaged, waitFor, type ManagedProcess } from './process.js';

const run = promisify(execFile);

export interface BindOptions {
  /** Zone names (no trailing dot). */
  zones: string[];
  /** Default: certroute-lab. */
  keyName?: string;
}

export interface BindLab {
  host: string;
  port: number;
  keyName: string;
  algorithm: 'hmac-sha256';
  /** The key, base64. */
  secret: string;
  zones: string[];
  dir: string;
  proc: ManagedProcess;
  /** `dig @127.0.0.1 -p <port> +short <name> <type>`: the values BIND serves, one per line. */
  dig(name: string, type: string): Promise<string[]>;
  /** Sends nsupdate commands (the `server`/`key` lines are added), e.g. to plant a record. */
  nsupdate(commands: string[]): Promise<void>;
  stop(): Promise<void>;
}

function zoneFile(zone: string): string {
  return [
    '$TTL 60',
    `@ IN SOA ns1.${zone}. hostmaster.${zone}. 1 3600 600 86400 60`,
    `@ IN NS ns1.${zone}.`,
    'ns1 IN A 127.0.0.1',
    '',
  ].join('\n');
}

export async function startBind(dir: string, opts: BindOptions): Promise<BindLab> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const keyName = opts.keyName ?? 'certroute-lab';
  const secret = randomBytes(32).toString('base64');
  const conf = [
    'options {',
    `  directory "${dir}";`,
    `  pid-file "${join(dir, 'named.pid')}";`,
    `  session-keyfile "${join(dir, 'session.key')}";`,
    `  managed-keys-directory "${dir}";`,
    `  listen-on port ${port} { 127.0.0.1; };`,
    '  listen-on-v6 { none; };',
    '  recursion no;',
    '  dnssec-validation no;',
    '  notify no;',
    '};',
    'controls { };',
    `key "${keyName}" { algorithm hmac-sha256; secret "${secret}"; };`,
    ...opts.zones.flatMap((z) => {
      writeFileSync(join(dir, `${z}.db`), zoneFile(z));
      return [
        `zone "${z}" {`,
        '  type primary;',
        `  file "${join(dir, `${z}.db`)}";`,
        `  allow-update { key "${keyName}"; };`,
        `  allow-transfer { key "${keyName}"; };`,
        '};',
      ];
    }),
    '',
  ].join('\n');
  const confFile = join(dir, 'named.conf');
  writeFileSync(confFile, conf);
  const proc = spawnManaged('named', bin.named(), {
    args: ['-g', '-4', '-n', '1', '-c', confFile],
    logFile: join(dir, 'named.log'),
  });
  const dig = async (name: string, type: string): Promise<string[]> => {
    const { stdout } = await run(bin.dig(), [
      '@127.0.0.1',
      '-p',
      String(port),
      '+short',
      '+tries=1',
      '+time=2',
      name,
      type,
    ]);
    return stdout.split('\n').filter((l) => l.trim() !== '');
  };
  await waitFor(
    'named serving its zones',
    async () => {
      for (const z of opts.zones) {
        const soa = await dig(z, 'SOA').catch(() => []);
        if (soa.length === 0) return false;
      }
      return true;
    },
    { proc },
  );
  const nsupdate = async (commands: string[]): Promise<void> => {
    const input = [`server 127.0.0.1 ${port}`, ...commands, 'send', ''].join('\n');
    await new Promise<void>((resolve, reject) => {
      const child = execFile(
        bin.nsupdate(),
        ['-y', `hmac-sha256:${keyName}:${secret}`],
        (err, _out, stderr) => (err ? reject(new Error(`nsupdate: ${stderr}`)) : resolve()),
      );
      child.stdin?.end(input);
    });
  };
  return {
    host: '127.0.0.1',
    port,
    keyName,
    algorithm: 'hmac-sha256',
    secret,
    zones: opts.zones,
    dir,
    proc,
    dig,
    nsupdate,
    stop: () => proc.stop(),
  };
}
