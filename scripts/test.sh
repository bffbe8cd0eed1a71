#!/usr/bin/env bash
# The one test command (README, `npm test` and .ci/run all call this): installs what it needs,
# builds the pinned upstream components (cached), then runs lint, typecheck and every test tier
# in one node --test run against a real control plane, ending with node's test summary.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n==> %s\n' "$*"; }

if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "installing npm dependencies (npm ci, including the pinned Node.js LTS)"
  npm ci --no-audit --no-fund
fi
# The project's pinned Node.js, not the machine's.
export PATH="$PWD/node_modules/.bin:$PATH"
echo "node $(node --version)"

step "building or reusing the pinned Kubernetes and CSI components"
LISTENER_OPERATOR_BIN=$(bash scripts/build-tools.sh all | tail -n 1)
export LISTENER_OPERATOR_BIN

step "lint"
eslint .
step "typecheck"
tsc -p tsconfig.json

step "tests: unit, integration (real control plane)"
# Leftover control planes from an interrupted run are not ours to kill; ours stop with this run.
node --test --test-concurrency=2 --test-global-setup=test/support/global-setup.ts \
  "src/**/*.test.ts" "test/integration/**/*.test.ts" "$@"
