#!/usr/bin/env bash
# The demo (README): installs what it needs, brings up a local control plane and a real node
# (kubelet, containerd, kube-proxy; needs root), deploys the operator from the Helm chart and
# shows a Pod's listener volume: the addresses, the files written into it, and a request reaching
# the Pod through them. Everything stops when it ends.
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
exec node scripts/demo.ts "$@"
