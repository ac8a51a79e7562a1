#!/usr/bin/env bash
# bench/auth.sh - do password hashes stall the workers? 200 concurrent logins
# (argon2id, OWASP parameters) against chopin-demo on 2 workers, while a
# second wrk measures the latency of a plain JSON route (/hello/x); the same
# probe alone first. Prints, per round and as medians: the probe's p99 idle
# and under the login load, their ratio (the bar: at most 2x), and logins/s.
#
#   bench/auth.sh                      # ROUNDS=3 PROBE_SECONDS=10
#
# Everything it starts is stopped by PID (trap). The 2 cores are shared by
# wrk, the workers and the offload pool that hashes: say so when quoting.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=${ROUNDS:-3}
PROBE_SECONDS=${PROBE_SECONDS:-10}
PORT=${PORT:-19400}
LOGINS=${LOGINS:-200}
OUTDIR=${OUTDIR:-/tmp/auth-bench-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUTDIR"
command -v wrk >/dev/null || { echo "auth.sh: wrk missing (scripts/install-deps.sh bench)" >&2; exit 1; }

SRV='' LOAD=''
cleanup() {
  if [[ -n $LOAD ]]; then kill "$LOAD" 2>/dev/null || true; fi
  if [[ -n $SRV ]]; then kill -TERM "$SRV" 2>/dev/null || true; wait "$SRV" 2>/dev/null || true; fi
  rm -rf "$OUTDIR/db"
}
trap cleanup EXIT

cmake -S "$root" -B "$root/build/bench" -DCMAKE_BUILD_TYPE=Release -DCHOPIN_TESTS=OFF >/dev/null
cmake --build "$root/build/bench" -j"$(nproc)" --target chopin-demo >/dev/null
mkdir -p "$OUTDIR/db"
(cd "$OUTDIR/db" && exec env SERVER_PORT="$PORT" CHOPIN_WORKERS=2 SERVER_MODE=performance \
  DATABASE_URL=sqlite://bench.db JWT_SECRET=bench-secret-bench-secret-bench-secret \
  AUTH_LOGIN_LIMIT_PER_IP=0 AUTH_LOGIN_LIMIT_PER_ACCOUNT=0 CHOPIN_REQUEST_TIMEOUT=120s \
  timeout -k 5 1800 "$root/build/bench/chopin-demo" >"$OUTDIR/server.log" 2>&1) &
SRV=$!
for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/hello/x" && break; sleep 0.1; done
curl -sf -o /dev/null "http://127.0.0.1:$PORT/api/auth/signup" -H 'Content-Type: application/json' \
  -d '{"email":"bench@example.com","username":"bench","password":"bench-password"}'

p99() { # wrk --latency output -> p99 in ms
  awk '/ 99%/ { v = $2; u = v; sub(/[0-9.]+/, "", u); v += 0
    if (u == "us") v /= 1000; else if (u == "s") v *= 1000; print v; exit }' "$1"
}
probe() { # OUTFILE
  wrk -t1 -c32 -d"${PROBE_SECONDS}s" --latency "http://127.0.0.1:$PORT/hello/x" >"$1" 2>&1
}

printf 'round  idle p99 ms  under logins p99 ms  ratio  logins/s  login errors\n'
for ((r = 1; r <= ROUNDS; r++)); do
  probe "$OUTDIR/idle-$r.txt"
  wrk -t2 -c"$LOGINS" -d"$((PROBE_SECONDS + 4))s" --timeout 60s -s "$root/bench/auth/login.lua" \
    "http://127.0.0.1:$PORT/api/auth/login" >"$OUTDIR/logins-$r.txt" 2>&1 &
  LOAD=$!
  sleep 2
  probe "$OUTDIR/load-$r.txt"
  wait "$LOAD" || true
  LOAD=''
  idle=$(p99 "$OUTDIR/idle-$r.txt"); load=$(p99 "$OUTDIR/load-$r.txt")
  rate=$(awk '/Requests\/sec/ { print $2 }' "$OUTDIR/logins-$r.txt")
  errs=$(awk '/Non-2xx/ { s += $NF } /Socket errors/ { gsub(/,/, ""); s += $4 + $6 + $8 + $10 } END { print s + 0 }' "$OUTDIR/logins-$r.txt")
  printf '%5d  %11.2f  %19.2f  %5.2f  %8s  %s\n' "$r" "$idle" "$load" "$(awk -v a="$load" -v b="$idle" 'BEGIN { print a / b }')" "$rate" "$errs" | tee -a "$OUTDIR/rounds.txt"
done
awk '{ i[NR] = $2; l[NR] = $3; x[NR] = $4; n = NR }
  function med(a, n,   t, j, k) { for (j = 1; j <= n; j++) for (k = j + 1; k <= n; k++) if (a[k] < a[j]) { t = a[j]; a[j] = a[k]; a[k] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
  END { printf "median: idle p99 %.2f ms, under %d concurrent logins %.2f ms, ratio %.2f (bar: <= 2)\n", med(i, n), '"$LOGINS"', med(l, n), med(x, n) }' \
  "$OUTDIR/rounds.txt"
echo "(2 cores shared by wrk x2, 2 workers and the offload pool; raw output in $OUTDIR)"
