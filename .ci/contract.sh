#!/usr/bin/env bash
# Contract run for CI (called by .ci/run): builds the service, starts it on
# SQLite and on PostgreSQL on loopback ports, puts a Prism validating proxy
# (--errors) in front of each, and runs the contract suite: valid requests
# through Prism, deliberately invalid ones straight to the service. Waits for
# readiness with bounded loops and always stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_URL="${USERAPPS_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}"
SQLITE_PORT="${CONTRACT_SQLITE_PORT:-18081}"
PG_PORT="${CONTRACT_PG_PORT:-18082}"
PRISM_SQLITE_PORT="${CONTRACT_PRISM_SQLITE_PORT:-14011}"
PRISM_PG_PORT="${CONTRACT_PRISM_PG_PORT:-14012}"

work=$(mktemp -d)
pids=()
db=""
cleanup() {
  local rc=$?
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "$db" ]; then psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true; fi
  if [ $rc -ne 0 ]; then
    for f in "$work"/*.log; do [ -f "$f" ] && { echo "--- $f (last 30 lines)"; tail -n 30 "$f"; }; done
  fi
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT

# wait_http URL NAME PID: any HTTP answer within 30 s from the process we
# started (-f is not used: Prism answers 401/404 itself). A dead PID means the
# port belongs to someone else, or the process failed: stop at once.
wait_http() {
  for _ in $(seq 1 60); do
    kill -0 "$3" 2>/dev/null || { echo "contract: $2 exited during start-up" >&2; return 1; }
    if curl -s -o /dev/null --max-time 2 "$1"; then return 0; fi
    sleep 0.5
  done
  echo "contract: $2 did not come up at $1" >&2
  return 1
}

make build
make --no-print-directory npm-deps

# A fresh database for the Postgres run.
db="userapps_contract_$$"
psql -q "$PG_URL" -c "CREATE DATABASE $db" >/dev/null
pg_base="${PG_URL%%\?*}"
db_url="${pg_base%/*}/$db${PG_URL#"$pg_base"}"

run_engine() { # name port prism_port [database-url]
  local name=$1 port=$2 pport=$3 dburl=${4:-}
  local dir="$work/$name"
  ./bin/userapps serve --data-dir "$dir" --addr "127.0.0.1:$port" ${dburl:+--database-url "$dburl"} >"$work/$name-service.log" 2>&1 &
  pids+=($!)
  local svc=$!
  node_modules/.bin/prism proxy openapi/runai.yaml "http://127.0.0.1:$port" --errors \
    --host 127.0.0.1 --port "$pport" >"$work/$name-prism.log" 2>&1 &
  pids+=($!)
  local prism=$!
  wait_http "http://127.0.0.1:$port/readyz" "userapps ($name)" "$svc"
  wait_http "http://127.0.0.1:$pport/" "Prism ($name)" "$prism"
  echo "== contract suite on $name: valid requests through Prism :$pport, invalid ones direct to :$port"
  make --no-print-directory contract BASE_URL="http://127.0.0.1:$pport" DIRECT_URL="http://127.0.0.1:$port" PRISM=1 DATA_DIR="$dir"
}

run_engine sqlite "$SQLITE_PORT" "$PRISM_SQLITE_PORT"
run_engine postgres "$PG_PORT" "$PRISM_PG_PORT" "$db_url"
echo "contract: passed on SQLite and PostgreSQL, judged by Prism"
