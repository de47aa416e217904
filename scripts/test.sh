#!/usr/bin/env bash
# The whole suite, as `npm test` runs it (and CI through .ci/run): lint, typecheck, unit tests,
# then integration tests against the lab. Called by scripts/run.sh with Node 22 on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
report=$(mktemp -d)
trap 'rm -rf "$report"' EXIT

step() { printf '\n== %s\n' "$*"; }

step "lab components (cached under ${CERTROUTE_LAB_CACHE:-~/.cache/certroute-lab})"
bash scripts/lab-install.sh
# The image test builds and runs the image with buildah (Debian packages, as root).
bash scripts/image.sh tools
step lint
eslint --max-warnings=0 .
prettier --check --log-level=warn .
step typecheck
tsc -p tsconfig.json --noEmit
step "unit tests"
vitest run --config vitest.unit.config.ts --reporter=default --reporter=json --outputFile="$report/unit.json"
step "integration tests (lab)"
vitest run --config vitest.integration.config.ts --reporter=default --reporter=json --outputFile="$report/integration.json"
node scripts/summarize-tests.mjs "$report/unit.json" "$report/integration.json"
