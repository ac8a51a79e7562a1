#!/usr/bin/env bash
# check.sh - the demo's OpenAPI document and docs page, checked by tools
# Chopin does not write:
#   1. @redocly/cli lint (its recommended rules) on the JSON and the YAML
#      form: zero errors
#   2. openapi-typescript generates types from the document, and
#      tsc --strict compiles client.ts, a typed client of the demo, against
#      them
#   3. headless Chromium, allowed no network but 127.0.0.1, loads /api-docs
#      served with local swagger-ui-dist assets: the rendered page shows
#      every operation of the document (id, summary); a screenshot is saved
# Usage: check.sh CHOPIN_DEMO_BINARY OUT_DIR
# CHOPIN_NPM_DIR names the folder where scripts/test.sh installed
# tests/openapi/package.json (npm ci); chromium and node come from Debian.
set -euo pipefail

hello=$1
out=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../lib.sh"
fail() { echo "check.sh: $*" >&2; exit 1; }

[ -n "${CHOPIN_NPM_DIR:-}" ] ||
  fail "CHOPIN_NPM_DIR is not set: run scripts/test.sh, which installs tests/openapi/package.json"
bin=$CHOPIN_NPM_DIR/node_modules/.bin
assets=$CHOPIN_NPM_DIR/node_modules/swagger-ui-dist
for tool in "$bin/redocly" "$bin/openapi-typescript" "$bin/tsc"; do
  [ -x "$tool" ] || fail "$tool is missing: run scripts/test.sh"
done
[ -f "$assets/swagger-ui-bundle.js" ] || fail "$assets has no swagger-ui-bundle.js"
command -v chromium >/dev/null || fail "chromium is missing: scripts/install-deps.sh test"
command -v node >/dev/null || fail "node is missing: scripts/install-deps.sh test"

rm -rf "$out"
mkdir -p "$out"
server_pid=
: >"$out/server.log" # there before the background job's redirect: no race with the first read
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null; true; }
trap cleanup EXIT

# The demo on a free port, its docs page on local assets.
env SERVER_PORT=0 CHOPIN_WORKERS=1 DATABASE_URL=sqlite::memory: ENVIRONMENT=test \
  API_DOCS_ASSETS="$assets" "$hello" >"$out/server.log" 2>&1 &
server_pid=$!
port=$(wait_for_port "$out/server.log" "$server_pid")
[ -n "$port" ] || fail "no banner from the demo: $(cat "$out/server.log")"
base=http://127.0.0.1:$port
curl -fsS "$base/api-docs/openapi.json" -o "$out/openapi.json"
curl -fsS "$base/api-docs/openapi.yaml" -o "$out/openapi.yaml"

echo "== redocly lint (recommended rules)"
for form in json yaml; do
  "$bin/redocly" lint --format=summary "$out/openapi.$form" >"$out/lint-$form.txt" 2>&1 ||
    { cat "$out/lint-$form.txt"; fail "redocly lint found errors in openapi.$form"; }
  grep -E '^(error|warning) ' "$out/lint-$form.txt" || true
  grep -q 'Your API description is valid' "$out/lint-$form.txt" ||
    { cat "$out/lint-$form.txt"; fail "redocly did not validate openapi.$form"; }
done

echo "== openapi-typescript + tsc --strict"
cp "$here/client.ts" "$out/client.ts"
"$bin/openapi-typescript" "$out/openapi.json" -o "$out/api.d.ts" >"$out/openapi-typescript.log" 2>&1 ||
  { cat "$out/openapi-typescript.log"; fail "openapi-typescript failed"; }
"$bin/tsc" --strict --noEmit --target es2020 --module commonjs "$out/client.ts" ||
  fail "the typed client does not compile against the generated types"

echo "== headless Chromium on $base/api-docs (no network but 127.0.0.1)"
chrome=(chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-extensions
        --user-data-dir="$out/chromium-profile"
        --host-resolver-rules="MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
        --virtual-time-budget=20000 --window-size=1280,2400)
timeout 120 "${chrome[@]}" --dump-dom "$base/api-docs" >"$out/dom.html" 2>"$out/chromium.log" ||
  { tail -20 "$out/chromium.log"; fail "chromium could not load the page"; }
timeout 120 "${chrome[@]}" --screenshot="$out/api-docs.png" "$base/api-docs" >>"$out/chromium.log" 2>&1 ||
  { tail -20 "$out/chromium.log"; fail "chromium could not take the screenshot"; }
[ -s "$out/api-docs.png" ] || fail "no screenshot"

# Every operation of the document is on the rendered page (Swagger UI's
# id="operations-TAG-OPERATIONID" and its summary), and nothing more.
node - "$out/openapi.json" "$out/dom.html" <<'EOF'
const fs = require("fs");
const doc = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const dom = fs.readFileSync(process.argv[3], "utf8");
const unescape = (s) => s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&amp;/g, "&");
const methods = ["get", "put", "post", "delete", "patch"];
let expected = 0;
const missing = [];
for (const [path, item] of Object.entries(doc.paths)) {
  for (const m of methods) {
    const op = item[m];
    if (!op) continue;
    expected++;
    const id = `id="operations-${op.tags[0]}-${op.operationId}"`;
    if (!dom.includes(id)) missing.push(`${m.toUpperCase()} ${path}: no ${id}`);
    if (op.summary && !unescape(dom).includes(`>${op.summary}<`))
      missing.push(`${m.toUpperCase()} ${path}: summary "${op.summary}" not shown`);
    if (!dom.includes(`data-path="${path}"`)) missing.push(`${path}: path not shown`);
  }
}
const shown = (dom.match(/id="operations-(?!tag-)[^"]+"/g) || []).length;
if (missing.length || shown !== expected || expected < 20) {
  console.error(missing.join("\n"));
  console.error(`operations in the document: ${expected}, on the page: ${shown}`);
  process.exit(1);
}
console.log(`the page shows all ${expected} operations of the document`);
EOF

echo "check.sh: all checks passed (screenshot: $out/api-docs.png)"
