#!/usr/bin/env bash
# bench/tfb.sh - Chopin's TechEmpower /json and /plaintext against the peers,
# side by side in alternating rounds (../shared/bench/compare.sh), in one run.
#
#   bench/tfb.sh                 # all peers, 3 rounds (about 10 minutes)
#   PEERS="nginx h2o-static" ROUNDS=5 bench/tfb.sh
#
# Builds chopin-tfb in release mode (build/bench), starts it in performance
# mode on CHOPIN_BENCH_PORT (19000), starts the peers with ../shared/bench/
# peers.sh, runs compare.sh with nginx first (the base of every ratio) and
# Chopin last, and stops everything. compare.sh's knobs pass through
# (ROUNDS, DURATION, WARMUP, CONNS, DEPTH, TESTS, OUTDIR...). EXTRA_TARGETS
# adds [LABEL=]URL targets of your own (another build, say) after Chopin.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shared=${SHARED_BENCH:-$root/../shared/bench}
[ -x "$shared/compare.sh" ] || { echo "tfb.sh: $shared/compare.sh not found (../shared beside the repo)" >&2; exit 1; }
peers=${PEERS:-nginx h2o h2o-static kore node-http hono}
port=${CHOPIN_BENCH_PORT:-19000}

"$root/scripts/install-deps.sh" bench
cmake -S "$root" -B "$root/build/bench" -DCMAKE_BUILD_TYPE=Release -DCHOPIN_TESTS=OFF \
  ${CHOPIN_NATIVE:+-DCHOPIN_NATIVE=$CHOPIN_NATIVE} >/dev/null
cmake --build "$root/build/bench" -j"$(nproc)" --target chopin-tfb >/dev/null

SERVER_MODE=performance SERVER_PORT=$port timeout -k 5 3600 "$root/build/bench/chopin-tfb" >/dev/null &
srv=$!
trap 'kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/plaintext" >/dev/null && break; sleep 0.1; done

# shellcheck disable=SC2046,SC2086
"$shared/peers.sh" run $peers -- \
  "$shared/compare.sh" $("$shared/peers.sh" urls $peers) "chopin=http://127.0.0.1:$port" ${EXTRA_TARGETS:-}
