#!/usr/bin/env bash
# bench/soak.sh - a long mixed load on chopin-demo: does it hold its memory
# and answer every request right? JSON (GET /hello/x), the database (the
# todos: create, list, get, patch, delete, with a bearer token), auth (login,
# argon2id on the offload pool; GET /api/auth/me) and uploads (multipart,
# streamed to UPLOAD_DIR), weighted by bench/soak/mixed.lua, which checks
# every answer against what its request expects.
#
#   bench/soak.sh                                  # 600 s, the first 60 s warm-up
#   bench/soak.sh --duration 60 --warmup 20 --no-build --bin build/gcc/chopin-demo
#
# Options (defaults):
#   --duration S      the whole load, warm-up included (600)
#   --warmup S        its first part, not judged: caches, pools and malloc's
#                     arenas fill up to their bounds there (60)
#   --connections N   wrk connections, one per wrk thread and account (16)
#   --workers N       the server's CHOPIN_WORKERS (2)
#   --sample S        seconds between RSS samples (2)
#   --window S        RSS "at" a time is the least sample of the S seconds up
#                     to it (10; see below)
#   --max-growth PCT  the bar for (RSS at the end - at warm-up end) / at warm-up end (2)
#   --upload-bytes N  the size of each uploaded file (4096)
#   --mix SPEC        weights, e.g. "login=0,upload=100" (bench/soak/mixed.lua)
#   --database-url U  a PostgreSQL URL instead of a fresh SQLite file
#   --bin PATH        the chopin-demo to soak (implies --no-build)
#   --no-build        use build/bench/chopin-demo as it is
#   --port P          the server's port (0: a free one, read from its banner)
#   --outdir DIR      where everything goes (/tmp/soak-DATE)
#
# It builds chopin-demo (Release, build/bench) unless told not to, starts it
# in a fresh folder (SQLite file, upload folder, no .env) with a clean
# environment, signs up one account per connection, runs wrk for --duration
# while sampling the server's /proc status into rss.csv, then checks that the
# server still answers, stops it with SIGTERM (it must exit 0) and prints a
# summary. Uploaded files are removed as they come (every 5 s, counted), so
# the disk holds a few seconds' worth of them at most.
#
# Exit status 0 only when: no request got an unexpected answer (status or
# body), none was lost, wrk saw no socket error, the server logged no error,
# no temporary upload file was left behind, RSS grew by less than
# --max-growth % after the warm-up, and the server answered and exited 0 at
# the end. 1 otherwise; 2 for a bad option or a server that did not start.
#
# wrk, the server, its offload pool and SQLite share this machine's cores:
# the figures that matter are RSS and errors; req/s is only context.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

DURATION=600 WARMUP=60 CONNS=16 WORKERS=2 SAMPLE=2 WINDOW=10 MAX_GROWTH=2 UPLOAD_BYTES=4096 MIX=''
DB_URL='' BIN='' BUILD=1 PORT=0 OUTDIR=''
die() { echo "soak.sh: $*" >&2; exit 2; }
log() { echo "soak.sh: $*" >&2; }
while (($#)); do
  case $1 in
    --duration) DURATION=${2:?}; shift ;;
    --warmup) WARMUP=${2:?}; shift ;;
    --connections) CONNS=${2:?}; shift ;;
    --workers) WORKERS=${2:?}; shift ;;
    --sample) SAMPLE=${2:?}; shift ;;
    --window) WINDOW=${2:?}; shift ;;
    --max-growth) MAX_GROWTH=${2:?}; shift ;;
    --upload-bytes) UPLOAD_BYTES=${2:?}; shift ;;
    --mix) MIX=${2:?}; shift ;;
    --database-url) DB_URL=${2:?}; shift ;;
    --bin) BIN=${2:?}; BUILD=0; shift ;;
    --no-build) BUILD=0 ;;
    --port) PORT=${2:?}; shift ;;
    --outdir) OUTDIR=${2:?}; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (--help lists them)" ;;
  esac
  shift
