#!/usr/bin/env bash
# `npm run bench`: installs what it needs (like scripts/test.sh), builds or reuses the pinned
# Kubernetes components, then runs the benchmark. Arguments go to bench/main.ts, e.g.
#   npm run bench -- --listeners 10000 --cpu-prof
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "==> installing npm dependencies (npm ci, including the pinned Node.js LTS)" >&2
  npm ci --no-audit --no-fund >&2
fi
export PATH="$PWD/node_modules/.bin:$PATH"
if [ -z "${LISTENER_OPERATOR_BIN:-}" ]; then
  LISTENER_OPERATOR_BIN=$(bash scripts/build-tools.sh kubernetes | tail -n 1)
  export LISTENER_OPERATOR_BIN
fi
echo "==> compiling dist/ (the default operator command runs it, as the image does)" >&2
npm run -s build >&2
exec node bench/main.ts "$@"
