#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls this):
#   1. installs what is missing (scripts/install-deps.sh test)
#   2. gcc, Release: build with -Werror, unit + integration + stress tests
#      (ctest), and a bounded set of integration cases with the servers under
#      Valgrind memcheck (ctest memcheck.integration: tests/stress/memcheck.sh)
#   3. clang, ASan + UBSan: build, the same tests; a sanitizer report from
#      any process (a test's, a server's) fails the run
#   4. clang, ThreadSanitizer (-DCHOPIN_TSAN=ON): build, the same tests (the
#      workers, the offload pool and the cache's threads; tools.cli is left
#      out, as under ASan); a report fails the run as under ASan
#   5. install into a temporary prefix; build a program against it with
#      pkg-config and another with CMake find_package, and run both
#   (2, 3 and 4 run the database suites on SQLite and on a PostgreSQL server
#    started in a temporary directory for the run, scripts/pg-server.sh, and
#    the cache suite in memory and on a Redis server, scripts/redis-server.sh)
#   (2, 3 and 4 also check the demo's OpenAPI document and docs page with npm
#    tools, installed once per tests/openapi/package-lock.json into
#    CHOPIN_NPM_CACHE, default ~/.cache/chopin: tests/openapi/check.sh)
#   6. libFuzzer targets, each for FUZZ_SECONDS (default 20) on a copy of its
#      seed corpus (tests/fuzz/run-all.sh, which builds them in build/fuzz)
# Environment: JOBS (default nproc), FUZZ_SECONDS, SKIP_FUZZ=1, SKIP_ASAN=1,
# SKIP_TSAN=1.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
jobs=${JOBS:-$(nproc)}
fuzz_seconds=${FUZZ_SECONDS:-20}
passed=0
failed=0
failures=()

