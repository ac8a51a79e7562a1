#!/usr/bin/env bash
# check.sh - the chopin command against an installed Chopin, as a user runs
# it: install the build into a temporary prefix, `chopin new demo`, its own
# test command, `chopin generate model post ...`, its tests again, the app
# over HTTP (CRUD under auth, documented in openapi.json), the app's
# commands through chopin (routes, docs export, db, createsuperuser), and
# `chopin dev` restarting within 2 s of a change.
# Usage: check.sh BUILD_DIR WORK_DIR
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

[ $# -eq 2 ] || { echo "usage: check.sh BUILD_DIR WORK_DIR" >&2; exit 2; }
build=$(cd "$1" && pwd)
work=$2
python=/usr/bin/python3
fail() { echo "check.sh: FAILED: $*" >&2; exit 1; }
step() { echo "== $*"; }

[ -n "$work" ] && [ "$work" != / ] || fail "no usable WORK_DIR"
rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)
prefix=$work/prefix
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
  sleep 0.3
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

step "install into $prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
export PATH=$prefix/bin:$PATH CMAKE_PREFIX_PATH=$prefix
[ "$(command -v chopin)" = "$prefix/bin/chopin" ] || fail "chopin is not the installed one"
chopin --version | grep -q '^chopin [0-9]' || fail "chopin --version"
for cmd in "" new generate dev; do
  chopin $cmd --help >/dev/null || fail "chopin $cmd --help"
done

step "chopin new demo, and its test command"
cd "$work"
chopin new demo >/dev/null
cd demo
for f in CMakeLists.txt src/main.c src/routes.c src/notes.c tests/test_app.c tests/test_notes.c \
         .env.example .env .gitignore README.md scripts/run.sh scripts/test.sh chopin.project; do
  [ -e "$f" ] || fail "chopin new made no $f"
done
grep -q 'scripts/run.sh' README.md && grep -q 'scripts/test.sh' README.md || fail "README commands"
grep -q 'find_package(chopin' CMakeLists.txt || fail "CMakeLists.txt does not find Chopin"
scripts/test.sh >"$work/test1.log" 2>&1 || { cat "$work/test1.log"; fail "the new project's tests"; }
grep -q '100% tests passed, 0 tests failed out of 2' "$work/test1.log" || fail "$(tail -5 "$work/test1.log")"
if (cd "$work" && chopin new demo >/dev/null 2>&1); then fail "chopin new over an existing project"; fi

step "chopin generate model post title:string body:text published:bool"
chopin generate model post title:string body:text published:bool >/dev/null
ls migrations/0002_create_posts.up.sqlite.sql migrations/0002_create_posts.up.postgres.sql \
   migrations/0002_create_posts.down.sql src/posts.c tests/test_posts.c >/dev/null
grep -q 'posts_routes(app);' src/routes.c || fail "the routes are not registered"
scripts/test.sh >"$work/test2.log" 2>&1 || { cat "$work/test2.log"; fail "tests after generate"; }
grep -q '100% tests passed, 0 tests failed out of 3' "$work/test2.log" || fail "$(tail -5 "$work/test2.log")"
grep -q 'test_posts .*Passed' "$work/test2.log" || fail "test_posts did not run"
if chopin generate model post title:string 2>/dev/null; then fail "generate over an existing model"; fi
rc=0; chopin generate model thing size:huge 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "an unknown field type: exit $rc, expected 2"

step "the app's commands through chopin"
chopin routes >"$work/routes.txt"
grep -Eq '^POST +/posts +user +Create a post' "$work/routes.txt" || fail "routes: $(cat "$work/routes.txt")"
grep -Eq '^GET +/api/auth/me +user' "$work/routes.txt" || fail "routes lack the auth routes"
chopin docs export --format yaml --output "$work/api.yaml"
chopin docs export >"$work/api.json"
(cd src && chopin docs export --output from-src.json) && [ -s src/from-src.json ] ||
  fail "docs export --output is not relative to where it ran"
rm -f src/from-src.json
"$python" - "$work/api.yaml" "$work/api.json" <<'PY'
import json, sys, yaml
y = yaml.safe_load(open(sys.argv[1]))
j = json.load(open(sys.argv[2]))
assert y == j, "the YAML and JSON documents differ"
post = j["paths"]["/posts"]["post"]
assert post["security"] == [{"bearerAuth": ["user"]}], post.get("security")
assert set(j["paths"]["/posts/{id}"]) == {"get", "put", "patch", "delete"}, j["paths"]["/posts/{id}"]
props = j["components"]["schemas"]["post"]["properties"]
assert {"title", "body", "published", "owner_id"} <= set(props), props
PY
chopin db status >"$work/status.txt"
grep -Eq '^2 +create_posts +pending' "$work/status.txt" || fail "db status: $(cat "$work/status.txt")"
chopin db migrate | grep -q 'applied 2 migrations' || fail "db migrate"
chopin db rollback 1 | grep -q 'rolled back 1 migration' || fail "db rollback"
chopin db status | grep -Eq '^2 +create_posts +pending' || fail "rollback left create_posts applied"
chopin db migrate | grep -q 'applied 1 migration' || fail "db migrate after rollback"
chopin db status | grep -Eq '^2 +create_posts +applied' || fail "db status after migrate"
CHOPIN_SUPERUSER_PASSWORD='root password 123' chopin createsuperuser --email Root@Example.com \
  | grep -q 'superuser root (root@example.com) created' || fail "createsuperuser"
