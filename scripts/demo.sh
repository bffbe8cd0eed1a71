#!/usr/bin/env bash
# The demo (README): installs what it needs, brings up a local control plane and a real node
# (kubelet, containerd, kube-proxy; needs root), deploys the operator from the Helm chart and
# shows a Pod's listener volume: the addresses, the files written into it, and a request reaching
# the Pod through them. Everything stops when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/prepare.sh
exec node scripts/demo.ts "$@"
