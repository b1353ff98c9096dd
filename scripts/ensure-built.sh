#!/usr/bin/env bash
# Installs npm dependencies and compiles the TypeScript when the sources are newer
# than the build. Quiet when nothing needs doing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if ! command -v node >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "kite: installing Node.js" >&2
    apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
  else
    echo "kite: Node.js 20 or newer is required" >&2; exit 1
  fi
fi
if [ ! -d node_modules ] || [ package.json -nt node_modules/.package-lock.json ]; then
  echo "kite: installing npm dependencies" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
stamp=dist/.build-stamp
if [ ! -f "$stamp" ] || [ -n "$(find machinery store apiserver server agent cli kubelet scheduler controllers proxy dns ingress netpol client dashboard test bench scripts tsconfig.json -newer "$stamp" \( -name '*.ts' -o -name '*.json' \) 2>/dev/null | head -1)" ]; then
  echo "kite: compiling" >&2
  npx tsc -p tsconfig.json
  node scripts/postbuild.mjs
  touch "$stamp"
fi
