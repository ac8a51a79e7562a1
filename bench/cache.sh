#!/usr/bin/env bash
# bench/cache.sh - what the cache buys, and what its Redis backend costs.
#   1. GET /rows (50 rows from SQLite through the ORM, as JSON) against the
#      same handler with .cache_seconds (/rows-cached), with the cache in
#      memory and in Redis: requests/s of each and the ratios.
#   2. Chopin's cached GET through HTTP with the Redis backend (one Redis GET
#      per request) next to redis-benchmark's own GET on the same server:
#      how close the HTTP path gets to Redis itself.
#
#   bench/cache.sh                     # ROUNDS=3 SECONDS_EACH=8 CONNS=64
#
# wrk, Chopin (2 workers), Redis and redis-benchmark share this machine's
# cores: compare the ratios of one run, never absolute numbers across runs.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=${ROUNDS:-3}
SECONDS_EACH=${SECONDS_EACH:-8}
CONNS=${CONNS:-64}
PORT=${PORT:-19500}
OUTDIR=${OUTDIR:-/tmp/cache-bench-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUTDIR"
for cmd in wrk redis-server redis-benchmark curl; do
  command -v "$cmd" >/dev/null || { echo "cache.sh: $cmd missing (scripts/install-deps.sh bench)" >&2; exit 1; }
done

SRV='' REDIS_DIR=''
stop_server() {
  if [[ -n $SRV ]]; then kill -TERM "$SRV" 2>/dev/null || true; wait "$SRV" 2>/dev/null || true; fi
  SRV=''
}
cleanup() {
  stop_server
  if [[ -n $REDIS_DIR ]]; then "$root/scripts/redis-server.sh" stop "$REDIS_DIR"; fi
}
trap cleanup EXIT

cmake -S "$root" -B "$root/build/bench" -DCMAKE_BUILD_TYPE=Release -DCHOPIN_TESTS=OFF >/dev/null
cmake --build "$root/build/bench" -j"$(nproc)" --target chopin_static >/dev/null
cc -std=c11 -O2 -Wall -Wextra -Werror -I"$root/include" "$root/bench/cache/app.c" \
  "$root/build/bench/libchopin.a" $(pkg-config --libs sqlite3 libpq libcrypto libargon2 hiredis) \
  -lpthread -lm -o "$OUTDIR/cache-app"
eval "$("$root/scripts/redis-server.sh" start)"
REDIS_DIR=$CHOPIN_REDIS_DIR

start_server() { # REDIS_URL or empty
  (cd "$OUTDIR" && exec env SERVER_PORT="$PORT" CHOPIN_WORKERS=2 SERVER_MODE=performance \
    DATABASE_URL=sqlite::memory: REDIS_URL="$1" timeout -k 5 1800 "$OUTDIR/cache-app" \
    >"$OUTDIR/server.log" 2>&1) &
  SRV=$!
  for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/rows" && return; sleep 0.1; done
  cat "$OUTDIR/server.log" >&2
  exit 1
}

rps() { awk '/^Requests\/sec/ { print int($2) }' "$1"; }
errors() { awk '/Non-2xx|Socket errors/ { e = 1 } END { print e ? "yes" : "no" }' "$1"; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
run_wrk() { # PATH OUTFILE
  wrk -t2 -c"$CONNS" -d"${SECONDS_EACH}s" "http://127.0.0.1:$PORT$1" >"$2" 2>&1
  [[ $(errors "$2") == no ]] || { echo "cache.sh: errors in $2" >&2; cat "$2" >&2; exit 1; }
}

declare -A results
for backend in memory redis; do
  url=''
  [[ $backend == redis ]] && url=$CHOPIN_REDIS_URL
  start_server "$url"
  curl -sf -o /dev/null "http://127.0.0.1:$PORT/rows-cached" # the first request fills it
  curl -sfI "http://127.0.0.1:$PORT/rows-cached" | grep -qi '^X-Cache: HIT' ||
    { echo "cache.sh: /rows-cached is not served from the cache" >&2; exit 1; }
  body_bytes=$(curl -s -o /dev/null -w '%{size_download}' "http://127.0.0.1:$PORT/rows-cached")
  for ((r = 1; r <= ROUNDS; r++)); do
    run_wrk /rows "$OUTDIR/$backend-uncached-$r.txt"
    run_wrk /rows-cached "$OUTDIR/$backend-cached-$r.txt"
    results[$backend-uncached]+="$(rps "$OUTDIR/$backend-uncached-$r.txt") "
    results[$backend-cached]+="$(rps "$OUTDIR/$backend-cached-$r.txt") "
  done
  stop_server
done

for ((r = 1; r <= ROUNDS; r++)); do
  redis-benchmark -p "$CHOPIN_REDIS_PORT" -a "$CHOPIN_REDIS_PASSWORD" -t get -c "$CONNS" \
    -n 300000 -d "$body_bytes" -q --csv >"$OUTDIR/redis-benchmark-$r.txt" 2>/dev/null
  results[redis-benchmark]+="$(awk -F'"' '/GET/ { print int($4) }' "$OUTDIR/redis-benchmark-$r.txt") "
done

med() { tr ' ' '\n' <<<"${results[$1]}" | grep . | median; }
printf '\n%-34s %s\n' "requests/s (median of $ROUNDS)" "rounds"
for k in memory-uncached memory-cached redis-uncached redis-cached redis-benchmark; do
  printf '%-34s %-10s (%s)\n' "$k" "$(med "$k")" "${results[$k]% }"
done
mu=$(med memory-uncached) mc=$(med memory-cached) ru=$(med redis-uncached) rc=$(med redis-cached)
rb=$(med redis-benchmark)
echo
awk -v a="$mc" -v b="$mu" 'BEGIN { printf "cached / uncached, memory backend:  %.2fx\n", a / b }'
awk -v a="$rc" -v b="$ru" 'BEGIN { printf "cached / uncached, Redis backend:   %.2fx\n", a / b }'
awk -v a="$rc" -v b="$rb" 'BEGIN { printf "Chopin cached GET over HTTP (Redis) / redis-benchmark GET: %.2f\n", a / b }'
echo "(outputs in $OUTDIR; the cached body and redis-benchmark's values are $body_bytes bytes)"
