#!/usr/bin/env bash
# `make setup`: everything a fresh machine needs, each step idempotent and cached (a warm machine
# returns in seconds). The Vault build (scripts/build-vault.sh: about 20 minutes of Go on 2 cores when
# cold, the longest step) runs in the background next to the other steps, so that its module downloads
# and compilation overlap npm ci and the control plane build instead of adding to them; its output is
# printed once it ends. Go's module and build caches are safe for concurrent builds.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-system.sh
log="$(mktemp)"
scripts/build-vault.sh >"$log" 2>&1 &
vault=$!
rc=0
{
  scripts/npm-install.sh &&
    scripts/setup-tools.sh &&
    scripts/build-control-plane.sh &&
    scripts/build-test-servers.sh &&
    scripts/setup-moto.sh
} || rc=$?
if wait "$vault"; then
  cat "$log"
else
  echo "scripts/build-vault.sh failed:" >&2
  cat "$log" >&2
  rc=1
fi
rm -f "$log"
exit "$rc"
