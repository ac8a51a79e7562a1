#!/usr/bin/env bash
# bench/db.sh - TechEmpower's database tests, chopin-tfb against a Node peer
# (Hono + pg, bench/tfb/node/), both on one throw-away PostgreSQL, side by
# side in alternating rounds (chopin node chopin node ...), in one run.
#
#   bench/db.sh                         # 3 rounds x 10 s per test and target
#   ROUNDS=5 DURATION=8 TESTS="db fortunes" bench/db.sh
#
# What it does: builds chopin-tfb in release mode (build/bench; or takes
# CHOPIN_TFB=path), npm-installs the Node peer into RUNDIR/node, starts
# PostgreSQL (scripts/pg-server.sh), loads bench/tfb/setup.sql, starts both
# servers under timeout(1), checks that they answer, then runs wrk for each
# test: /db, /queries?queries=20, /fortunes, /updates?queries=20. It prints
# one table of medians and stops everything it started, by PID, whatever
# happens (trap). PostgreSQL runs as pg_ctl's daemon, so it is not under
# timeout(1): the trap stops it with pg-server.sh stop.
#
# Columns (medians over the rounds):
#   req/s, avg ms, p99 ms   wrk's figures (p99 not corrected for coordinated omission)
#   srv µs/req   CPU time (utime+stime, /proc) of the server's processes during
#                the run / requests completed
#   db µs/req    the same for every PostgreSQL process (they serve one target
#                at a time, since the targets take turns)
#   idle %       idle share of all cores during the run (/proc/stat)
#   x node       chopin's median / node's: req/s higher is better, p99 and
#                µs/req lower is better
#   errors       socket errors + non-2xx answers, summed over the rounds
# On a small machine wrk, both servers and PostgreSQL share the cores: req/s
# then measures how much CPU each server leaves to the others, and the CPU
# columns say where the time goes.
#
# Environment (defaults): ROUNDS=3 DURATION=10 WARMUP=3 CONNS=256 THREADS=2
#   WRK_TIMEOUT=8 TESTS="db queries fortunes updates" (also: db-orm) CHOPIN_PORT=19200
#   NODE_PORT=19201 WORKERS=2 (node processes) PG_POOL=8 (connections per
#   node process) DATABASE_POOL_SIZE (chopin's, per worker; unset = its
#   default) CHOPIN_TFB (a chopin-tfb to use instead of building one)
#   RUNDIR=/tmp/chopin-db-bench TTL=3600 (each server's timeout, s)
#   OUTDIR=/tmp/db-bench-YYYYmmdd-HHMMSS (raw wrk output, results.tsv, table.txt)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
CONNS=${CONNS:-256}
THREADS=${THREADS:-2}
WRK_TIMEOUT=${WRK_TIMEOUT:-8}
TESTS=${TESTS:-db queries fortunes updates}
CHOPIN_PORT=${CHOPIN_PORT:-19200}
NODE_PORT=${NODE_PORT:-19201}
WORKERS=${WORKERS:-2}
PG_POOL=${PG_POOL:-8}
RUNDIR=${RUNDIR:-/tmp/chopin-db-bench}
TTL=${TTL:-3600}
OUTDIR=${OUTDIR:-/tmp/db-bench-$(date +%Y%m%d-%H%M%S)}

die() { echo "db.sh: $*" >&2; exit 1; }
log() { echo "db.sh: $*" >&2; }

for v in ROUNDS DURATION WARMUP CONNS THREADS WRK_TIMEOUT CHOPIN_PORT NODE_PORT WORKERS PG_POOL TTL; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, not '${!v}'"
done
((ROUNDS >= 1 && DURATION >= 1)) || die "ROUNDS and DURATION must be at least 1"
# db-orm: chopin's /db through the ORM (the node peer answers it with its /db),
# to read the ORM's cost against chopin's own db row of the same run.
declare -A PATH_OF=([db]=/db [db-orm]=/db-orm [queries]='/queries?queries=20' [fortunes]=/fortunes
  [updates]='/updates?queries=20')
for t in $TESTS; do [[ -n ${PATH_OF[$t]:-} ]] || die "unknown test '$t' (db db-orm queries fortunes updates)"; done
path_for() { # TEST URL: the node peer has no /db-orm; it answers that test with /db
  if [[ $1 == db-orm && $2 == *":$NODE_PORT" ]]; then echo /db; else echo "${PATH_OF[$1]}"; fi
}
for cmd in wrk psql node npm curl timeout; do
  command -v "$cmd" >/dev/null || die "$cmd not found (scripts/install-deps.sh bench; apt-get install wrk postgresql nodejs npm)"
done

