#!/usr/bin/env bash
# Installs moto (an AWS API emulator, from PyPI) in server mode into a private virtualenv, cached by
# version outside the repository, for the AWS provider's e2e suite (e2e/harness/moto.ts runs
# `moto_server -H 127.0.0.1 -p <port>`). Idempotent: a warm cache returns at once. Python is used
# only here, for test infrastructure; capstan itself is TypeScript.
set -euo pipefail

MOTO_VERSION="${MOTO_VERSION:-5.2.5}"
CACHE="${CAPSTAN_CACHE:-$HOME/.cache/capstan}"
VENV="$CACHE/moto-$MOTO_VERSION/venv"

if [ -x "$VENV/bin/moto_server" ] && "$VENV/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
  echo "moto $MOTO_VERSION cached in $VENV"
  exit 0
fi
start=$(date +%s)
rm -rf "$VENV"
mkdir -p "$(dirname "$VENV")"
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
"$VENV/bin/python" -c "import moto; print('moto', moto.__version__)"
echo "moto $MOTO_VERSION installed in $(( $(date +%s) - start ))s into $VENV"
