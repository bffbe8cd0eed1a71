#!/usr/bin/env bash
# `npm run chaos`: the fault-injection run (chaos/main.ts) with the project's pinned Node.js and
# tools, installing or building what it needs first (as the test command does). Root: one fault
# mounts a small tmpfs.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
export PATH="$PWD/node_modules/.bin:$PATH"
LISTENER_OPERATOR_BIN=$(bash scripts/build-tools.sh kubernetes | tail -n 1)
export LISTENER_OPERATOR_BIN
exec node chaos/main.ts "$@"
