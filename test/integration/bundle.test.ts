// The artifact the image runs: scripts/bundle.mjs builds dist/main.cjs (ADR 0011, 0012). Built
// here into a directory outside the repository, so nothing can be resolved from node_modules,
// and run against the lab: it must start, and issue a certificate, which loads the lazily
// imported acme-client from inside the bundle.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  adminConfig,
  createNamespace,
  eventually,
  labEnv,
  labRoute53,
  uniqueName,
} from '../lab/context.js';
import { createClusterIssuer, deleteClusterIssuer, labIssuer } from '../lab/acme-helpers.js';
import { ingress } from '../lab/k8s-helpers.js';
import { writeAddress } from '../lab/ingress-router.js';
import { logLines, spawnOperator } from '../lab/operator.js';
import { repoRoot } from '../lab/paths.js';
import type { ManagedProcess } from '../lab/process.js';
import { createZone } from '../lab/route53-helpers.js';

let out: string;
let bundle: string;
let op: ManagedProcess | undefined;

beforeAll(() => {
  out = mkdtempSync(join(tmpdir(), 'certroute-bundle-'));
  const built = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'bundle.mjs'), out], {
    encoding: 'utf8',
  });
  expect(built.status, built.stderr).toBe(0);
  bundle = join(out, 'main.cjs');
}, 60_000);
afterAll(async () => {
  await op?.stop();
  rmSync(out, { recursive: true, force: true });
});

describe('the bundle', () => {
  it('prints its flags without node_modules beside it', () => {
    const help = spawnSync(process.execPath, [bundle, '--help'], { encoding: 'utf8', cwd: out });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--kubeconfig');
    expect(help.stdout).toContain('--watch-namespaces');
  });

  it("starts from the compile cache warmed as the image warms it, under the chart's node options", () => {
    // ADR 0013: V8 takes a code cache only under the flags it was made with.
    const cache = join(out, 'compile-cache');
    const warm = spawnSync(
      process.execPath,
      [join(repoRoot, 'scripts', 'warm-compile-cache.mjs'), bundle, cache],
      { encoding: 'utf8' },
    );
    expect(warm.status, warm.stderr).toBe(0);
    const values = parse(
      readFileSync(join(repoRoot, 'charts', 'certroute', 'values.yaml'), 'utf8'),
    ) as { nodeOptions: string };
    expect(values.nodeOptions).toContain('--max-old-space-size');
    for (const nodeOptions of [values.nodeOptions, '', '--max-semi-space-size=2']) {
      const run = spawnSync(process.execPath, [bundle, '--help'], {
        encoding: 'utf8',
        env: {
          ...process.env,
          NODE_COMPILE_CACHE: cache,
          NODE_OPTIONS: nodeOptions,
          NODE_DEBUG_NATIVE: 'COMPILE_CACHE',
        },
      });
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout).toContain('--kubeconfig');
      // Flags it was not warmed for: compiled as before, and nothing breaks.
      const accepted = run.stderr.includes(`cache for ${bundle} was accepted`);
      expect([nodeOptions, accepted]).toEqual([
        nodeOptions,
        nodeOptions !== '--max-semi-space-size=2',
      ]);
    }
  });

  it(
    'runs the operator: an annotated Ingress gets its certificate',
    { timeout: 90_000 },
    async () => {
      const env = labEnv();
      const kc = adminConfig();
      const ns = await createNamespace(kc, 'bundle');
      const zone = await createZone(labRoute53(env), 'bundle');
      const logFile = join(env.dir, `${ns}-bundle-operator.log`);
      op = spawnOperator(
        env,
        logFile,
        [
          // The lab's own namespace: the chart's RBAC is released there for the pod identity.
          '--leader-election=false',
          `--watch-namespaces=${ns}`,
          `--domain-filter=${zone.name}`,
        ],
        bundle,
      );
      const issuer = uniqueName('bundle');
      await createClusterIssuer(kc, labIssuer(env, issuer));
      const net = kc.makeApiClient(k8s.NetworkingV1Api);
      const host = `www.${zone.name}`;
      await net.createNamespacedIngress({
        namespace: ns,
        body: ingress({
          name: 'web',
          namespace: ns,
          hosts: [host],
          tls: [{ secretName: 'web-tls', hosts: [host] }],
          annotations: { 'certroute.io/dns': 'true', 'certroute.io/issuer': issuer },
        }),
      });
      await writeAddress(net, ns, 'web', [{ ip: env.ingressAddress }]);

      const secret = await eventually(
        async () => {
          const s = await kc
            .makeApiClient(k8s.CoreV1Api)
            .readNamespacedSecret({ namespace: ns, name: 'web-tls' });
          return s.type === 'kubernetes.io/tls' && s;
        },
        { timeoutMs: 60_000 },
      );
      expect(secret.data?.['tls.crt']).toBeTruthy();
      await deleteClusterIssuer(kc, issuer);
      // Its caches came from watch lists, and nothing went wrong on the way.
      const lines = logLines(logFile);
      expect(lines.filter((l) => l.msg === 'cache synced').length).toBeGreaterThanOrEqual(4);
      expect(lines.filter((l) => /watch list/.test(String(l.msg)))).toEqual([]);
      expect(lines.filter((l) => l.level === 'error' || l.level === 'fatal')).toEqual([]);
      expect(op.exitCode).toBeUndefined();
    },
  );
});