step() { printf '\n=== %s\n' "$*"; }
record() { # record NAME STATUS
  if [ "$2" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("$1"); fi
}

step "dependencies"
scripts/install-deps.sh test || { echo "test.sh: could not install dependencies" >&2; exit 1; }

build_and_test() { # NAME CC BUILD_TYPE EXTRA_CMAKE_ARGS...
  local name=$1 cc=$2 type=$3; shift 3
  local dir=build/$name
  step "$name: configure and build ($cc, $type)"
  if ! CC=$cc cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="$type" "$@" >"$dir.configure.log" 2>&1; then
    cat "$dir.configure.log"; record "$name build" 1; return
  fi
  if ! cmake --build "$dir" -j"$jobs" 2>&1 | tail -n 40; then record "$name build" 1; return; fi
  [ "${PIPESTATUS[0]}" -eq 0 ] || { record "$name build" 1; return; }
  record "$name build" 0
  step "$name: tests"
  (cd "$dir" && ctest --output-on-failure -j"$jobs" --timeout 300)
  record "$name tests" $?
}

step "tools: npm packages for the OpenAPI checks (tests/openapi/package-lock.json)"
npm_cache=${CHOPIN_NPM_CACHE:-$HOME/.cache/chopin}
npm_dir=$npm_cache/openapi-$(sha256sum tests/openapi/package-lock.json | cut -c1-16)
if [ ! -x "$npm_dir/node_modules/.bin/redocly" ]; then
  rm -rf "$npm_dir" && mkdir -p "$npm_dir" &&
    cp tests/openapi/package.json tests/openapi/package-lock.json "$npm_dir/" &&
    (cd "$npm_dir" && timeout 900 npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  status=$?
  [ $status -eq 0 ] || rm -rf "$npm_dir"
  record "npm install" $status
fi
export CHOPIN_NPM_DIR=$npm_dir

step "services: a temporary PostgreSQL and Redis"
stop_services() {
  [ -n "${CHOPIN_PG_DIR:-}" ] && scripts/pg-server.sh stop "$CHOPIN_PG_DIR"
  [ -n "${CHOPIN_REDIS_DIR:-}" ] && scripts/redis-server.sh stop "$CHOPIN_REDIS_DIR"
  true
}
trap stop_services EXIT
if pg_env=$(scripts/pg-server.sh start); then
  eval "$pg_env"
  echo "PostgreSQL on port $CHOPIN_PG_PORT ($CHOPIN_PG_DIR)"
  record "postgres start" 0
else
  record "postgres start" 1
fi
if redis_env=$(scripts/redis-server.sh start); then
  eval "$redis_env"
  echo "Redis on port $CHOPIN_REDIS_PORT ($CHOPIN_REDIS_DIR)"
  record "redis start" 0
else
  record "redis start" 1
fi

# A sanitizer's report in a process that Criterion or a test started (a
# test's child process, a server under test) does not always fail its test:
# Criterion passes a test whose process reports a leak at exit. Reports go
# to files instead (log_path), and any file there fails the run.
sanitizer_reports() { # NAME DIR
  local files=("$2"/*)
  [ -e "${files[0]}" ] || { record "$1 sanitizer reports" 0; return; }
  echo "$1: ${#files[@]} sanitizer report(s) in $2:"
  for f in "${files[@]:0:5}"; do echo "--- $f"; head -n 40 "$f"; done
  record "$1 sanitizer reports" 1
}

mkdir -p build
build_and_test gcc gcc Release
if [ "${SKIP_ASAN:-0}" != 1 ]; then
  asan_logs=$(mktemp -d /tmp/chopin-asan-logs.XXXXXX)
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:log_path=$asan_logs/asan \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$asan_logs/ubsan \
    build_and_test asan clang Debug -DCHOPIN_SANITIZE=ON
  sanitizer_reports asan "$asan_logs"
  rm -rf "$asan_logs"
fi
if [ "${SKIP_TSAN:-0}" != 1 ]; then
  tsan_logs=$(mktemp -d /tmp/chopin-tsan-logs.XXXXXX)
  # second_deadlock_stack: both stacks of a lock-order inversion, not one.
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 log_path=$tsan_logs/tsan" \
    build_and_test tsan clang Debug -DCHOPIN_TSAN=ON
  sanitizer_reports tsan "$tsan_logs"
  rm -rf "$tsan_logs"
fi

step "install: pkg-config and find_package against an installed copy"
prefix=$(mktemp -d /tmp/chopin-prefix.XXXXXX)
(
  set -e
  cmake --install build/gcc --prefix "$prefix" >/dev/null
  for f in include/chopin.h include/chopin/app.h lib/libchopin.a lib/libchopin.so \
           lib/pkgconfig/chopin.pc lib/cmake/chopin/chopinConfig.cmake bin/chopin-demo bin/chopin-tfb \
           bin/chopin; do
    [ -e "$prefix/$f" ] || { echo "missing $prefix/$f"; exit 1; }
  done
  export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
  cc -std=c11 -Wall -Wextra -Werror tests/install/app.c $(pkg-config --cflags --libs chopin) -o "$prefix/app-pc"
  "$prefix/app-pc"
  cmake -S tests/install -B "$prefix/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
  cmake --build "$prefix/cmake-build" >/dev/null
  "$prefix/cmake-build/app-cmake"
)
record "install" $?
rm -rf "$prefix"

if [ "${SKIP_FUZZ:-0}" != 1 ]; then
  step "fuzz: each target for ${fuzz_seconds}s (tests/fuzz/run-all.sh)"
  fuzz_status=$(mktemp /tmp/chopin-fuzz-status.XXXXXX)
  FUZZ_STATUS_FILE=$fuzz_status JOBS=$jobs tests/fuzz/run-all.sh "$fuzz_seconds"
  status=$?
  fuzz_targets=0 fuzz_failed=0
  while read -r name target_status; do
    record "$name" "$target_status"
    fuzz_targets=$((fuzz_targets + 1))
    [ "$target_status" -eq 0 ] || fuzz_failed=$((fuzz_failed + 1))
  done <"$fuzz_status"
  rm -f "$fuzz_status"
  # Status 2 (the build or the arguments) leaves no target reported.
  if [ $status -ne 0 ] && [ $fuzz_failed -eq 0 ]; then record "fuzz build" 1; fi
  expected=$(ls tests/fuzz/fuzz_*.c | wc -l)
  if [ $status -eq 0 ] && [ $fuzz_targets -ne "$expected" ]; then
    echo "fuzz: $fuzz_targets of $expected targets ran"
    record "fuzz targets" 1
  fi
fi

echo
[ ${#failures[@]} -eq 0 ] || printf 'failed: %s\n' "${failures[@]}"
echo "test.sh: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
