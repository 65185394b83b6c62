#!/usr/bin/env bash
# Builds the local control plane binaries (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kwok) from Go modules and caches them by version outside the repository,
# as ../shared/control-plane.md describes. Idempotent: a warm cache returns at once.
# Go is used only here, to build test infrastructure; the product is TypeScript.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.36.3}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.14}"
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"
CACHE="${CAPSTAN_CACHE:-$HOME/.cache/capstan}"
BIN="$CACHE/k8s-$K8S_VERSION/bin"
STAGING_VERSION="v0.${K8S_VERSION#v1.}"
MINOR="$(echo "$K8S_VERSION" | cut -d. -f2)"

export GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
export GOSUMDB="${GOSUMDB:-sum.golang.org}"

have() { [ -x "$BIN/$1" ]; }
if have etcd && have kube-apiserver && have kube-controller-manager && have kube-scheduler && have kwok; then
  echo "control plane binaries cached in $BIN"
  exit 0
fi
mkdir -p "$BIN"
start=$(date +%s)

# --- kubernetes: a throwaway wrapper module that replaces every staging module by its release.
if ! (have kube-apiserver && have kube-controller-manager && have kube-scheduler); then
  W="$CACHE/k8s-$K8S_VERSION/wrapper"
  rm -rf "$W"; mkdir -p "$W"; cd "$W"
  gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  {
    echo "module capstan.local/k8s-wrapper"
    echo
    echo "go $(sed -n 's/^go \([0-9.]*\).*/\1/p' "$gomod")"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    grep -E '=> \./staging/src/k8s.io/' "$gomod" | sed -E "s#^[[:space:]]*(k8s.io/[^ ]+)[[:space:]]+=>.*#\t\1 => \1 $STAGING_VERSION#"
    echo ")"
  } > go.mod
  echo 'package main' > /dev/null
  for cmd in kube-apiserver kube-controller-manager kube-scheduler; do
    go get "k8s.io/kubernetes/cmd/$cmd@$K8S_VERSION"
  done
  ld="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$MINOR -X $pkg.gitTreeState=clean"
  done
  for cmd in kube-apiserver kube-controller-manager kube-scheduler; do
    have "$cmd" && continue
    echo "building $cmd $K8S_VERSION ..."
    go build -trimpath -ldflags "$ld" -o "$BIN/$cmd.tmp" "k8s.io/kubernetes/cmd/$cmd"
    mv "$BIN/$cmd.tmp" "$BIN/$cmd"
  done
fi

# --- etcd: its go.mod names real versions, so a plain require works.
if ! have etcd; then
  W="$CACHE/etcd-$ETCD_VERSION/wrapper"
  rm -rf "$W"; mkdir -p "$W"; cd "$W"
  printf 'module capstan.local/etcd-wrapper\n\ngo 1.24\n' > go.mod
  go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  echo "building etcd $ETCD_VERSION ..."
  go build -trimpath -ldflags "-s -w" -o "$BIN/etcd.tmp" go.etcd.io/etcd/server/v3
  mv "$BIN/etcd.tmp" "$BIN/etcd"
fi

# --- kwok: fake nodes, so pods run and jobs complete without a kubelet.
if ! have kwok; then
  GOBIN="$BIN" go install "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
fi

echo "control plane binaries built in $(( $(date +%s) - start ))s into $BIN"
