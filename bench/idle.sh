#!/usr/bin/env bash
# bench/idle.sh - RSS cost of idle keep-alive connections.
# Opens N (default 10000) keep-alive connections to chopin-tfb, each after one
# request, and prints the server's RSS before and after, and per connection.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
n=${1:-10000}
port=${CHOPIN_BENCH_PORT:-19001}
cmake -S "$root" -B "$root/build/bench" -DCMAKE_BUILD_TYPE=Release -DCHOPIN_TESTS=OFF >/dev/null
cmake --build "$root/build/bench" -j"$(nproc)" --target chopin-tfb >/dev/null
ulimit -n $((n + 1024))
SERVER_MODE=performance SERVER_PORT=$port CHOPIN_MAX_CONNECTIONS=$((n * 2)) \
  timeout -k 5 600 "$root/build/bench/chopin-tfb" >/dev/null &
srv=$!
trap 'kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/plaintext" >/dev/null && break; sleep 0.1; done
server_pid=$(pgrep -P "$srv" chopin-tfb)  # timeout(1) is the parent
python3 "$root/bench/idle_clients.py" "$port" "$n" "$server_pid"
