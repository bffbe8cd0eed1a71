#!/usr/bin/env bash
# Installs, idempotently, the Debian packages the e2e tier's real node needs: containerd (with
# ctr), runc, the CNI plugins, iptables, conntrack, apparmor (containerd's CRI calls
# apparmor_parser where the kernel has AppArmor), busybox-static and catatonit (the test and pause
# images are assembled from them), iproute2 and tar. Runs as root (CI does); never starts any
# service: the e2e launcher runs its own containerd with its own config and directories.
#
#   scripts/setup-node-deps.sh        (called by scripts/test.sh)
set -euo pipefail
log() { printf '[setup-node-deps %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

packages=(containerd runc containernetworking-plugins iptables conntrack apparmor busybox-static catatonit iproute2 tar)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  log "node packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  log "missing packages (${missing[*]}) and not root: install them with apt-get as root"
  exit 1
fi
log "installing ${missing[*]}"
# No package may start a service here (there may be no init system, and the e2e tier runs its own
# containerd): a policy-rc.d that denies every start, removed again afterwards.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
  own_policy=1
fi
cleanup() { if [ "$own_policy" = 1 ]; then rm -f "$policy"; fi; }
trap cleanup EXIT
export DEBIAN_FRONTEND=noninteractive
# Refresh the lists once when they are missing or a first attempt cannot find a package.
if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/setup-node-deps.apt.log 2>&1; then
  log "apt-get update"
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/setup-node-deps.apt.log 2>&1 || {
    tail -n 30 /tmp/setup-node-deps.apt.log >&2
    log "apt-get install failed"
    exit 1
  }
fi
log "installed ${missing[*]}"
