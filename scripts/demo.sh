#!/usr/bin/env bash
# Installs what is missing, builds Chopin in release mode and starts the demo
# API (chopin-demo) on http://127.0.0.1:3000 (SERVER_PORT / SERVER_HOST
# override). Ctrl-C stops it.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
scripts/install-deps.sh build
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DCHOPIN_TESTS=OFF >/dev/null
cmake --build build/release -j"$(nproc)" >/dev/null
exec build/release/chopin-demo
