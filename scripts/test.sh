#!/usr/bin/env bash
# The test command (README, .ci/run): installs what it needs, builds, lints,
# type-checks, then runs unit tests and the acceptance tests against real clusters.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  need=()
  command -v node >/dev/null || need+=(nodejs npm)
  command -v gcc >/dev/null || need+=(gcc libc6-dev)
  command -v make >/dev/null || need+=(make)
  command -v python3 >/dev/null || need+=(python3)
  /usr/bin/python3 -c 'import kubernetes' 2>/dev/null || need+=(python3-kubernetes)
  # What the nodes and the acceptance tests use, installed once up front so parallel
  # test clusters never race for the dpkg lock.
  for pkg in containerd runc containernetworking-plugins busybox-static nftables iproute2 openssl docker-registry skopeo etcd-server nginx chromium; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
  done
  if [ ${#need[@]} -gt 0 ]; then
    echo "== installing ${need[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  fi
fi

echo "== build"
scripts/ensure-built.sh
echo "== typecheck"
npx tsc -p tsconfig.json --noEmit
echo "== lint"
npx eslint --max-warnings=0 .
echo "== tests"
# Objects the API server shares with in-process informers are frozen in every test: a
# component that mutates its cache fails there, not in a user's cluster.
export KITE_CACHE_MUTATION_DETECTOR=1
# One run of node's test runner so its closing summary counts every test.
shopt -s globstar nullglob
files=(dist/test/unit/**/*.test.js dist/test/integration/**/*.test.js dist/test/faults/**/*.test.js dist/test/e2e/**/*.test.js)
exec node --test --test-concurrency=2 --test-reporter=spec "${files[@]}"
