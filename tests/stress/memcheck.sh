#!/usr/bin/env bash
# Valgrind memcheck on the integration suite: every server the suites start
# (chopin-demo, chopin-tfb) runs under memcheck, through the harness's
# CHOPIN_TEST_SERVER_WRAPPER (tests/integration/harness.h). Any error memcheck
# finds in one - an invalid read or write, a jump on uninitialised memory, a
# definite or indirect leak at exit - fails the run, and so does any test
# failure. The test client itself is not under memcheck: the server is what
# is checked.
#
#   tests/stress/memcheck.sh [--full] TESTS_DIR [LOG_DIR]
#
# TESTS_DIR holds the it_test_* binaries (BUILD/tests). Without --full, the
# bounded set that CI runs (ctest memcheck.integration; about 3 minutes on two
# cores, see BOUNDED below); with --full, every case of every suite (8 to 11
# minutes on two cores, nearly 4 of them the 1 GiB upload). test_tfb_db's
# cases need CHOPIN_PG_URL and CHOPIN_REDIS_URL, as scripts/test.sh provides.
# docs/security.md has the figures of both.
#
# One memcheck log per server process, LOG_DIR/<pid>.log (default: a
# temporary directory, removed when everything was clean). Each is read at
# the end: a log whose ERROR SUMMARY is not 0, or, for a process that did not
# get to exit (killed), any report at all after the preamble, is a finding.
#
# Environment: MEMCHECK_ARGS, more valgrind options (split on spaces, e.g.
# --track-origins=yes); CHOPIN_TEST_TIME_SCALE (harness.h, default 10 under
# the wrapper). Exit status: 0 clean, 1 a finding or a failed test, 2 usage or
# no valgrind.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

usage() {
  echo "usage: tests/stress/memcheck.sh [--full] TESTS_DIR [LOG_DIR]" >&2
  exit 2
}

full=0
if [ "${1:-}" = --full ]; then full=1; shift; fi
if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
tests_dir=$(cd "$1" && pwd)
command -v valgrind >/dev/null || { echo "memcheck: valgrind is not installed" >&2; exit 2; }

