// `npm run sandbox`, the README's main command, end to end in a child process.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { repoRoot } from '../lab/paths.js';
import { labNetnsNames } from '../lab/netns.js';
import { isAlive } from '../lab/process.js';

it('runs the whole demo: lab, operator, DNS records, a certificate, and cleans up', async () => {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(repoRoot, 'scripts', 'sandbox.ts')],
    {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  expect(out).toMatch(/status\.loadBalancer\.ingress = 127\.0\.0\.1 \(written by Traefik/);
  expect(out).toContain('5a. DNS: published');
  expect(out).toMatch(/dig www\.sandbox\.example A +→ 127\.0\.0\.1/);
  expect(out).toMatch(/heritage=certroute,certroute\/owner=sandbox/);
  expect(out).toContain('5b. certificate: issued by Pebble');
  expect(out).toMatch(/issuer: +CN=Pebble Intermediate CA/);
  expect(out).toContain('SANs:         DNS:www.sandbox.example');
  expect(out).toContain('cleaning up');
  expect(code).toBe(0);
  // Every process the sandbox's lab started is gone (their PIDs are in the lab's log lines).
  const pids = [...out.matchAll(/pid (\d+)/g)].map((m) => Number(m[1]));
  expect(pids.filter(isAlive)).toEqual([]);
  // And its network namespace is gone.
  const netns = /network namespace (certroute-\S+)/.exec(out)?.[1];
  expect(netns).toBeTruthy();
  expect(labNetnsNames()).not.toContain(netns);
}, 120_000);
