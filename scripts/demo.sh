#!/usr/bin/env bash
# The demo (README): installs what it needs, brings up a local control plane, runs the operator
# against it and shows a Listener becoming reachable. Everything stops when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "==> installing npm dependencies (npm ci, including the pinned Node.js LTS)"
  npm ci --no-audit --no-fund
fi
export PATH="$PWD/node_modules/.bin:$PATH"
LISTENER_OPERATOR_BIN=$(bash scripts/build-tools.sh kubernetes | tail -n 1)
export LISTENER_OPERATOR_BIN
exec node scripts/demo.ts "$@"
