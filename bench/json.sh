#!/usr/bin/env bash
# bench/json.sh - Chopin's JSON reader and writer against Jansson and cJSON
# (Debian packages libjansson-dev, libcjson-dev), on a generated 1 MiB API
# document and the TechEmpower {"message":...} object. Prints MB/s, ns per
# small document and the ratios. Run it a few times: the machine is noisy.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/install-deps.sh" bench
cmake -S "$root" -B "$root/build/bench" -DCMAKE_BUILD_TYPE=Release -DCHOPIN_TESTS=OFF \
  ${CHOPIN_NATIVE:+-DCHOPIN_NATIVE=$CHOPIN_NATIVE} >/dev/null
cmake --build "$root/build/bench" -j"$(nproc)" --target chopin_static >/dev/null
cc -std=c11 -O2 -D_GNU_SOURCE -I"$root/include" "$root/bench/json/json_bench.c" \
  "$root/build/bench/libchopin.a" $(pkg-config --cflags --libs jansson libcjson) -lpthread -lm \
  -o "$root/build/bench/json_bench"
"$root/build/bench/json_bench"
