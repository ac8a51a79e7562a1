#!/usr/bin/env bash
# Installs the Debian packages Chopin needs to build, test and benchmark.
# Idempotent: only missing packages are installed. Runs as root, or through sudo.
# Usage: scripts/install-deps.sh [build|test|bench|all]   (default: test)
set -euo pipefail

profile=${1:-test}

build_pkgs=(build-essential cmake pkg-config clang libclang-rt-14-dev git ca-certificates
            libsqlite3-dev libpq-dev libssl-dev libargon2-dev libhiredis-dev libmagic-dev libcurl4-openssl-dev)
# valgrind: the memcheck run of the integration suites (tests/stress/memcheck.sh),
# and <valgrind/memcheck.h>, which src/coro uses when present to register its stacks.
# wrk and procps (pgrep): the stress.soak test runs bench/soak.sh.
test_pkgs=(libcriterion-dev curl python3 postgresql redis-server openssl
           python3-jwt python3-argon2 python3-cryptography python3-yaml python3-prometheus-client argon2 chromium
           valgrind wrk procps)
bench_pkgs=(libjansson-dev libcjson-dev)

case "$profile" in
  build) want=("${build_pkgs[@]}") ;;
  test)  want=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
  bench) want=("${build_pkgs[@]}" "${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  all)   want=("${build_pkgs[@]}" "${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  *) echo "install-deps: unknown profile '$profile' (build|test|bench|all)" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Node.js and npm (the OpenAPI checks' tools, the benchmarks' Node peer):
# Debian's packages unless a node and an npm are already there (another
# distribution of Node.js, say, which Debian's npm package would conflict with).
if [ "$profile" != build ] && ! { command -v node && command -v npm; } >/dev/null; then
  missing+=(nodejs npm)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo=sudo
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q >/dev/null
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
