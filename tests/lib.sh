# tests/lib.sh - what the shell tests share. Source it: . "$here/../lib.sh"

# The port of the last "listening on http://HOST:PORT" banner line in LOG,
# or nothing (also while LOG does not exist yet: callers run under set -e).
banner_port() { # LOG
  [ -f "$1" ] || return 0
  sed -n 's|.*listening on http://[^ ]*:\([0-9][0-9]*\)$|\1|p' "$1" | tail -n 1 || true
}

# Waits until LOG has the banner and prints its port; prints nothing if it
# has not come within TRIES x 0.1 s (default 100) or if the process PID (when
# given) has exited meanwhile.
wait_for_port() { # LOG [PID] [TRIES]
  local log=$1 pid=${2:-} tries=${3:-100} port
  for _ in $(seq "$tries"); do
    port=$(banner_port "$log")
    [ -n "$port" ] && { echo "$port"; return; }
    [ -z "$pid" ] || kill -0 "$pid" 2>/dev/null || return
    sleep 0.1
  done
}
