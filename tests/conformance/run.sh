#!/usr/bin/env bash
# API conformance: schemathesis against /api/openapi.yaml on a ds-local bound to 127.0.0.1.
#
# Passes when schemathesis finds 0 server errors and 0 schema/content-type/status/header
# violations for every operation of the route table, and every operation refuses a missing or
# bad credential (ignored_auth) and answers undeclared methods with 405 (unsupported_method).
# It runs once per credential kind (API key with DialStack-Account, account session, user
# token), so each route also meets the credentials it refuses. CHECKS overrides the check list. /v1/events is excluded: an SSE stream never ends, so a generic client can only time
# out on it (the security and event-stream suites cover it over real sockets).
#
# Usage: tests/conformance/run.sh [--quick]
#   DS_LOCAL_BIN  ds-local binary to run (default: built with cargo into $CARGO_TARGET_DIR)
#   SCHEMATHESIS  the `st` command (default: a venv under $CARGO_TARGET_DIR, created with pip)
#   --quick       fewer examples per operation (what `cargo xtask test` runs)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
examples=25
if [[ "${1:-}" == "--quick" ]]; then examples=6; fi

if [[ -z "${DS_LOCAL_BIN:-}" ]]; then
  cargo build --quiet -p ds-local --bin ds-local --manifest-path "$root/Cargo.toml"
  DS_LOCAL_BIN="$target/debug/ds-local"
fi
if [[ -z "${SCHEMATHESIS:-}" ]]; then
  venv="$target/conformance-venv"
  if [[ ! -x "$venv/bin/st" ]]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "schemathesis==4.32.5"
  fi
  SCHEMATHESIS="$venv/bin/st"
fi

data="$(mktemp -d -t ds-conformance.XXXXXX)"
log="$data/ds-local.log"
cleanup() {
  if [[ -n "${server_pid:-}" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$data"
}
trap cleanup EXIT

# Rate limits off: schemathesis sends thousands of requests with one key on purpose.
"$DS_LOCAL_BIN" --listen 127.0.0.1:0 --data-dir "$data/db" --fast-timers \
  --rate-limit-api-key off --rate-limit-token off --rate-limit-signalling off >"$data/stdout" 2>"$log" &
server_pid=$!
base=""
for _ in $(seq 1 600); do
  base="$(sed -n 's/^ds-local listening on //p' "$data/stdout" | head -n1)"
  [[ -n "$base" ]] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$log" >&2; echo "ds-local exited" >&2; exit 1; }
  sleep 0.1
done
[[ -n "$base" ]] || { echo "ds-local did not start" >&2; exit 1; }
case "$base" in http://127.0.0.1:*) ;; *) echo "refusing a non-loopback base $base" >&2; exit 1 ;; esac

key="sk_test_local"
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
account="$(curl -sf -X POST "$base/v1/accounts" -H "Authorization: Bearer $key" \
  -H 'Content-Type: application/json' -d '{"email":"conformance@clinic.test"}' | json "['id']")"
user="$(curl -sf -X POST "$base/v1/users" -H "Authorization: Bearer $key" -H "DialStack-Account: $account" \
  -H 'Content-Type: application/json' -d '{"name":"Conformance","extension":"101"}' | json "['id']")"
session="$(curl -sf -X POST "$base/v1/account_sessions" -H "Authorization: Bearer $key" \
  -H 'Content-Type: application/json' \
  -d "{\"account\":\"$account\",\"components\":{\"call_history\":{\"enabled\":true}}}" | json "['client_secret']")"
token="$(curl -sf -X POST "$base/v1/user_sessions" -H "Authorization: Bearer $key" \
  -H 'Content-Type: application/json' -d "{\"user\":\"$user\"}" | json "['client_secret']")"

CHECKS="${CHECKS:-not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance,ignored_auth,unsupported_method}"
status=0
started=$SECONDS
run() {
  local name="$1"; shift
  echo "== schemathesis as $name ($examples examples per operation)"
  if ! "$SCHEMATHESIS" run "$base/api/openapi.yaml" --url "$base" \
      --checks "$CHECKS" \
      --exclude-path /v1/events --max-examples "$examples" --seed 1 --workers 2 \
      --request-timeout 10 --generation-database none --no-color --warnings off "$@"; then
    status=1
  fi
}
run "api key + DialStack-Account" -H "Authorization: Bearer $key" -H "DialStack-Account: $account"
run "account session" -H "Authorization: Bearer $session"
run "user token" -H "Authorization: Bearer $token"

if ! kill -0 "$server_pid" 2>/dev/null; then echo "ds-local died during the run" >&2; status=1; fi
if grep -q "panicked" "$log"; then echo "ds-local panicked:" >&2; grep -A3 panicked "$log" >&2; status=1; fi
echo "conformance: $([[ $status == 0 ]] && echo passed || echo FAILED) in $((SECONDS - started)) s"
exit $status