# ---------------------------------------------------------------- cleanup
# Everything started here is remembered by PID and stopped by PID.
WRK_PID='' CHOPIN_PID='' NODE_PID='' PG_DIR=''
stop_server() { # PID of a timeout(1) wrapper: TERM, then KILL its process group after 5 s
  local pid=$1
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL -- "-$pid" 2>/dev/null || true; fi
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  if [[ -n $WRK_PID ]]; then kill -TERM "$WRK_PID" 2>/dev/null || true; fi
  stop_server "$CHOPIN_PID"
  stop_server "$NODE_PID"
  if [[ -n $PG_DIR ]]; then "$root/scripts/pg-server.sh" stop "$PG_DIR" || true; fi
  WRK_PID='' CHOPIN_PID='' NODE_PID='' PG_DIR=''
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

# ---------------------------------------------------------------- build, install
if [[ -n ${CHOPIN_TFB:-} ]]; then
  bin=$CHOPIN_TFB
  [[ -x $bin ]] || die "CHOPIN_TFB=$bin is not an executable"
else
  log "building chopin-tfb (Release, build/bench)"
  cmake -S "$root" -B "$root/build/bench" -DCMAKE_BUILD_TYPE=Release -DCHOPIN_TESTS=OFF >/dev/null
  cmake --build "$root/build/bench" -j"$(nproc)" --target chopin-tfb >/dev/null
  bin=$root/build/bench/chopin-tfb
fi

node_dir=$RUNDIR/node
mkdir -p "$node_dir"
cp "$root/bench/tfb/node/server.js" "$node_dir/"
if ! cmp -s "$root/bench/tfb/node/package.json" "$node_dir/package.json" || [[ ! -d $node_dir/node_modules/pg ]]; then
  log "npm install into $node_dir (pinned versions of bench/tfb/node/package.json)"
  cp "$root/bench/tfb/node/package.json" "$node_dir/"
  (cd "$node_dir" && timeout 600 npm install --no-audit --no-fund --loglevel=error >/dev/null)
fi

# ---------------------------------------------------------------- services
pg_env=$("$root/scripts/pg-server.sh" start) || die "PostgreSQL did not start"
eval "$pg_env"
PG_DIR=$CHOPIN_PG_DIR
db_url=$CHOPIN_PG_URL
"$root/bench/tfb/load.sh" "$db_url"
pg_master=$(head -n 1 "$PG_DIR/data/postmaster.pid")

mkdir -p "$OUTDIR/raw"
env SERVER_MODE=performance SERVER_PORT="$CHOPIN_PORT" DATABASE_URL="$db_url" \
  ${DATABASE_POOL_SIZE:+DATABASE_POOL_SIZE=$DATABASE_POOL_SIZE} \
  timeout -k 5 "$TTL" "$bin" >"$OUTDIR/chopin.log" 2>&1 </dev/null &
CHOPIN_PID=$!
(cd "$node_dir" && DATABASE_URL=$db_url PORT=$NODE_PORT WORKERS=$WORKERS PG_POOL=$PG_POOL \
  exec timeout -k 5 "$TTL" node server.js) >"$OUTDIR/node.log" 2>&1 </dev/null &
NODE_PID=$!

labels=(chopin node)
declare -A URL=([chopin]=http://127.0.0.1:$CHOPIN_PORT [node]=http://127.0.0.1:$NODE_PORT)
declare -A ROOT_PID=([chopin]=$CHOPIN_PID [node]=$NODE_PID)
for l in "${labels[@]}"; do
  for _ in $(seq 100); do
    curl -sf -o /dev/null --max-time 2 "${URL[$l]}/db" && break
    kill -0 "${ROOT_PID[$l]}" 2>/dev/null || { cat "$OUTDIR/$l.log" >&2; die "$l exited at start"; }
    sleep 0.1
  done
  for t in db queries fortunes updates; do
    code=$(curl -s -o "$OUTDIR/raw/check-$l-$t.txt" -w '%{http_code}' --max-time 5 "${URL[$l]}$(path_for "$t" "${URL[$l]}")" || true)
    [[ $code == 200 ]] || { cat "$OUTDIR/$l.log" >&2; die "$l ${PATH_OF[$t]} answered '$code', not 200"; }
  done
done
cmp -s "$OUTDIR/raw/check-chopin-fortunes.txt" "$OUTDIR/raw/check-node-fortunes.txt" ||
  die "the two /fortunes pages differ (see $OUTDIR/raw/check-*-fortunes.txt)"

# ---------------------------------------------------------------- measuring
# PID... -> "pid starttime cpu_ticks" for them and all their descendants.
snapshot() {
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v roots="$*" '
    { pid = $1; s = $0; sub(/^.*\) /, "", s); split(s, f, " ")   # comm may hold spaces
      ppid[pid] = f[2]; cpu[pid] = f[12] + f[13]; start[pid] = f[20] }
    END { n = split(roots, r, " "); for (i = 1; i <= n; i++) if (r[i] in cpu) keep[r[i]] = 1
          do { added = 0; for (p in ppid) if (!(p in keep) && (ppid[p] in keep)) { keep[p] = 1; added = 1 } } while (added)
          for (p in keep) print p, start[p], cpu[p] }'
}
# BEFORE AFTER -> CPU ticks spent in between (a process born meanwhile counts whole).
ticks_between() {
  awk 'FILENAME == ARGV[1] { b[$1 " " $2] = $3; next } { d += $3 - (($1 " " $2) in b ? b[$1 " " $2] : 0) } END { print d + 0 }' "$1" "$2"
}
cpu_total() { awk '/^cpu / { print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9, $5 + $6 }' /proc/stat; } # all, idle+iowait
CLK_TCK=$(getconf CLK_TCK)

ACCEPT_JSON='Accept: application/json,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7'
ACCEPT_HTML='Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'
run_wrk() { # TEST URL SECONDS OUTFILE
  local accept=$ACCEPT_JSON rc=0
  [[ $1 == fortunes ]] && accept=$ACCEPT_HTML
  timeout -k 5 $(($3 + 20)) wrk -t"$THREADS" -c"$CONNS" -d"$3s" --timeout "${WRK_TIMEOUT}s" --latency \
    -H "$accept" -H 'Connection: keep-alive' "$2$(path_for "$1" "$2")" >"$4" 2>&1 </dev/null &
  WRK_PID=$!
  wait "$WRK_PID" || rc=$?
  WRK_PID=
  return $rc
}
to_ms() { # wrk's "812.34us" / "1.23ms" / "2.01s" -> ms
  awk -v t="$1" 'BEGIN { u = t; sub(/[0-9.]+/, "", u); v = t + 0
    if (u == "us") v /= 1000; else if (u == "s") v *= 1000; else if (u == "m") v *= 60000; else if (u != "ms") { print "nan"; exit }
    printf "%.3f", v }'
}
parse_wrk() { # FILE -> "req_s avg_ms p99_ms errors requests"
  local f=$1
  printf '%s %s %s %s %s\n' \
    "$(awk '/^Requests\/sec:/ { print $2 }' "$f" | grep . || echo nan)" \
    "$(to_ms "$(awk '$1 == "Latency" && NF >= 4 { print $2; exit }' "$f")")" \
    "$(to_ms "$(awk '$1 == "99%" { print $2; exit }' "$f")")" \
    "$(awk '/Socket errors:/ { gsub(/,/, ""); s += $4 + $6 + $8 + $10 } /Non-2xx or 3xx/ { s += $NF } END { print s + 0 }' "$f")" \
    "$(awk '/ requests in / { print $1; exit }' "$f" | grep . || echo 0)"
}

