#!/usr/bin/env bash
# Builds the servers the end-to-end tests need besides the control plane: a real OCI registry
# (go-containerregistry's `registry`, the one `crane`'s tests use) that Helm pushes charts to.
# Cached by version outside the repository; idempotent: a warm cache returns at once.
# Go is used only here, to build test infrastructure; the product is TypeScript.
set -euo pipefail

REGISTRY_VERSION="${REGISTRY_VERSION:-v0.22.1}"
CACHE="${CAPSTAN_CACHE:-$HOME/.cache/capstan}"
BIN="$CACHE/registry-$REGISTRY_VERSION/bin"

if [ -x "$BIN/registry" ]; then
  echo "OCI registry cached in $BIN"
  exit 0
fi
mkdir -p "$BIN"
export GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod GOBIN="$BIN"
export GOSUMDB="${GOSUMDB:-sum.golang.org}"
echo "building registry $REGISTRY_VERSION ..."
go install -trimpath -ldflags "-s -w" "github.com/google/go-containerregistry/cmd/registry@$REGISTRY_VERSION"
echo "OCI registry built in $BIN"
