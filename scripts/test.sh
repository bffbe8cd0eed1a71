#!/usr/bin/env bash
# The one test command (README, `npm test` and .ci/run all call this): installs what it needs,
# builds the pinned upstream components (cached), type-checks, then runs the unit and integration
# tiers in one node --test run against a real control plane while the e2e tier (a second node
# --test run against its own control plane and a real node; root) and lint run alongside. The
# e2e tier's output comes last, ending with its runner's summary.
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

step "typecheck"
tsc -p tsconfig.json

# The e2e tier and lint run alongside the unit and integration tier: the e2e tier mostly waits on
# its node (kubelet, containerd, Pods starting), the first tier's long tests on the timeouts and
# restarts they provoke. Together they take about 2 min 50 s on 2 cores, one after the other 4 min
# 20 s (docs/testing.md). Their output follows the first tier's.
e2e_log=$(mktemp)
lint_log=$(mktemp)
trap 'rm -f "$e2e_log" "$lint_log"' EXIT
# One e2e file at a time: they share one node, and one scenario restarts its node plugin.
node --test --test-concurrency=1 --test-global-setup=test/support/e2e-setup.ts "test/e2e/**/*.test.ts" >"$e2e_log" 2>&1 &
e2e_pid=$!
eslint . >"$lint_log" 2>&1 &
lint_pid=$!

step "tests: unit, integration (real control plane; the e2e tier and lint run alongside)"
# Leftover control planes from an interrupted run are not ours to kill; ours stop with this run.
tier_rc=0
node --test --test-concurrency=3 --test-global-setup=test/support/global-setup.ts \
  "src/**/*.test.ts" "test/integration/**/*.test.ts" "$@" || tier_rc=$?

step "lint"
lint_rc=0
wait "$lint_pid" || lint_rc=$?
cat "$lint_log"
if [ "$lint_rc" -eq 0 ]; then echo "lint: no problems"; else echo "lint failed (eslint exit $lint_rc)"; fi

step "tests: e2e (its own control plane and a real node: kubelet, containerd, kube-proxy; root)"
# Its output so far, then the rest as it comes, until its runner's summary.
tail -n +1 -f --pid="$e2e_pid" "$e2e_log"
e2e_rc=0
wait "$e2e_pid" || e2e_rc=$?
if [ "$tier_rc" -ne 0 ] || [ "$lint_rc" -ne 0 ] || [ "$e2e_rc" -ne 0 ]; then
  echo "failed: unit and integration exit $tier_rc, lint exit $lint_rc, e2e exit $e2e_rc" >&2
  exit 1
fi
