// Builds the production artifact: src/main.ts and every dependency it uses, bundled into one
// CommonJS file, dist/main.cjs. The image runs it with no node_modules at all.
//
// Why a bundle (ADR 0011): Node keeps each loaded module's source text on the heap for lazy
// compilation. @kubernetes/client-node 2.x loads all of its generated API classes (one
// ObservableAPI module alone is 7 MB of source) even though certroute calls five of them.
// esbuild drops the unused classes: `--help` starts in 0.45 s instead of 1.1 s, with 116 MB
// RSS instead of 168 MB (docs/benchmarks.md).
//
// CommonJS, not ESM (ADR 0012): an ES module's `import ... from 'node:http'` builds an ESM facade
// of node:http, which reads its lazy exports and so loads and compiles Node's internal undici
// (50 ms of start-up) for a WebSocket nobody uses. Dependencies imported with `import()`
// (acme-client) stay lazy: their module code runs on first use.
//
// Type checking is not esbuild's job: `npm run build` runs tsc --noEmit first.
import { build } from 'esbuild';
import { chmodSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// `node scripts/bundle.mjs [outdir]`: dist/ by default (the tests build into a directory of
// their own).
const outdir = process.argv[2] ?? join(root, 'dist');
rmSync(outdir, { recursive: true, force: true });

await build({
  entryPoints: [join(root, 'src', 'main.ts')],
  outfile: join(outdir, 'main.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node22',
  // Whitespace and syntax only: identifiers keep their names, so stack traces stay readable.
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'external',
  logLevel: 'warning',
});

// The CLI (src/cli/main.ts, `kubectl certroute`): one ES module with a shebang, so the npm
// package's bin and the image's /usr/local/bin/kubectl-certroute run it directly. The
// createRequire line lets bundled CommonJS dependencies require Node's built-ins.
await build({
  entryPoints: [join(root, 'src', 'cli', 'main.ts')],
  outfile: join(outdir, 'cli.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __certrouteRequire } from 'node:module';\nconst require = __certrouteRequire(import.meta.url);",
  },
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'external',
  logLevel: 'warning',
});
chmodSync(join(outdir, 'cli.mjs'), 0o755);
