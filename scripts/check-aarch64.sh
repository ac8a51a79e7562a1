#!/usr/bin/env bash
# Cross-compiles the coroutine context switch for aarch64 and runs its
# selftest under qemu-aarch64. Not part of scripts/test.sh (CI machines are
# x86-64); run it after touching src/coro/.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
for p in gcc-aarch64-linux-gnu qemu-user; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
    { [ "$(id -u)" -eq 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$p" >/dev/null; }
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
aarch64-linux-gnu-gcc -std=c11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -static \
  -I"$root/src" -I"$root/include" \
  "$root/tests/arch/coro_selftest.c" "$root/src/coro/coro.c" "$root/src/coro/switch.c" \
  -o "$out/coro_selftest"
qemu-aarch64 "$out/coro_selftest"
