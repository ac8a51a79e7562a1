#!/usr/bin/env bash
# bench/tfb/load.sh URL - loads TechEmpower's world and fortune tables
# (bench/tfb/setup.sql) into the PostgreSQL database at URL, e.g.
#   bench/tfb/load.sh postgres://chopin@127.0.0.1:5432/chopin_test
# Re-runnable: the tables are dropped and made again in one transaction.
# Checks the result (10,000 worlds, 12 fortunes) and exits non-zero if wrong.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
url=${1:?usage: load.sh postgres://user@host:port/db}
command -v psql >/dev/null || { echo "load.sh: psql not found (apt-get install postgresql-client)" >&2; exit 1; }

# -X: no ~/.psqlrc, whose settings could change what the script does.
PGCONNECT_TIMEOUT=10 psql -X -q -v ON_ERROR_STOP=1 -d "$url" -f "$here/setup.sql" >/dev/null
counts=$(psql -X -At -d "$url" -c "SELECT (SELECT count(*) FROM world) || ' ' || (SELECT count(*) FROM fortune)")
[ "$counts" = "10000 12" ] || { echo "load.sh: expected 10000 worlds and 12 fortunes, found '$counts'" >&2; exit 1; }
