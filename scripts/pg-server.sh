#!/usr/bin/env bash
# A throw-away PostgreSQL server for tests and benchmarks, in a temporary
# directory, on a free port of 127.0.0.1, with trust authentication.
#   eval "$(scripts/pg-server.sh start)"   # sets CHOPIN_PG_DIR and CHOPIN_PG_URL
#   scripts/pg-server.sh stop "$CHOPIN_PG_DIR"
#   scripts/pg-server.sh halt|resume "$CHOPIN_PG_DIR"   (a crash and a restart, same port)
# As root the server runs as the 'postgres' user (initdb refuses root).
set -euo pipefail

pg_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$d" ] || { echo "pg-server: PostgreSQL is not installed (scripts/install-deps.sh test)" >&2; exit 1; }
  echo "$d"
}

as_owner() { # runs a command as the data directory's owner
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

case "${1:-}" in
  start)
    bin=$(pg_bin)
    dir=$(mktemp -d /tmp/chopin-pg.XXXXXX)
    chmod 755 "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
    port=$(free_port)
    as_owner "$bin/initdb" -D "$dir/data" -U chopin --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; exit 1; }
    # TLS with a throw-away self-signed certificate, so that sslmode=require
    # can be tested; plain connections keep working.
    openssl req -new -x509 -days 2 -nodes -subj /CN=localhost -keyout "$dir/server.key" \
      -out "$dir/server.crt" >/dev/null 2>&1 || { echo "pg-server: openssl failed" >&2; exit 1; }
    chmod 600 "$dir/server.key"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$dir/server.key" "$dir/server.crt"
    # Small and fast: tests need no durability.
    echo "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 -c ssl=on -c ssl_cert_file=$dir/server.crt -c ssl_key_file=$dir/server.key" >"$dir/options"
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 -o "$(cat "$dir/options")" \
      start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    as_owner "$bin/createdb" -h "$dir" -p "$port" -U chopin chopin_test
    echo "export CHOPIN_PG_DIR=$dir CHOPIN_PG_PORT=$port"
    echo "export CHOPIN_PG_URL=postgres://chopin@127.0.0.1:$port/chopin_test"
    ;;
  stop)
    dir=${2:?usage: pg-server.sh stop DIR}
    [ -d "$dir/data" ] && as_owner "$(pg_bin)/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
  halt) # halt DIR: the server goes down as in a crash (fault tests); resume brings it back
    dir=${2:?usage: pg-server.sh halt DIR}
    as_owner "$(pg_bin)/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null
    ;;
  resume) # resume DIR: start again on the same port
    dir=${2:?usage: pg-server.sh resume DIR}
    as_owner "$(pg_bin)/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 -o "$(cat "$dir/options")" \
      start >/dev/null
    ;;
  *) echo "usage: pg-server.sh start | stop DIR | halt DIR | resume DIR" >&2; exit 2 ;;
esac
