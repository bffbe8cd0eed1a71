#!/usr/bin/env bash
# `npm run dev` (README): installs what it needs, as the demo does, then runs the rebuild-on-save
# loop (scripts/dev.ts) on a local control plane and a real node (needs root). Ctrl-C stops it and
# removes everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/prepare.sh
exec node scripts/dev.ts "$@"
