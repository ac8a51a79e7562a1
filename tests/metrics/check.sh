#!/usr/bin/env bash
# check.sh - the demo's GET /metrics, checked by a parser Chopin does not
# share: check_metrics.py, a strict Prometheus text format 0.0.4 parser
# (standard library only), plus prometheus_client's parser when Debian's
# python3-prometheus-client is installed (scripts/install-deps.sh).
#   1. --self-test: the parser accepts valid snippets and rejects invalid
#      ones, each for the expected reason
#   2. end to end: the demo on a free port, a scrape, a known mix of
#      requests, a second scrape; both texts parsed strictly and the
#      counter/histogram deltas per (method, route, status) checked
# Usage: check.sh CHOPIN_DEMO_BINARY WORK_DIR
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: check.sh CHOPIN_DEMO_BINARY WORK_DIR" >&2; exit 2; }
demo=$1
work=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
python=/usr/bin/python3 # Debian's: the one python3-prometheus-client installs into
fail() { echo "check.sh: $*" >&2; exit 1; }

[ -x "$python" ] || fail "$python is missing: scripts/install-deps.sh test"
[ -x "$demo" ] || fail "$demo is not an executable"

[ -n "$work" ] && [ "$work" != / ] || fail "no usable WORK_DIR: '$work'"
rm -rf "$work"
mkdir -p "$work"

note=
if ! "$python" -c 'import prometheus_client.parser' 2>/dev/null; then
  note="note: prometheus_client is not importable by $python (python3-prometheus-client):"
  note+=" only the strict parser was used"
fi

echo "== self-test of the strict parser"
"$python" "$here/check_metrics.py" --self-test

echo "== end to end: $demo"
# Each request's head and body in two writes, as http.client sends them
# (and as a body that comes after another connection's request tests).
"$python" "$here/check_metrics.py" --server-bin "$demo" --workdir "$work" --split-writes

echo "check.sh: all checks passed"
[ -z "$note" ] || echo "check.sh: $note"
