#!/usr/bin/env bash
# Builds the pinned upstream components the tests, demo and benchmark run against, from their Go
# modules (tools/*/go.mod), into a cache outside the work tree keyed by the pinned versions. A warm
# cache makes this a no-op. Prints the bin directory on the last line of stdout.
#
#   scripts/build-tools.sh [kubernetes|csi|helm|grpcurl|otelcol|promtool|kwok|all]   (default: all; kwok only
#   when named: the benchmark's scale run needs it, nothing else does)
#
# Progress goes to stderr so callers can capture the path.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${LISTENER_OPERATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/listener-operator}
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0
what=${1:-all}

log() { printf '[build-tools %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

command -v go >/dev/null || { log "Go is required (the machine's go, 1.26+)"; exit 1; }

# key: a digest of the tools module files (and its own main.go, if any) and the Go version, so a pin change rebuilds.
key_of() { (cat "$root/tools/$1/go.mod" "$root/tools/$1/go.sum"; if [ -f "$root/tools/$1/main.go" ]; then cat "$root/tools/$1/main.go"; fi; go version) | sha256sum | cut -c1-16; }

# Runs a long command while printing a heartbeat, so nobody stares at a silent terminal.
with_progress() {
  local label=$1; shift
  local start=$SECONDS
  "$@" &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 15
    kill -0 "$pid" 2>/dev/null && log "$label: still building ($((SECONDS - start))s)"
  done
  wait "$pid"
}

# build_module MODULE OUTNAME=PACKAGE...
build_module() {
  local mod=$1; shift
  local dir="$cache/tools/$mod-$(key_of "$mod")"
  local bin="$dir/bin"
  mkdir -p "$bin"
  cd "$root/tools/$mod"
  local ldflags=""
  local tags="selinux,notest"
  # promtool checks rule files: Prometheus's service-discovery plugins (cloud SDKs) are not needed,
  # and its own build tag leaves them out (a much smaller, faster build).
  if [ "$mod" = promtool ]; then tags+=",remove_all_sd"; fi
  if [ "$mod" = kubernetes ]; then
    local v; v=$(go list -m -f '{{.Version}}' k8s.io/kubernetes)
    local minor=${v#v*.}; minor=${minor%%.*}
    local x
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      for x in "gitVersion=$v" "gitMajor=1" "gitMinor=$minor" "gitTreeState=clean" "buildDate=1970-01-01T00:00:00Z"; do
        ldflags+=" -X $p.$x"
      done
    done
  fi
  if [ "$mod" = helm ]; then
    # As helm's Makefile: its version, and the Kubernetes version of its client-go (the default
    # .Capabilities.KubeVersion of `helm template` and the deprecation checks of `helm lint`).
    local hv kv; hv=$(go list -m -f '{{.Version}}' helm.sh/helm/v3); kv=$(go list -m -f '{{.Version}}' k8s.io/client-go)
    kv=${kv#v0.}; kv=${kv%%.*}
    ldflags+=" -X helm.sh/helm/v3/internal/version.version=$hv -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
    for x in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
      ldflags+=" -X $x.k8sVersionMajor=1 -X $x.k8sVersionMinor=$kv"
    done
  fi
  local pair name pkg
  for pair in "$@"; do
    name=${pair%%=*}; pkg=${pair#*=}
    if [ -x "$bin/$name" ]; then continue; fi
    log "building $name ($pkg) into $bin"
    local t=$SECONDS
    with_progress "$name" go build -trimpath -tags "$tags" -ldflags "-s -w$ldflags" -o "$bin/$name.tmp" "$pkg"
    mv "$bin/$name.tmp" "$bin/$name"
    log "built $name in $((SECONDS - t))s"
  done
  echo "$bin"
}

bins=()
case $what in kubernetes|csi|helm|grpcurl|otelcol|promtool|kwok|all) ;; *) log "unknown target: $what (kubernetes|csi|helm|grpcurl|otelcol|promtool|kwok|all)"; exit 2 ;; esac
if [ "$what" = kubernetes ] || [ "$what" = all ]; then
  bins+=("$(build_module kubernetes \
    etcd=go.etcd.io/etcd/server/v3 \
    kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver \
    kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager \
    kube-scheduler=k8s.io/kubernetes/cmd/kube-scheduler \
    kubectl=k8s.io/kubernetes/cmd/kubectl \
    kubelet=k8s.io/kubernetes/cmd/kubelet \
    kube-proxy=k8s.io/kubernetes/cmd/kube-proxy)")
fi
if { [ "$what" = csi ] || [ "$what" = all ]; } && [ -d "$root/tools/csi" ]; then
  bins+=("$(build_module csi \
    csi-sanity=github.com/kubernetes-csi/csi-test/v5/cmd/csi-sanity \
    csi-provisioner=github.com/kubernetes-csi/external-provisioner/v6/cmd/csi-provisioner)")
fi
if { [ "$what" = helm ] || [ "$what" = all ]; } && [ -d "$root/tools/helm" ]; then
  bins+=("$(build_module helm helm=helm.sh/helm/v3/cmd/helm)")
fi
if { [ "$what" = grpcurl ] || [ "$what" = all ]; } && [ -d "$root/tools/grpcurl" ]; then
  bins+=("$(build_module grpcurl grpcurl=github.com/fullstorydev/grpcurl/cmd/grpcurl)")
fi
if { [ "$what" = otelcol ] || [ "$what" = all ]; } && [ -d "$root/tools/otelcol" ]; then
  # Our own main package (tools/otelcol/main.go) wires the collector's modules into one binary.
  bins+=("$(build_module otelcol otelcol=listener-operator.local/tools/otelcol)")
fi
if { [ "$what" = promtool ] || [ "$what" = all ]; } && [ -d "$root/tools/promtool" ]; then
  bins+=("$(build_module promtool promtool=github.com/prometheus/prometheus/cmd/promtool)")
fi

if [ "$what" = kwok ] && [ -d "$root/tools/kwok" ]; then
  bins+=("$(build_module kwok kwok=sigs.k8s.io/kwok/cmd/kwok)")
fi

# One directory of links so callers need only one path.
out="$cache/bin"
mkdir -p "$out"
for b in "${bins[@]}"; do
  for f in "$b"/*; do
    case $f in *.tmp) continue ;; esac
    ln -sfn "$f" "$out/$(basename "$f")"
  done
done
log "tools ready in $out"
echo "$out"
