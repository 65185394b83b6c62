#!/usr/bin/env bash
# Installs the Debian packages capstan's build and tests need when they are missing: the headers
# nodegit compiles against (libkrb5-dev, libssl-dev), git (git daemon, http-backend), openssl (test
# certificates). Needs root or passwordless sudo on a fresh machine; a no-op when all are present.
set -euo pipefail
need=()
for pkg in libkrb5-dev libssl-dev git openssl python3 make g++; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
[ ${#need[@]} -eq 0 ] && exit 0
echo "setup-system: installing ${need[*]}"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
