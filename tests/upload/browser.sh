#!/usr/bin/env bash
# browser.sh - the demo's upload form, used by a real browser (browser.js):
# starts chopin-demo with a temporary UPLOAD_DIR, makes a 1 MiB file, and
# has headless Chromium upload it through the form.
# Usage: browser.sh CHOPIN_DEMO_BINARY OUT_DIR   (CHOPIN_NPM_DIR: the test tools)
set -euo pipefail
hello=$1
out=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../lib.sh"
fail() { echo "browser.sh: $*" >&2; exit 1; }
[ -n "${CHOPIN_NPM_DIR:-}" ] ||
  fail "CHOPIN_NPM_DIR is not set: run scripts/test.sh, which installs the test tools"
[ -d "$CHOPIN_NPM_DIR/node_modules/playwright-core" ] || fail "playwright-core missing: run scripts/test.sh"
command -v chromium >/dev/null || fail "chromium is missing: scripts/install-deps.sh test"
rm -rf "$out"
mkdir -p "$out/uploads"
server_pid=
: >"$out/server.log" # there before the background job's redirect: no race with the first read
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null; true' EXIT
env SERVER_PORT=0 CHOPIN_WORKERS=1 DATABASE_URL=sqlite::memory: ENVIRONMENT=test \
  UPLOAD_DIR="$out/uploads" "$hello" >"$out/server.log" 2>&1 &
server_pid=$!
port=$(wait_for_port "$out/server.log" "$server_pid")
[ -n "$port" ] || fail "the demo did not start: $(cat "$out/server.log")"
head -c 1048576 /dev/urandom >"$out/holiday photo.bin"
sha=$(sha256sum "$out/holiday photo.bin" | cut -c1-64)
node "$here/browser.js" "http://127.0.0.1:$port" "$out/holiday photo.bin" "$sha" "$out"
stored=$(find "$out/uploads" -maxdepth 1 -type f | wc -l)
[ "$stored" -eq 1 ] || fail "expected 1 stored file, found $stored"
echo "browser.sh: passed (screenshot: $out/upload-form.png)"
