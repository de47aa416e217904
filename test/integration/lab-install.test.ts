// scripts/lab-install.sh: what a first run says, that a failed build is named and leaves
// nothing behind in the cache, and that a cached component costs nothing.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { repoRoot } from '../lab/paths.js';

function labInstall(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn('bash', [join(repoRoot, 'scripts', 'lab-install.sh'), ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.once('exit', (code) => resolve({ code, out }));
  });
}

it('says what it builds and why, and names a failed build, leaving no cache entry', async () => {
  const cache = mkdtempSync(join(tmpdir(), 'certroute-lab-cache-'));
  try {
    // A version the module proxy does not have: the first step of the build fails.
    const version = 'v3.0.0-certroute-no-such-version';
    const r = await labInstall(['traefik'], {
      CERTROUTE_LAB_CACHE: cache,
      TRAEFIK_VERSION: version,
    });
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      `[lab-install] building Traefik ${version} (Go, from github.com/traefik/traefik/v3): the lab's ingress controller`,
    );
    expect(r.out).toContain(
      `first run only, usually 6-10 min on 2 cores; cached in ${cache}/traefik-${version}`,
    );
    expect(r.out).toMatch(/\[lab-install\] FAILED: building traefik \(exit 1\) after \d+s/);
    expect(r.out).not.toContain('traefik ready');
    expect(readdirSync(cache)).toEqual([]);
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});

it('prints nothing for components already in the cache', async () => {
  const r = await labInstall(['traefik', 'pebble']);
  expect(r).toEqual({ code: 0, out: '' });
});

it('says what to set when the cert-manager source is not found, leaving no cache entry', async () => {
  const cache = mkdtempSync(join(tmpdir(), 'certroute-lab-cache-'));
  try {
    const r = await labInstall(['cert-manager'], {
      CERTROUTE_LAB_CACHE: cache,
      CERT_MANAGER_GIT: join(cache, 'no-such-git-dir'),
    });
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      `[lab-install] cert-manager: ${join(cache, 'no-such-git-dir')} has no tag v1.20.3; set CERT_MANAGER_GIT to a git dir that has it`,
    );
    expect(r.out).toMatch(/\[lab-install\] FAILED: building cert-manager \(exit 1\)/);
    expect(readdirSync(cache).filter((f) => f !== 'no-such-git-dir')).toEqual([]);
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});