keep_logs=1
if [ $# -eq 2 ]; then
  log_dir=$2
  mkdir -p "$log_dir"
  log_dir=$(cd "$log_dir" && pwd)
  rm -f "$log_dir"/*.log
else
  log_dir=$(mktemp -d /tmp/chopin-memcheck.XXXXXX)
  keep_logs=0
fi
supp=$root/tests/valgrind.supp
# The wrapper is split on spaces by the harness: no path in it may hold one.
case "$log_dir$supp" in *" "*) echo "memcheck: '$log_dir' or '$supp' has a space" >&2; exit 2 ;; esac

# The bounded set: a suite binary, then a Criterion --filter pattern. Chosen
# for coverage per second under memcheck (docs/security.md has the times):
# the hostile suites (the request table's 347 malformed and adversarial
# requests; slow writers and bodies, aborted sockets, the 2,000-connection
# flood, 1,000 pipelined requests), the HTTP/1.1 behaviour of both servers
# with a suspended handler, the ORM and JWT routes of the demo, a streamed
# body over the limit and 1,000 concurrent connections on two workers, a
# graceful shutdown with requests in flight, uploads completed, cut off and
# refused, and the PostgreSQL and Redis paths of chopin-tfb. Left to --full:
# the cases that repeat one of these with another status code (each costs a
# server start, the larger part of a case's time under Valgrind), the 1 GiB
# upload (4 minutes alone), and hostile/slow_reader, whose one worker spends
# seconds under Valgrind building 4 MiB answers, so that its well-behaved
# client may not get the 10 answers the test wants on a loaded machine.
BOUNDED=(
  "it_test_hostile hostile/*"
  "it_test_hostile_sockets hostile/!(slow_reader)"
  "it_test_http http/@(keep_alive_several_requests_on_one_socket_tfb|pipelined_100_requests_answered_in_order_hello|head_has_content_length_but_no_body|expect_100_continue|chunked_request_body_echoed|keep_alive_after_a_waiting_handler|demo_todos_crud|admin_route_wants_the_role)"
  "it_test_limits limits/@(chunked_body_too_large_413|max_connections_503_envelope|thousand_concurrent_connections|half_close_then_server_closes)"
  "it_test_shutdown shutdown/@(in_flight_requests_complete|sigint_exits_zero)"
  "it_test_upload upload/@(curl_f_files_and_fields_served_back|cut_off_halfway_leaves_nothing|over_the_limit_is_refused_at_once)"
  "it_test_tfb_db tfb_db/@(fortunes_escape_each_special_character|cached_queries_in_redis_as_stored|updates_count_rules_and_rows_changed)"
)

runs=()
if [ $full -eq 1 ]; then
  for bin in "$tests_dir"/it_test_*; do runs+=("$(basename "$bin") *"); done
else
  runs=("${BOUNDED[@]}")
fi

wrapper="valgrind --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect"
wrapper+=" --errors-for-leak-kinds=definite,indirect --num-callers=40 --fair-sched=yes"
wrapper+=" --suppressions=$supp --log-file=$log_dir/%p.log ${MEMCHECK_ARGS:-}"
export CHOPIN_TEST_SERVER_WRAPPER=$wrapper
echo "memcheck: servers run as: $wrapper <server>"

start=$(date +%s)
tested=0 passing=0 failed_runs=()
for run in "${runs[@]}"; do
  bin=${run%% *} filter=${run#* }
  echo "=== $bin --filter '$filter'"
  out=$log_dir/$bin.out
  status=0
  "$tests_dir/$bin" --jobs 1 --verbose --filter "$filter" >"$out" 2>&1 || status=$?
  # Each case's verdict and log lines; not the cases the filter left out.
  grep -E '^\[(PASS|FAIL|SKIP|----)\]|Synthesis' "$out" | grep -v 'Test is disabled' || true
  synth=$(grep -o 'Tested: [0-9]* | Passing: [0-9]*' "$out" | tail -n 1 || true)
  if [ -n "$synth" ]; then
    n=${synth#Tested: } n=${n%% *} p=${synth##* }
    tested=$((tested + n)) passing=$((passing + p))
  fi
  if [ $status -ne 0 ] || [ -z "$synth" ]; then
    failed_runs+=("$bin")
    echo "--- $bin failed (status $status); its output:"
    tail -n 200 "$out"
  fi
done
elapsed=$(($(date +%s) - start))

# Every server's log: clean only with "ERROR SUMMARY: 0 errors" and no
# warning that Valgrind lost track of a stack (src/coro registers its
# stacks; the warning would mean one was missed, and errors may hide behind
# it). A process killed before its exit has no summary: anything after the
# preamble (the first six lines) is then a report of its own.
logs=0 clean=0 killed=0 findings=()
for log in "$log_dir"/*.log; do
  [ -e "$log" ] || continue
  logs=$((logs + 1))
  if grep -q 'client switching stacks' "$log"; then
    findings+=("$log")
  elif grep -q 'ERROR SUMMARY: 0 errors' "$log"; then
    clean=$((clean + 1))
  elif grep -q 'ERROR SUMMARY:' "$log"; then
    findings+=("$log")
  elif grep -qvE '^==[0-9]+== ?$' <(tail -n +7 "$log"); then
    findings+=("$log")
  else
    killed=$((killed + 1))
  fi
done

echo
echo "memcheck: $tested test cases ($passing passed) in ${#runs[@]} runs, $logs server processes," \
  "$clean clean at exit, $killed killed without a report, ${#findings[@]} with findings; ${elapsed}s"
for log in "${findings[@]}"; do
  echo "---- $log"
  cat "$log"
done
if [ ${#failed_runs[@]} -ne 0 ] || [ ${#findings[@]} -ne 0 ] || [ "$logs" -eq 0 ]; then
  [ "$logs" -eq 0 ] && echo "memcheck: no server ran under valgrind"
  [ ${#failed_runs[@]} -ne 0 ] && echo "memcheck: failed: ${failed_runs[*]}"
  echo "memcheck: FAILED (logs in $log_dir)"
  exit 1
fi
[ $keep_logs -eq 1 ] || rm -rf "$log_dir"
echo "memcheck: clean"