if CHOPIN_SUPERUSER_PASSWORD='root password 123' chopin createsuperuser --email root@example.com \
     >/dev/null 2>&1; then fail "a second superuser with the same email"; fi

step "the app over HTTP: CRUD under auth, documented"
log=$work/server.out
SERVER_PORT=0 CHOPIN_ACCESS_LOG=off build/demo >"$log" 2>"$work/server.err" &
pids+=($!)
port=$(wait_for_port "$log" "${pids[-1]}")
[ -n "$port" ] || fail "the app did not start: $(cat "$work/server.err")"
"$python" - "$port" <<'PY'
import json, sys, urllib.request, urllib.error
base = f"http://127.0.0.1:{sys.argv[1]}"
def call(method, path, body=None, token=None):
    req = urllib.request.Request(base + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None)
    if body is not None: req.add_header("Content-Type", "application/json")
    if token: req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req) as r: return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e: return e.code, json.loads(e.read() or b"null")
s, doc = call("GET", "/api-docs/openapi.json")
assert s == 200 and doc["paths"]["/posts"]["get"]["security"] == [{"bearerAuth": ["user"]}]
s, _ = call("GET", "/posts"); assert s == 401, s
s, r = call("POST", "/api/auth/signup", {"email": "ada@example.com", "username": "ada", "password": "correct horse"})
assert s == 201, r
tok = r["data"]["access_token"]
s, r = call("POST", "/posts", {"title": "Hello", "body": "First", "published": True}, tok)
assert s == 201 and r["data"]["title"] == "Hello" and r["data"]["published"] is True, r
pid = r["data"]["id"]
s, r = call("POST", "/posts", {"title": 5}, tok); assert s == 422 and r["error"]["fields"][0]["field"] == "title", r
s, r = call("PATCH", f"/posts/{pid}", {"published": False}, tok); assert s == 200 and r["data"]["published"] is False, r
s, r = call("GET", "/posts", None, tok); assert s == 200 and r["data"]["total"] == 1, r
s, r = call("POST", "/api/auth/login", {"email": "root@example.com", "password": "root password 123"})
assert s == 200 and r["data"]["user"]["role"] == "superuser", r
s, r = call("DELETE", f"/posts/{pid}", None, tok); assert s == 204, s
s, r = call("GET", f"/posts/{pid}", None, tok); assert s == 404, s
print("HTTP checks passed")
PY
kill -TERM "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true

step "chopin dev restarts within 2 s of a change"
SERVER_PORT=0 CHOPIN_ACCESS_LOG=off chopin dev >"$work/dev.out" 2>"$work/dev.err" &
dev=$!
pids+=($dev)
port=
for _ in $(seq 300); do
  port=$(banner_port "$work/dev.out")
  [ -n "$port" ] && curl -sf "localhost:$port/" >/dev/null && break
  port=; sleep 0.05
done
[ -n "$port" ] || fail "chopin dev did not serve: $(cat "$work/dev.err")"
for round in 1 2; do
  starts=$(grep -c 'listening on' "$work/dev.out")
  sed -i "s/\.name = \"[a-z0-9]*\"/.name = \"round$round\"/" src/routes.c
  t0=$(date +%s%N)
  ok=
  while [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 10000 ]; do
    port=$(banner_port "$work/dev.out")
    if [ "$(grep -c 'listening on' "$work/dev.out")" -gt "$starts" ] &&
       curl -s "localhost:$port/" | grep -q "\"round$round\""; then ok=1; break; fi
    sleep 0.02
  done
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  [ -n "$ok" ] || fail "no restart after 10 s: $(tail -5 "$work/dev.err")"
  echo "   change $round served by the restarted server after $ms ms"
  [ "$ms" -lt 2000 ] || fail "chopin dev took $ms ms (limit 2000)"
done
echo 'this is not C' >> src/routes.c
sleep 1.5
grep -q 'the build failed; the running server stays' "$work/dev.err" || fail "a broken build: $(tail -3 "$work/dev.err")"
curl -s "localhost:$port/" | grep -q '"round2"' || fail "the running server did not stay"
kill -INT "$dev"
for _ in $(seq 100); do kill -0 "$dev" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$dev" 2>/dev/null; then fail "chopin dev did not stop on SIGINT"; fi
if curl -s "localhost:$port/" >/dev/null; then fail "the server outlived chopin dev"; fi

cd "$work"
rc=0; chopin routes >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "chopin routes outside a project: exit $rc, expected 1"
echo "check.sh: all checks passed"
