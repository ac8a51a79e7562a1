#!/usr/bin/env bash
# Runs the libFuzzer targets, each for a given time, and reports what each did.
#
#   tests/fuzz/run-all.sh [--no-build] [--build-dir DIR] SECONDS [TARGET...]
#
# Builds the targets first (CC=clang, CHOPIN_FUZZ=ON, Debug, in build/fuzz or
# DIR; logs in DIR.configure.log and DIR.build.log) unless --no-build says
# the build is there. Then each TARGET (fuzz_router or router; default: every
# tests/fuzz/fuzz_*.c), one after the other, for SECONDS on a copy of its
# seed corpus tests/fuzz/corpus/<name> in a temporary directory, from a
# scratch working directory (the repo is never written to), with its
# dictionary tests/fuzz/<name>.dict if there is one, a per-target -max_len, a
# 2 GiB RSS limit and a 60 s limit per input.
#
# Prints, per target: executions, the final coverage (cov: and ft: of
# libFuzzer's last status line), the corpus size (seed files -> files at the
# end) and the crashes: 0, or the failing input, kept in DIR/artifacts/<name>/
# with the end of the log. A table of all of them comes last.
#
# Exit status: 0 if every target ran its time without a failure; 1 if any
# crashed (or leaked, timed out, ran out of memory, or is missing); 2 if the
# build or the arguments failed. With FUZZ_STATUS_FILE set, one line
# "fuzz_<name> <status>" per target (status 0: clean) is written there, for
# scripts/test.sh. JOBS (default nproc) sets the build's parallelism.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

usage() {
  echo "usage: tests/fuzz/run-all.sh [--no-build] [--build-dir DIR] SECONDS [TARGET...]" >&2
  exit 2
}

build=1
build_dir=build/fuzz
while [ $# -gt 0 ]; do
  case $1 in
    --no-build) build=0; shift ;;
    --build-dir) [ $# -ge 2 ] || usage; build_dir=$2; shift 2 ;;
    -h|--help) sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}"; exit 0 ;;
    --) shift; break ;;
    -*) usage ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || usage
seconds=$1; shift
[[ $seconds =~ ^[1-9][0-9]*$ ]] || { echo "run-all.sh: SECONDS must be a positive whole number" >&2; exit 2; }

targets=()
if [ $# -eq 0 ]; then
  for f in tests/fuzz/fuzz_*.c; do targets+=("$(basename "$f" .c)"); done
else
  for t in "$@"; do
    t=fuzz_${t#fuzz_}
    [ -f "tests/fuzz/$t.c" ] || { echo "run-all.sh: no target $t (tests/fuzz/$t.c)" >&2; exit 2; }
    targets+=("$t")
  done
fi

# The longest input libFuzzer may make, per target: room past each target's
# limits (JWT: CHOPIN_JWT_MAX_LEN 8192; .env lines: 4095 bytes), and at least
# the largest seed.
max_len_of() {
  case $1 in
    fuzz_jwt) echo 10000 ;;
    fuzz_http1 | fuzz_config) echo 8192 ;;
    *) echo 4096 ;;
  esac
}

if [ $build -eq 1 ]; then
  jobs=${JOBS:-$(nproc)}
  mkdir -p "$(dirname "$build_dir")"
  echo "run-all.sh: building ${#targets[@]} targets in $build_dir"
  if ! CC=clang cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Debug -DCHOPIN_FUZZ=ON \
      >"$build_dir.configure.log" 2>&1; then
    tail -n 30 "$build_dir.configure.log"
    echo "run-all.sh: configure failed ($build_dir.configure.log)" >&2
    exit 2
  fi
  if ! cmake --build "$build_dir" -j"$jobs" --target "${targets[@]}" >"$build_dir.build.log" 2>&1; then
    tail -n 30 "$build_dir.build.log"
    echo "run-all.sh: build failed ($build_dir.build.log)" >&2
    exit 2
  fi
fi

[ -z "${FUZZ_STATUS_FILE:-}" ] || : >"$FUZZ_STATUS_FILE"
failed=0
rows=()
for name in "${targets[@]}"; do
  corpus_name=${name#fuzz_}
  bin=$build_dir/tests/fuzz/$name
  [[ $bin = /* ]] || bin=$root/$bin
  echo
  echo "--- $name: ${seconds}s"
  if [ ! -x "$bin" ]; then
    echo "run-all.sh: $bin is missing (build without --no-build)"
    rows+=("$(printf '%-16s %10s %6s %7s %15s  %s' "$name" - - - - "missing")")
    failed=1
    [ -z "${FUZZ_STATUS_FILE:-}" ] || echo "$name 1" >>"$FUZZ_STATUS_FILE"
    continue
  fi
  work=$(mktemp -d /tmp/chopin-fuzz.XXXXXX)
  log=$work.log
  seeds=0
  if [ -d "tests/fuzz/corpus/$corpus_name" ]; then
    cp -r "tests/fuzz/corpus/$corpus_name/." "$work/"
    seeds=$(find "$work" -type f | wc -l)
  fi
  dict=()
  [ -f "tests/fuzz/$corpus_name.dict" ] && dict=(-dict="$root/tests/fuzz/$corpus_name.dict")
  mkdir -p "$work.art" "$work.cwd"
  # From a scratch directory: what a target writes where it runs (fuzz_bind's
  # app opens sqlite://chopin.db) stays out of the repo and of the corpus.
  (cd "$work.cwd" && exec "$bin" -max_total_time="$seconds" -max_len="$(max_len_of "$name")" \
    -rss_limit_mb=2048 -timeout=60 -print_final_stats=1 "${dict[@]}" \
    -artifact_prefix="$work.art/" "$work") >"$log" 2>&1
  status=$?

  last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
  [ -n "$execs" ] || execs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n 1)
  [ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9]*\).*/\1/p' <<<"$last")
  files=$(find "$work" -type f | wc -l)
  artifacts=("$work.art"/*)
  [ -e "${artifacts[0]}" ] || artifacts=()

  crashes=0
  if [ $status -ne 0 ] || [ ${#artifacts[@]} -gt 0 ]; then
    [ $status -ne 0 ] || status=1
    failed=1
    keep=$build_dir/artifacts/$name
    mkdir -p "$keep"
    kept=()
    for a in "${artifacts[@]}"; do cp "$a" "$keep/" && kept+=("$keep/$(basename "$a")"); done
    cp "$log" "$keep/$name.log"
    tail -n 40 "$log"
    crashes=${kept[*]:-"exit status $status, no input saved ($keep/$name.log)"}
  fi
  echo "$name: executions ${execs:-?}, cov ${cov:-?}, ft ${ft:-?}, corpus $seeds -> $files files, crashes $crashes"
  rows+=("$(printf '%-16s %10s %6s %7s %15s  %s' "$name" "${execs:-?}" "${cov:-?}" "${ft:-?}" \
    "$seeds -> $files" "$crashes")")
  [ -z "${FUZZ_STATUS_FILE:-}" ] || echo "$name $status" >>"$FUZZ_STATUS_FILE"
  rm -rf "$work" "$work.art" "$work.cwd" "$log"
done

echo
echo "run-all.sh: ${seconds}s per target"
printf '%-16s %10s %6s %7s %15s  %s\n' target executions cov ft corpus crashes
printf '%s\n' "${rows[@]}"
exit $failed
