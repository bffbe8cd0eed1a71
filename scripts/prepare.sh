# Sourced by scripts/demo.sh and scripts/dev.sh (from the repository root): installs what a local
# cluster needs, as the test command does: the npm dependencies (with the pinned Node.js), the
# node's Debian packages and the pinned Kubernetes, CSI and Helm components. Exports PATH and
# LISTENER_OPERATOR_BIN.
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