done
for v in DURATION WARMUP CONNS WORKERS SAMPLE WINDOW UPLOAD_BYTES PORT; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, not '${!v}'"
done
[[ $MAX_GROWTH =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--max-growth must be a number, not '$MAX_GROWTH'"
((WARMUP < DURATION)) || die "--warmup ($WARMUP) must be shorter than --duration ($DURATION)"
((CONNS >= 1 && SAMPLE >= 1 && UPLOAD_BYTES >= 1)) || die "--connections, --sample and --upload-bytes must be at least 1"
((WINDOW >= SAMPLE && 2 * WINDOW <= WARMUP)) || die "--window must be at least --sample and at most half the warm-up"
((CONNS <= 256)) || die "--connections: at most 256 (one wrk thread each)"
for cmd in wrk curl timeout pgrep; do
  command -v "$cmd" >/dev/null || die "$cmd not found (scripts/install-deps.sh installs it)"
done
OUTDIR=${OUTDIR:-/tmp/soak-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)

# ---------------------------------------------------------------- cleanup
# Everything started here is remembered by PID and stopped by PID.
WRAP='' SRV='' WRK_PID='' SAMPLER='' CLEANER=''
stop_helpers() {
  local p
  for p in "$WRK_PID" "$SAMPLER" "$CLEANER"; do
    if [[ -n $p ]]; then kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; fi
  done
  WRK_PID='' SAMPLER='' CLEANER=''
}
cleanup() {
  stop_helpers
  if [[ -n $WRAP ]]; then
    kill -TERM "$WRAP" 2>/dev/null || true # timeout(1) passes it on to the server
    for _ in $(seq 150); do kill -0 "$WRAP" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$WRAP" 2>/dev/null; then kill -KILL -- "-$WRAP" 2>/dev/null || kill -KILL "$WRAP" 2>/dev/null || true; fi
    wait "$WRAP" 2>/dev/null || true
  fi
  WRAP='' SRV=''
  # The database and what was uploaded are only worth keeping while running.
  rm -rf "$OUTDIR/run"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

# ---------------------------------------------------------------- build
if [[ -n $BIN ]]; then
  [[ -x $BIN ]] || die "--bin $BIN is not an executable"
  bin=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
else
  bin=$root/build/bench/chopin-demo
  if ((BUILD)); then
    log "building chopin-demo (Release, build/bench)"
    cmake -S "$root" -B "$root/build/bench" -DCMAKE_BUILD_TYPE=Release -DCHOPIN_TESTS=OFF >/dev/null
    cmake --build "$root/build/bench" -j"$(nproc)" --target chopin-demo >/dev/null
  fi
  [[ -x $bin ]] || die "$bin is missing (build it, or drop --no-build)"
fi

# ---------------------------------------------------------------- server
# A clean environment: only the settings below, whatever the caller's
# shell (or ctest) has set. No access log: 10 minutes of it would be a
# disk and CPU load of its own. No login limits: every connection logs in
# from 127.0.0.1 many times a minute.
run=$OUTDIR/run
mkdir -p "$run/uploads"
db_url=${DB_URL:-sqlite://$run/soak.db}
TTL=$((DURATION + 300)) # timeout(1)'s safety net if this script dies without its trap
(cd "$run" && exec env -i PATH="$PATH" HOME="${HOME:-/tmp}" \
  SERVER_HOST=127.0.0.1 SERVER_PORT="$PORT" SERVER_MODE=standard CHOPIN_WORKERS="$WORKERS" \
  CHOPIN_ACCESS_LOG=off LOG_LEVEL=info ENVIRONMENT=production \
  DATABASE_URL="$db_url" JWT_SECRET=soak-secret-soak-secret-soak-secret-soak \
  AUTH_LOGIN_LIMIT_PER_IP=0 AUTH_LOGIN_LIMIT_PER_ACCOUNT=0 \
  UPLOAD_DIR="$run/uploads" CHOPIN_REQUEST_TIMEOUT=60s \
  timeout -k 5 "$TTL" "$bin" >"$OUTDIR/server.log" 2>&1 </dev/null) &
WRAP=$!
port=''
for _ in $(seq 300); do
  port=$(sed -n 's|.*listening on http://[^ ]*:\([0-9][0-9]*\).*|\1|p' "$OUTDIR/server.log" | head -n 1)
  [[ -n $port ]] && break
  kill -0 "$WRAP" 2>/dev/null || break
  sleep 0.1
done
[[ -n $port ]] || { cat "$OUTDIR/server.log" >&2; die "the server did not start (log above)"; }
SRV=$(pgrep -P "$WRAP" | head -n 1) # timeout(1) is the parent
[[ -n $SRV ]] || die "cannot find the server's PID under timeout(1) ($WRAP)"
echo "$SRV" >"$OUTDIR/server.pid" # for a profiler or gdb to attach to meanwhile
url=http://127.0.0.1:$port
for _ in $(seq 100); do curl -sf -o /dev/null "$url/hello/x" && break; sleep 0.1; done

# One account per connection (argon2id: a fraction of a second each). The
# names carry this run's tag, so that a reused PostgreSQL never answers 409.
tag=$(date +%s)$$
: >"$OUTDIR/accounts.txt"
for ((i = 1; i <= CONNS; i++)); do
  user=soak${tag}n$i
  answer=$(curl -s --max-time 60 "$url/api/auth/signup" -H 'Content-Type: application/json' \
    -d "{\"email\":\"$user@example.com\",\"username\":\"$user\",\"password\":\"soak-password\"}")
  token=$(sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p' <<<"$answer")
  [[ -n $token ]] || die "signup of $user failed: $answer"
  echo "$user $token" >>"$OUTDIR/accounts.txt"
done

# ---------------------------------------------------------------- sampling
# VmRSS (and its parts: anonymous, file-backed, shared, the last being
# SQLite's WAL index), open descriptors and threads, every SAMPLE seconds,
# t counted from the start of the load.
sample() { # T
  local rss anon file shm thr fds
  read -r rss anon file shm thr < <(awk '/^VmRSS:/ { r = $2 } /^RssAnon:/ { a = $2 } /^RssFile:/ { f = $2 }
    /^RssShmem:/ { s = $2 } /^Threads:/ { t = $2 } END { print r, a, f, s, t }' "/proc/$SRV/status" 2>/dev/null) || return 0
  [[ -n $rss ]] || return 0
  fds=$({ ls "/proc/$SRV/fd" 2>/dev/null || true; } | wc -l)
  echo "$1,$rss,$anon,$file,$shm,$fds,$thr"
}
CSV=$OUTDIR/rss.csv
echo "t_s,rss_kib,anon_kib,file_kib,shmem_kib,fds,threads" >"$CSV"
sample 0 >>"$CSV"
before_rss=$(tail -n 1 "$CSV" | cut -d, -f2)

# Removes what was uploaded, every 5 s: the upload folder's files, never
# its .tmp/ (uploads in progress). One "files bytes" line per sweep.
sweep_uploads() {
  find "$run/uploads" -maxdepth 1 -type f -printf '%s\n' -delete 2>/dev/null |
    awk '{ n++; s += $1 } END { print n + 0, s + 0 }' >>"$OUTDIR/uploads-removed.txt"
}
: >"$OUTDIR/uploads-removed.txt"
(while sleep 5; do sweep_uploads; done) &
CLEANER=$!

# ---------------------------------------------------------------- load
log "soaking $url for ${DURATION}s (warm-up ${WARMUP}s), $CONNS connections; output in $OUTDIR"
start=$EPOCHREALTIME
(
  while sleep "$SAMPLE"; do
    sample "$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')" >>"$CSV"
  done
) &
SAMPLER=$!
wrk_rc=0
timeout -k 10 $((DURATION + 60)) wrk -t"$CONNS" -c"$CONNS" -d"${DURATION}s" --timeout 30s --latency \
  -s "$root/bench/soak/mixed.lua" "$url" -- "$OUTDIR/accounts.txt" "$UPLOAD_BYTES" "$MIX" \
  >"$OUTDIR/wrk.txt" 2>&1 </dev/null &
WRK_PID=$!
wait "$WRK_PID" || wrk_rc=$?
WRK_PID=''
stop_helpers
# The last sample: the load just ended.
sample "$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')" >>"$CSV"
sweep_uploads

# ---------------------------------------------------------------- after
failures=()
((wrk_rc == 0)) || failures+=("wrk exited $wrk_rc (see $OUTDIR/wrk.txt)")
grep -q '^SOAK completed' "$OUTDIR/wrk.txt" || failures+=("wrk printed no summary (see $OUTDIR/wrk.txt)")

# Still there, still answering.
alive=yes
kill -0 "$SRV" 2>/dev/null || alive=no
for path in /hello/x /health; do
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$url$path" || true)
  [[ $code == 200 ]] || { alive=no; failures+=("GET $path after the load answered '$code'"); }
done
[[ $alive == yes ]] || failures+=("the server is not alive after the load")
left_tmp=$({ find "$run/uploads/.tmp" -type f 2>/dev/null || true; } | wc -l) # no .tmp/ without uploads
((left_tmp == 0)) || failures+=("$left_tmp temporary upload files left in UPLOAD_DIR/.tmp")
db_kib=$({ du -sk --exclude=uploads "$run" 2>/dev/null || true; } | cut -f1)

# A clean stop: SIGTERM, exit status 0 (timeout(1) passes the server's on).
# Only to our server: if it died, its PID may be someone else's by now.
stop_rc=0
t0=$EPOCHREALTIME
if [[ $(awk '{ print $4 }' "/proc/$SRV/stat" 2>/dev/null) == "$WRAP" ]]; then kill -TERM "$SRV"; else kill -TERM "$WRAP" 2>/dev/null || true; fi
wait "$WRAP" || stop_rc=$?
stop_s=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
WRAP='' SRV=''
((stop_rc == 0)) || failures+=("the server exited $stop_rc after SIGTERM, not 0")
server_errors=$(grep -c 'level=error' "$OUTDIR/server.log" || true)
((server_errors == 0)) || failures+=("the server logged $server_errors errors (see $OUTDIR/server.log)")

# ---------------------------------------------------------------- figures
declare -A req err
total_req=0 total_err=0
while read -r _ kind n e; do
  req[$kind]=$n err[$kind]=$e
  total_req=$((total_req + n)) total_err=$((total_err + e))
done < <(grep -E '^SOAK (hello|todo-[a-z]+|me|login|upload) ' "$OUTDIR/wrk.txt")
lost=$(awk '$2 == "lost" { print $3 }' "$OUTDIR/wrk.txt")
read -r s_connect s_read s_write s_timeout s_status < <(awk '$2 == "socket" { print $3, $4, $5, $6, $7 }' "$OUTDIR/wrk.txt")
read -r completed wrk_us < <(awk '$2 == "completed" { print $3, $4 }' "$OUTDIR/wrk.txt")
uploaded=$(awk '$2 == "uploaded_bytes" { print $3 }' "$OUTDIR/wrk.txt")
read -r removed_files removed_bytes < <(awk '{ n += $1; s += $2 } END { print n + 0, s + 0 }' "$OUTDIR/uploads-removed.txt")
socket_errors=$((${s_connect:-0} + ${s_read:-0} + ${s_write:-0} + ${s_timeout:-0}))
errors=$((total_err + ${lost:-0} + socket_errors))
((errors == 0)) || failures+=("$errors errors: $total_err unexpected answers, ${lost:-0} lost, $socket_errors socket errors")
grep '^SOAK sample' "$OUTDIR/wrk.txt" | sed 's/^SOAK sample /  e.g. /' >&2 || true
# Every upload answered 201 is a stored file; a few more may be stored whose
# answer wrk did not wait for (in flight when the load stopped).
awk -v a="${uploaded:-0}" -v s="$removed_bytes" -v max=$((CONNS * UPLOAD_BYTES)) -v one="$UPLOAD_BYTES" \
  'BEGIN { exit !(s >= a && s - a <= max && s % one == 0) }' ||
  failures+=("uploads answered 201 for ${uploaded:-0} bytes, but $removed_bytes bytes were stored")

# RSS at the end of the warm-up and at the end of the load, each the least
# sample of the WINDOW seconds up to it: a login holds argon2id's 19 MiB
# work area for its 20-40 ms, and a machine with more offload threads than
# the two areas password.c keeps maps more of them while logins overlap; a
# lone sample would see them or not by chance, a floor does not, and a leak
# raises it all the same. The peak is the largest lone sample after the
# warm-up. (Samples at t <= 0 are from before the load.)
read -r warm_t warm_rss warm_anon warm_fds end_t end_rss end_anon end_fds peak_rss < <(awk -F, -v w="$WARMUP" -v W="$WINDOW" '
  NR > 1 && $1 > 0 { t[n] = $1; r[n] = $2; a[n] = $3; f[n] = $6; n++ }
  function floor_of(from, to,   i, k) { k = -1
    for (i = 0; i < n; i++) if (t[i] >= from && t[i] <= to && (k < 0 || r[i] < r[k])) k = i
    return k }
  END { if (!n) exit
    wk = floor_of(w - W, w); ek = floor_of(t[n - 1] - W, t[n - 1])
    for (i = 0; i < n; i++) if (t[i] > w && r[i] > peak) peak = r[i]
    if (wk >= 0 && ek >= 0) print t[wk], r[wk], a[wk], f[wk], t[ek], r[ek], a[ek], f[ek], peak }' "$CSV")
[[ -n ${warm_rss:-} && -n ${end_rss:-} ]] || failures+=("too few RSS samples in $CSV")
growth=$(awk -v a="${warm_rss:-1}" -v b="${end_rss:-0}" 'BEGIN { printf "%.2f", (b - a) * 100 / a }')
peak_growth=$(awk -v a="${warm_rss:-1}" -v b="${peak_rss:-0}" 'BEGIN { printf "%.2f", (b - a) * 100 / a }')
awk -v g="$growth" -v m="$MAX_GROWTH" 'BEGIN { exit !(g < m) }' ||
  failures+=("RSS grew by $growth% after the warm-up (bar: < $MAX_GROWTH%)")
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
rate=$(awk -v n="${completed:-0}" -v us="${wrk_us:-1}" 'BEGIN { printf "%.0f", n / (us / 1e6) }')

{
  echo
  echo "## Soak: chopin-demo, ${DURATION}s (warm-up ${WARMUP}s), $(date -u +%Y-%m-%d)"
  echo
  echo "command: bench/soak.sh --duration $DURATION --warmup $WARMUP --connections $CONNS --workers $WORKERS${MIX:+ --mix $MIX}"
  echo "database: ${DB_URL:+PostgreSQL}${DB_URL:-SQLite (a fresh file)}; uploads: ${UPLOAD_BYTES}-byte files, multipart"
  echo "machine: $(nproc) cores shared by wrk ($CONNS threads), the server's $WORKERS workers and its offload pool"
  echo
  printf '| %-12s | %10s | %6s |\n' kind requests errors
  printf '|%s|%s|%s|\n' "--------------" "-----------:" "-------:"
  for k in hello todo-create todo-list todo-get todo-patch todo-delete me login upload; do
    printf '| %-12s | %10s | %6s |\n' "$k" "${req[$k]:-0}" "${err[$k]:-0}"
  done
  printf '| %-12s | %10s | %6s |\n' "all" "$total_req" "$total_err"
  echo
  echo "by part: json $((${req[hello]:-0})), db $((${req[todo-create]:-0} + ${req[todo-list]:-0} + ${req[todo-get]:-0} + ${req[todo-patch]:-0} + ${req[todo-delete]:-0})), auth $((${req[login]:-0} + ${req[me]:-0})) (login ${req[login]:-0}), uploads ${req[upload]:-0}; requests as issued (the last of each connection may have been in flight when wrk stopped)"
  echo "requests completed: ${completed:-0} ($rate req/s); lost: ${lost:-0}; socket errors: connect ${s_connect:-0}, read ${s_read:-0}, write ${s_write:-0}, timeout ${s_timeout:-0}"
  echo "uploads stored and removed: $removed_files files, $removed_bytes bytes; left in .tmp: $left_tmp"
  echo "RSS: $(mib "${before_rss:-0}") MiB before the load; at warm-up end $(mib "${warm_rss:-0}") MiB (t=${warm_t:-?}s); peak after it $(mib "${peak_rss:-0}") MiB (+$peak_growth%); at the end $(mib "${end_rss:-0}") MiB (t=${end_t:-?}s)"
  echo "RSS growth after warm-up: $growth% (bar: < $MAX_GROWTH%; floors over ${WINDOW}s, samples every ${SAMPLE}s); anonymous $(mib "${warm_anon:-0}") -> $(mib "${end_anon:-0}") MiB; open fds ${warm_fds:-?} -> ${end_fds:-?}"
  echo "SQLite file and WAL at the end: ${DB_URL:+n/a (PostgreSQL)}${DB_URL:-$(mib "${db_kib:-0}") MiB}; server errors logged: $server_errors"
  echo "after the load: alive and answering: $alive; SIGTERM -> exit $stop_rc in ${stop_s}s"
  echo
  if ((${#failures[@]})); then
    printf 'FAIL: %s\n' "${failures[@]}"
  else
    echo "PASS: 0 errors, RSS growth $growth% < $MAX_GROWTH%"
  fi
  echo "(RSS samples in $CSV; wrk's output in $OUTDIR/wrk.txt)"
} | tee "$OUTDIR/summary.txt"
((${#failures[@]} == 0))
