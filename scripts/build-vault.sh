#!/usr/bin/env bash
# Builds a real HashiCorp Vault server binary from Go modules for the Vault provider's e2e suite
# (e2e/harness/vault.ts runs `vault server -dev`) and caches it by version outside the repository.
# Idempotent: a warm cache returns at once. Go is used only here, to build test infrastructure.
#
# Vault's go.mod replaces its in-repo submodules (./api, ./sdk, ./api/auth/...) by directories,
# so `go install github.com/hashicorp/vault@v...` refuses it. As scripts/build-control-plane.sh does
# for k8s.io/kubernetes, a throwaway wrapper module requires Vault and replaces each of those
# submodules by the released version Vault's own go.mod requires (or VAULT_MODULE_OVERRIDES). The web
# UI is not built. On the shared 2-core machine the first build takes about an hour (2 300 packages).
set -euo pipefail

# v1.21.0: its go.mod requires sdk v0.20.0, released the same week, so the in-repo ./sdk and the
# released one agree. v1.21.4 (latest patch) does not build this way: its in-repo ./sdk is a
# release-branch state that no sdk release matches. With the sdk v0.21.0 its go.mod requires,
# github.com/hashicorp/vault/vault fails ("identity_store.go:119: cannot use
# iStore.activateDeduplication ... as func(context.Context, *logical.Request, string) error"); with
# v0.20.0, builtin/logical/ssh fails ("b.TryRecordObservationWithRequest undefined").
VAULT_VERSION="${VAULT_VERSION:-v1.21.0}"
# Submodule versions that differ from what Vault's go.mod requires ("module=version ..."); none needed.
VAULT_MODULE_OVERRIDES="${VAULT_MODULE_OVERRIDES:-}"
CACHE="${CAPSTAN_CACHE:-$HOME/.cache/capstan}"
BIN="$CACHE/vault-$VAULT_VERSION/bin"

export GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
export GOSUMDB="${GOSUMDB:-sum.golang.org}"

if [ -x "$BIN/vault" ]; then
  echo "vault binary cached in $BIN"
  exit 0
fi
mkdir -p "$BIN"
start=$(date +%s)

W="$CACHE/vault-$VAULT_VERSION/wrapper"
rm -rf "$W"; mkdir -p "$W"; cd "$W"
gomod=$(go mod download -json "github.com/hashicorp/vault@$VAULT_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
# The version Vault's go.mod requires for a module (direct or indirect).
required() { awk -v m="$1" '$1 == m && $2 ~ /^v/ { print $2; exit }' "$gomod"; }
override() { for o in $VAULT_MODULE_OVERRIDES; do [ "${o%%=*}" = "$1" ] && echo "${o#*=}"; done; true; }
{
  echo "module capstan.local/vault-wrapper"
  echo
  echo "go $(sed -n 's/^go \([0-9.]*\).*/\1/p' "$gomod")"
  echo
  echo "require github.com/hashicorp/vault $VAULT_VERSION"
  echo
  echo "replace ("
  # Every other (non-directory) replace of Vault's go.mod applies to the build as well.
  grep -E '^replace ' "$gomod" | grep -vE '=> \./' | sed -E 's/^replace /\t/'
  for mod in $(sed -nE 's#^replace (github.com/hashicorp/vault/[^ ]+) => \./.*#\1#p' "$gomod"); do
    v="$(override "$mod")"; [ -n "$v" ] || v="$(required "$mod")"
    [ -n "$v" ] || { echo "no required version for $mod in Vault's go.mod" >&2; exit 1; }
    printf '\t%s => %s %s\n' "$mod" "$mod" "$v"
  done
  echo ")"
} > go.mod
cat go.mod
go get "github.com/hashicorp/vault@$VAULT_VERSION"
echo "building vault $VAULT_VERSION ..."
go build -trimpath -ldflags "-s -w -X github.com/hashicorp/vault/version.Version=${VAULT_VERSION#v}" \
  -o "$BIN/vault.tmp" github.com/hashicorp/vault
mv "$BIN/vault.tmp" "$BIN/vault"
echo "vault $VAULT_VERSION built in $(( $(date +%s) - start ))s into $BIN"
