#!/usr/bin/env bash
# The one test command (README, `npm test` and .ci/run all call this): installs what it needs,
# builds the pinned upstream components (cached), then runs lint, typecheck, the unit and
# integration tiers in one node --test run against a real control plane, and the e2e tier in a
# second one against its own control plane and a real node (root), each ending with a summary.
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

step "installing or reusing the e2e node's Debian packages (containerd, runc, CNI plugins, iptables, ...)"
bash scripts/setup-node-deps.sh

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

step "tests: e2e (its own control plane and a real node: kubelet, containerd, kube-proxy; root)"
# One file at a time: they share one node, and one scenario restarts its node plugin.
node --test --test-concurrency=1 --test-global-setup=test/support/e2e-setup.ts "test/e2e/**/*.test.ts"