RESULTS=$OUTDIR/results.tsv
printf 'test\ttarget\tround\treq_s\tavg_ms\tp99_ms\terrors\trequests\tsrv_us_req\tdb_us_req\tidle_pct\tnote\n' >"$RESULTS"
ntests=$(wc -w <<<"$TESTS")
cores=$(nproc)
setup="${DURATION}s runs after ${WARMUP}s warm-up, wrk -t$THREADS -c$CONNS; $cores cores shared by wrk, both servers and PostgreSQL"
log "$ROUNDS rounds x $ntests tests x 2 targets ($setup): about $((ROUNDS * ntests * 2 * (DURATION + WARMUP)))s. Output: $OUTDIR"

for ((r = 1; r <= ROUNDS; r++)); do
  for t in $TESTS; do
    for l in "${labels[@]}"; do
      ((WARMUP > 0)) && { run_wrk "$t" "${URL[$l]}" "$WARMUP" "$OUTDIR/raw/warmup-$t-$l-r$r.txt" || true; }
      f=$OUTDIR/raw/$t-$l-r$r.txt
      snapshot "${ROOT_PID[$l]}" >"$OUTDIR/raw/srv.before"
      snapshot "$pg_master" >"$OUTDIR/raw/pg.before"
      read -r all0 idle0 < <(cpu_total)
      run_wrk "$t" "${URL[$l]}" "$DURATION" "$f" || log "wrk exited $? for $l $t round $r (see $f)"
      read -r all1 idle1 < <(cpu_total)
      snapshot "${ROOT_PID[$l]}" >"$OUTDIR/raw/srv.after"
      snapshot "$pg_master" >"$OUTDIR/raw/pg.after"
      read -r rps avg p99 err nreq < <(parse_wrk "$f")
      srv=$(ticks_between "$OUTDIR/raw/srv.before" "$OUTDIR/raw/srv.after")
      pg=$(ticks_between "$OUTDIR/raw/pg.before" "$OUTDIR/raw/pg.after")
      read -r srv_us pg_us idle < <(awk -v s="$srv" -v p="$pg" -v hz="$CLK_TCK" -v n="$nreq" \
        -v a="$((all1 - all0))" -v i="$((idle1 - idle0))" 'BEGIN {
          if (n > 0) printf "%.2f %.2f ", s / hz * 1e6 / n, p / hz * 1e6 / n; else printf "nan nan "
          printf "%.1f\n", (a > 0 ? 100 * i / a : 0) }')
      # A server whose connections stop answering after a request or two
      # completes about CONNS requests, then waits out the run.
      note=; ((nreq >= 3 * CONNS)) || note="STALLED($nreq-reqs)"
      printf '%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$l" "$r" "$rps" "$avg" "$p99" "$err" "$nreq" \
        "$srv_us" "$pg_us" "$idle" "$note" >>"$RESULTS"
      printf '  round %d %-8s %-6s %9s req/s  avg %8s ms  p99 %8s ms  srv %7s µs/req  db %7s µs/req  idle %5s%%  errors %s %s\n' \
        "$r" "$t" "$l" "$rps" "$avg" "$p99" "$srv_us" "$pg_us" "$idle" "$err" "$note" >&2
    done
  done
