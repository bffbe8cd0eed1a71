#!/usr/bin/env bash
# `npm run dev` (README): installs what it needs, as the demo does, then runs the rebuild-on-save
# loop (scripts/dev.ts) on a local control plane and a real node (needs root). Ctrl-C stops it and
# removes everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "==> installing npm dependencies (npm ci, including the pinned Node.js LTS)"
  npm ci --no-audit --no-fund
fi
export PATH="$PWD/node_modules/.bin:$PATH"
echo "==> installing or reusing the node's Debian packages (containerd, runc, CNI plugins, iptables, ...)"
bash scripts/setup-node-deps.sh
echo "==> building or reusing the pinned Kubernetes, CSI and Helm components"
LISTENER_OPERATOR_BIN=$(bash scripts/build-tools.sh all | tail -n 1)
export LISTENER_OPERATOR_BIN
exec node scripts/dev.ts "$@"
