#!/usr/bin/env bash
# Installs one Node.js line from the npm registry (the `node` package ships the
# real binary and its headers) and prints the environment that uses it:
#   eval "$(.ci/node-line.sh 26)"    # node, and native addons built against 26's headers
# Lines are kept in $NODE_LINES_DIR (default ~/.cache/tokengate-node), one
# folder per line; a line already there is reused.
set -euo pipefail
line=${1:?usage: .ci/node-line.sh <major, e.g. 26>}
base=${NODE_LINES_DIR:-"$HOME/.cache/tokengate-node"}
dir="$base/$line"
binary() { ls "$dir"/node_modules/node/node_modules/*/bin/node 2>/dev/null | head -n 1; }
if [ -z "$(binary)" ]; then
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-audit --no-fund --no-save --loglevel=error "node@$line" >&2
fi
# node-<os>-<arch>: the platform package the `node` package installed; it holds bin/ and include/.
bin=$(binary)
[ -n "$bin" ] || { echo "node-line.sh: node@$line installed no binary in $dir" >&2; exit 1; }
home=$(dirname "$(dirname "$bin")")
"$home/bin/node" --version >/dev/null
echo "export PATH='$home/bin':\"\$PATH\""
echo "export npm_config_nodedir='$home'"