done

# ---------------------------------------------------------------- table
{
  echo "bench/db.sh, $(date -u +%Y-%m-%d): medians over $ROUNDS rounds; $setup"
  echo "chopin: $bin SERVER_MODE=performance${DATABASE_POOL_SIZE:+ DATABASE_POOL_SIZE=$DATABASE_POOL_SIZE}; node: $(node --version), $WORKERS processes, pg.Pool max $PG_POOL each"
  awk -F'\t' '
    function median(list,   a, n, i, j, t) {
      n = split(list, a, " "); if (n == 0) return "nan"
      for (i = 2; i <= n; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
      return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    function num(x) { return x ~ /^[0-9]+(\.[0-9]+)?$/ }
    function ratio(x, b) { return (x == "nan" || b == "nan" || b + 0 == 0) ? "-" : sprintf("%.2f", x / b) }
    function f(fmt, x) { return x == "nan" ? "-" : sprintf(fmt, x) }
    NR == 1 { next }
    { k = $1 SUBSEP $2
      if (!($1 in seen)) { seen[$1] = 1; tests[++nt] = $1 }
      runs[k] = runs[k] (runs[k] == "" ? "" : " / ") sprintf("%.0f", $4)
      if (num($4)) rps[k] = rps[k] " " $4;  if (num($5)) avg[k] = avg[k] " " $5
      if (num($6)) p99[k] = p99[k] " " $6;  if (num($9)) us[k] = us[k] " " $9
      if (num($10)) db[k] = db[k] " " $10;  if (num($11)) idle[k] = idle[k] " " $11
      err[k] += $7; if ($12 != "") note[k] = "STALLED" }
    END {
      printf "%-9s %-7s %-26s %8s %7s %8s %8s %7s %10s %7s %9s %6s %6s %s\n", "test", "target", "req/s per run", "req/s", "x node",
        "avg ms", "p99 ms", "x node", "srv µs/req", "x node", "db µs/req", "idle%", "errors", "note"
      for (i = 1; i <= nt; i++) {
        t = tests[i]; b = t SUBSEP "node"
        for (j = 1; j <= 2; j++) {
          l = j == 1 ? "chopin" : "node"; k = t SUBSEP l
          m_rps = median(rps[k]); m_p99 = median(p99[k]); m_us = median(us[k])
          printf "%-9s %-7s %-26s %8s %7s %8s %8s %7s %10s %7s %9s %6s %6d %s\n", t, l, runs[k], f("%.0f", m_rps),
            ratio(m_rps, median(rps[b])), f("%.2f", median(avg[k])), f("%.2f", m_p99), ratio(m_p99, median(p99[b])),
            f("%.2f", m_us), ratio(m_us, median(us[b])), f("%.2f", median(db[k])), f("%.1f", median(idle[k])), err[k], note[k]
        }
      }
    }' "$RESULTS"
  echo "(x node = median / node's median: req/s higher is better, p99 and µs/req lower is better. srv µs/req ="
  echo " the server's CPU time during the run / requests; db µs/req = the same for all PostgreSQL processes;"
  echo " idle% = idle share of all $cores cores. errors = socket errors + non-2xx, summed over rounds.)"
} | tee "$OUTDIR/table.txt"
