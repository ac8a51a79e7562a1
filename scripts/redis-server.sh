#!/usr/bin/env bash
# A throw-away Redis server for tests and benchmarks, in a temporary
# directory, on a free port of 127.0.0.1 and a unix socket, with a password
# (so that AUTH is exercised) and no persistence.
#   eval "$(scripts/redis-server.sh start)"  # sets CHOPIN_REDIS_DIR, _PORT, _PASSWORD, _URL (db 2),
#                                            # _SOCKET_URL (db 3)
#   scripts/redis-server.sh stop "$CHOPIN_REDIS_DIR"
#   scripts/redis-server.sh kill|resume "$CHOPIN_REDIS_DIR"   (SIGKILL, and a restart on the same port)
set -euo pipefail

password=chopin-test-password

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

start_server() { # DIR
  local dir=$1
  command -v redis-server >/dev/null || { echo "redis-server: not installed (scripts/install-deps.sh test)" >&2; exit 1; }
  redis-server "$dir/redis.conf" >/dev/null
  for _ in $(seq 100); do
    redis-cli -s "$dir/redis.sock" -a "$password" --no-auth-warning ping 2>/dev/null | grep -q PONG && return 0
    sleep 0.05
  done
  cat "$dir/redis.log" >&2
  exit 1
}

case "${1:-}" in
  start)
    dir=$(mktemp -d /tmp/chopin-redis.XXXXXX)
    port=$(free_port)
    cat >"$dir/redis.conf" <<CONF
port $port
bind 127.0.0.1
unixsocket $dir/redis.sock
unixsocketperm 700
requirepass $password
dir $dir
pidfile $dir/redis.pid
logfile $dir/redis.log
daemonize yes
save ""
appendonly no
CONF
    start_server "$dir"
    echo "export CHOPIN_REDIS_DIR=$dir CHOPIN_REDIS_PORT=$port CHOPIN_REDIS_PASSWORD=$password"
    echo "export CHOPIN_REDIS_URL=redis://:$password@127.0.0.1:$port/2"
    echo "export CHOPIN_REDIS_SOCKET_URL=unix://:$password@$dir/redis.sock?db=3"
    ;;
  stop)
    dir=${2:?usage: redis-server.sh stop DIR}
    [ -f "$dir/redis.pid" ] && kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
    for _ in $(seq 50); do [ -S "$dir/redis.sock" ] || break; sleep 0.05; done
    rm -rf "$dir"
    ;;
  kill) # kill DIR: the server dies at once (fault tests); resume brings it back
    dir=${2:?usage: redis-server.sh kill DIR}
    pid=$(cat "$dir/redis.pid")
    kill -9 "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.02; done
    rm -f "$dir/redis.pid" "$dir/redis.sock"
    ;;
  resume)
    dir=${2:?usage: redis-server.sh resume DIR}
    start_server "$dir"
    ;;
  *)
    echo "usage: redis-server.sh start | stop DIR | kill DIR | resume DIR" >&2
    exit 2
    ;;
esac
