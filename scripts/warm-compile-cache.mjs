// Warms Node's compile cache (NODE_COMPILE_CACHE) for a built bundle, the way the image does
// (ADR 0013): `node scripts/warm-compile-cache.mjs <bundle> <cache dir>`.
//
// Compiling the 6.6 MB bundle is about a fifth of certroute's start-up CPU. Running it once
// with `--help` loads every module and leaves V8's code cache for them on disk; a later start
// with the same cache directory skips that work.
//
// V8 accepts a code cache only under the V8 flags it was made with, and Node keys the cache
// directory by them. So it is warmed twice: with the Helm chart's default `nodeOptions` (read
// from values.yaml, so the two cannot drift) and with none (`docker run` without the chart).
// A start under other flags compiles as before; Node then tries to write a cache of its own and
// stays silent if it cannot (read-only root filesystem, non-root user).
//
// Node keys each file's entry by its absolute path: warm the bundle where it will run.
import { execFileSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const [bundleArg, cacheArg] = process.argv.slice(2);
if (!bundleArg || !cacheArg) {
  console.error('usage: node scripts/warm-compile-cache.mjs <bundle> <cache dir>');
  process.exit(2);
}
const bundle = resolve(bundleArg);
const cache = resolve(cacheArg);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The chart's default nodeOptions: one plain scalar line in values.yaml. */
function chartNodeOptions(values) {
  const m = /^nodeOptions:[ \t]*(.*?)[ \t]*$/m.exec(values);
  if (!m) throw new Error('values.yaml has no top-level nodeOptions line');
  return m[1].replace(/^(['"])(.*)\1$/, '$2');
}

const values = readFileSync(join(root, 'charts', 'certroute', 'values.yaml'), 'utf8');
for (const nodeOptions of new Set([chartNodeOptions(values), ''])) {
  execFileSync(process.execPath, [bundle, '--help'], {
    env: { ...process.env, NODE_COMPILE_CACHE: cache, NODE_OPTIONS: nodeOptions },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

// Node writes its entries readable by their owner only; the image runs as another user.
(function readable(path) {
  const dir = statSync(path).isDirectory();
  chmodSync(path, dir ? 0o755 : 0o644);
  if (dir) for (const name of readdirSync(path)) readable(join(path, name));
})(cache);
