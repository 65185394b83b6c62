#!/usr/bin/env bash
# `npm ci` when node_modules does not match package-lock.json (a fresh clone, or a changed lock);
# otherwise nothing, because npm ci rebuilds nodegit from source (several minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=node_modules/.capstan-lock.sha
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -e node_modules/nodegit/build/Release/nodegit.node ]; then
  exit 0
fi
start=$(date +%s)
# nodegit compiles against node's headers; Debian's nodejs ships them under /usr/include/node, so
# node-gyp needs no header download (none is possible here).
if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node.h ]; then export npm_config_nodedir=/usr; fi
npm ci --no-audit --no-fund
echo "$want" > "$stamp"
echo "npm ci took $(( $(date +%s) - start ))s"
