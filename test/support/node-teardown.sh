#!/usr/bin/env bash
# Tears down everything test/support/node.ts set up for one e2e node, and nothing else:
#   - the process groups it started (listed in $dir/pgids), containerd's shims (their command
#     line names our containerd socket) and every process in our kubelet's cgroup tree;
#   - every mount under $dir (kubelet's own bind mount and tmpfs volumes, containerd's rootfs
#     and shm mounts, the pod network namespaces, which live under containerd's state dir);
#   - our network devices (the node veth pair and the pod bridge), iptables chains that did not
#     exist before the node started (kube-proxy's and kubelet's), our FORWARD guard chain;
#   - the sysctls kubelet adjusts, restored to their values from before;
#   - our cgroups, the CNI result cache entries of our network, $dir itself and the machine lock.
#
#   node-teardown.sh DIR            tear down now
#   node-teardown.sh --on-eof DIR   wait until stdin closes (the launcher exited or called stop),
#                                   then tear down: this is the janitor node.ts starts first, so
#                                   a crashed or killed test run still leaves a clean machine
set -uo pipefail
trap '' PIPE INT
if [ "${1:-}" = --on-eof ]; then
  shift
  cat >/dev/null
fi
dir=${1:?usage: node-teardown.sh [--on-eof] DIR}
[ -f "$dir/node.env" ] || { echo "node-teardown: $dir/node.env missing, nothing to do" >&2; exit 0; }
# shellcheck source=/dev/null
. "$dir/node.env" # NODE_VETH, NODE_BRIDGE, CGROUP_NAME, CNI_NETWORK, GUARD_CHAIN, KUBE_PROXY, LOCK_DIR, KEEP_LOGS
log() { printf '[node-teardown %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
sock="$dir/containerd/containerd.sock"

# 1. Our process groups: SIGTERM, up to 5 s, then SIGKILL.
if [ -f "$dir/pgids" ]; then
  mapfile -t pgids <"$dir/pgids"
  for g in "${pgids[@]}"; do kill -TERM -- "-$g" 2>/dev/null; done
  for _ in $(seq 50); do
    alive=0
    for g in "${pgids[@]}"; do kill -0 -- "-$g" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for g in "${pgids[@]}"; do kill -KILL -- "-$g" 2>/dev/null; done
fi

# Container IDs, for the CNI result cache entries (removed in step 5).
ids=()
for d in "$dir"/containerd/state/io.containerd.runtime.v2.task/*/*/; do
  [ -d "$d" ] && ids+=("$(basename "$d")")
done

# 2. containerd shims of our containerd (they daemonize, so they are in no group of ours).
shim_sockets=()
for a in "$dir"/containerd/state/io.containerd.runtime.v2.task/*/*/address; do
  [ -f "$a" ] && shim_sockets+=("$(sed 's|^unix://||' "$a")")
done
for p in /proc/[0-9]*; do
  cmd=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
  case $cmd in *containerd-shim*"$sock"*) kill -KILL "${p#/proc/}" 2>/dev/null ;; esac
done
for s in "${shim_sockets[@]}"; do rm -f "$s"; done
# containerd creates these fixed directories whatever its config; only empty ones go.
rmdir /run/containerd/s /run/containerd 2>/dev/null

# 3. Every process left in our cgroup tree (the containers), then the cgroups themselves.
cg_dirs=()
for h in /sys/fs/cgroup/*/; do
  [ -d "$h$CGROUP_NAME" ] && cg_dirs+=("$h$CGROUP_NAME")
done
for _ in $(seq 50); do
  pids=$(for d in "${cg_dirs[@]}"; do find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null; done | sort -u)
  [ -z "$pids" ] && break
  for p in $pids; do kill -KILL "$p" 2>/dev/null; done
  sleep 0.1
done
for d in "${cg_dirs[@]}"; do
  find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
  [ -d "$d" ] && log "could not remove cgroup $d"
done

# 4. Every mount under $dir, deepest first (network namespaces included).
for _ in 1 2 3; do
  mapfile -t mounts < <(awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | awk '{ print length, $0 }' | sort -rn | cut -d' ' -f2-)
  [ ${#mounts[@]} -eq 0 ] && break
  for m in "${mounts[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
done

# 5. Network: kube-proxy's rules, chains created since the start, our guard chain and devices.
if [ -n "${KUBE_PROXY:-}" ] && [ -x "$KUBE_PROXY" ]; then
  "$KUBE_PROXY" --cleanup >/dev/null 2>&1
fi
if [ -f "$dir/chains.before" ]; then
  for t in filter nat mangle raw; do
    iptables-save -t "$t" 2>/dev/null | sed -n 's/^:\([^ ]*\) .*/\1/p' | while read -r c; do
      case $c in KUBE-*|CNI-*) ;; *) continue ;; esac
      grep -qx "$t $c" "$dir/chains.before" && continue
      # Remove every rule that jumps to it, then the chain.
      iptables-save -t "$t" | grep -E -- "^-A .* -j $c( |\$)" | sed 's/^-A /-D /' | while read -r rule; do
        eval "iptables -t $t $rule" 2>/dev/null
      done
      iptables -t "$t" -F "$c" 2>/dev/null
      iptables -t "$t" -X "$c" 2>/dev/null
    done
  done
fi
while iptables -D FORWARD -j "$GUARD_CHAIN" 2>/dev/null; do :; done
iptables -F "$GUARD_CHAIN" 2>/dev/null
iptables -X "$GUARD_CHAIN" 2>/dev/null
ip link del "$NODE_VETH" 2>/dev/null
ip link del "$NODE_BRIDGE" 2>/dev/null
# Host ends of pod veths whose namespaces went away are gone with them; any left on our bridge:
for l in /sys/class/net/*/master; do
  [ "$(basename "$(readlink "$l" 2>/dev/null)")" = "$NODE_BRIDGE" ] && ip link del "$(basename "$(dirname "$l")")" 2>/dev/null
done
rm -f /var/lib/cni/results/"$CNI_NETWORK"-* 2>/dev/null
for id in "${ids[@]}"; do rm -f /var/lib/cni/results/*-"$id"-* 2>/dev/null; done

# 6. Sysctls kubelet sets, back to their values from before.
if [ -f "$dir/sysctl.before" ]; then
  while read -r key value; do
    [ -n "$key" ] && printf '%s\n' "$value" >"/proc/sys/${key//.//}" 2>/dev/null
  done <"$dir/sysctl.before"
fi

# 7. Files and the lock. The logs of the last run are kept for a look after a failure.
if [ -n "${KEEP_LOGS:-}" ] && [ -d "$dir/logs" ]; then
  rm -rf "$KEEP_LOGS" && cp -r "$dir/logs" "$KEEP_LOGS" 2>/dev/null
  [ -d "$dir/pod-logs" ] && cp -r "$dir/pod-logs" "$KEEP_LOGS/pods" 2>/dev/null
fi
left=$(awk -v d="$dir" 'index($5, d) == 1' /proc/self/mountinfo | wc -l)
if [ "$left" -eq 0 ]; then
  rm -rf "$dir"
  # Nothing left to explain: the janitor's own log (if it has one) goes too.
  [ -n "${TEARDOWN_LOG:-}" ] && rm -f "$TEARDOWN_LOG"
else
  log "$left mounts under $dir could not be removed; leaving the directory"
fi
[ -n "${LOCK_DIR:-}" ] && rm -rf "$LOCK_DIR"
log "node in $dir torn down"
