#!/usr/bin/env bash
# Property-based test of the REST API against its own description (issue 19):
# starts a node of the debug binary on a free port with a fresh SQLite database,
# logs in as the bootstrap admin, makes a second agent and a ticket so that the
# path parameters name real things, and runs schemathesis against
# /api/openapi.json. It fails on any 5xx and on any answer the description
# does not allow (status, content type, headers, body schema).
#
#   scripts/schemathesis.sh                        # builds target/debug/livesupport
#   LIVESUPPORT_BIN=path/to/livesupport scripts/schemathesis.sh
#   ST_MAX_EXAMPLES=100 ST_SEED=1 scripts/schemathesis.sh
#
# Needs python3 with schemathesis 4 (installs it if missing) and curl. The
# token and the admin's password stay in the environment: never on a command
# line or in the log.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Test cases per operation and phase: about three minutes on two cores.
MAX_EXAMPLES=${ST_MAX_EXAMPLES:-100}
WORKERS=${ST_WORKERS:-2}
# Tickets the path parameters are drawn from.
TICKETS=6

# schemathesis 4, and openapi-spec-validator for the description's own check.
if ! python3 -c 'import schemathesis, openapi_spec_validator' 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check 'schemathesis>=4,<5' openapi-spec-validator \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages 'schemathesis>=4,<5' openapi-spec-validator
fi

if [[ -z "${LIVESUPPORT_BIN:-}" ]]; then
  "${CARGO:-cargo}" build --locked -p livesupport
  LIVESUPPORT_BIN="${CARGO_TARGET_DIR:-target}/debug/livesupport"
fi
[[ -x "$LIVESUPPORT_BIN" ]] || { echo "no server binary at $LIVESUPPORT_BIN" >&2; exit 1; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/livesupport-schemathesis.XXXXXX")
server=""
cleanup() {
  if [[ -n "$server" ]]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  if [[ -z "${ST_KEEP:-}" ]]; then rm -rf "$dir"; else echo "kept $dir"; fi
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"

export ADMIN_EMAIL=schemathesis-admin@example.com
ADMIN_PASSWORD=$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')
export ADMIN_PASSWORD
# The limits a fuzzer from one address would hit at once are raised so that the
# run tests the routes rather than the 429s (which the description still lists).
PORT=$port BIND=127.0.0.1 \
  DATABASE_URL="sqlite://$dir/livesupport.db" \
  STORAGE_URL="file://$dir/attachments" \
  PUBLIC_URL="$base" \
  TOKEN_SECRET=$(python3 -c 'import secrets; print(secrets.token_hex(32))') \
  IDENTITY_SECRET=schemathesis-identity-secret \
  TICKET_RATE_PER_MINUTE=100000 \
  LOGIN_RATE_PER_MINUTE=100000 \
  LOGIN_IP_RATE_PER_MINUTE=100000 \
  MESSAGE_IP_RATE_PER_MINUTE=100000 \
  UPLOAD_RATE_PER_MINUTE=100000 \
  UPLOAD_IP_RATE_PER_MINUTE=100000 \
  MAX_CONNECTIONS_PER_IP=100000 \
  WEBHOOK_ALLOW_PRIVATE=true \
  LOG_FORMAT=json RUST_LOG=info \
  "$LIVESUPPORT_BIN" serve >"$dir/server.log" 2>&1 &
server=$!

for _ in $(seq 100); do
  curl -fsS "$base/healthz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { echo "the server exited:" >&2; tail -20 "$dir/server.log" >&2; exit 1; }
  sleep 0.2
done
curl -fsS "$base/healthz" >/dev/null

# JSON in, one field out (python: no jq needed).
field() { python3 -c "import json, sys; print(json.load(sys.stdin)$1)"; }
post() { # PATH BODY [TOKEN]
  curl -fsS -X POST "$base$1" -H 'Content-Type: application/json' \
    ${3:+-H "@$dir/auth-header"} --data-binary "$2"
}

# The admin's token, in a file curl reads its header from and in the
# environment schemathesis reads its configuration from.
login=$(python3 -c 'import json, os; print(json.dumps({"email": os.environ["ADMIN_EMAIL"], "password": os.environ["ADMIN_PASSWORD"]}))')
LIVESUPPORT_TOKEN=$(post /api/support/auth/login "$login" | field '["token"]')
export LIVESUPPORT_TOKEN
(umask 077; printf 'Authorization: Bearer %s\n' "$LIVESUPPORT_TOKEN" >"$dir/auth-header")

# A teammate for the {agent_id} routes: a fuzzed password reset or disable of
# the admin would end the run's own session.
LIVESUPPORT_AGENT_ID=$(post /api/support/agents \
  '{"email":"teammate@example.com","name":"Teammate","password":"teammate-password-123"}' auth \
  | field '["id"]')
export LIVESUPPORT_AGENT_ID
# Tickets for the {session_id} and {ticket_id} routes, each with a message:
# several, so that the run does not spend itself on one that a fuzzed close
# ended early (what follows a close is 409 ticket_closed).
session_ids=() ticket_ids=()
for n in $(seq "$TICKETS"); do
  ticket=$(post /api/support/ticket \
    "{\"user_name\":\"Fuzz Visitor $n\",\"user_email\":\"visitor$n@example.com\",\"subject\":\"Schemathesis $n\",\"message\":\"Hello\"}")
  session_ids+=("\"$(field '["session_id"]' <<<"$ticket")\"")
  ticket_ids+=("$(field '["id"]' <<<"$ticket")")
done

# Webhooks for the {webhook_id} routes (to a port nobody listens on: their
# deliveries are refused and retried, off the requests' path).
webhook_ids=()
for n in 1 2 3; do
  hook=$(post /api/support/webhooks \
    "{\"url\":\"http://127.0.0.1:9/hook$n\",\"events\":[\"ticket.created\",\"message.created\"]}" auth)
  webhook_ids+=("$(field '["id"]' <<<"$hook")")
done
post /api/support/ticket '{"user_name":"Fuzz Visitor","subject":"For the webhooks","message":"Hello"}' >/dev/null

# The description itself, against the OpenAPI 3.1 schema.
curl -fsS "$base/api/openapi.json" >"$dir/openapi.json"
python3 - "$dir/openapi.json" <<'EOF'
import json, sys
from openapi_spec_validator import validate
from openapi_spec_validator.validation import OpenAPIV31SpecValidator
with open(sys.argv[1]) as f:
    document = json.load(f)
assert document["openapi"] == "3.1.0", document["openapi"]
validate(document, cls=OpenAPIV31SpecValidator)
print("the description is a valid OpenAPI 3.1 document")
EOF

cat >"$dir/schemathesis.toml" <<'EOF'
# The token comes from the environment (${…}): nothing secret is written here.
[auth.openapi.bearer]
bearer = "${LIVESUPPORT_TOKEN}"

[parameters]
"path.session_id" = { dictionary = "sessions" }
"path.ticket_id" = { dictionary = "tickets" }
"path.agent_id" = "${LIVESUPPORT_AGENT_ID}"
"path.webhook_id" = { dictionary = "webhooks" }
# Assign and transfer to a real agent half of the time.
"body.supporter_id" = { dictionary = "agents", probability = 0.5 }
EOF
(IFS=,; printf '\n[dictionaries.sessions]\nvalues = [%s]\n\n[dictionaries.tickets]\nvalues = [%s]\n' \
  "${session_ids[*]}" "${ticket_ids[*]}") >>"$dir/schemathesis.toml"
printf '\n[dictionaries.agents]\nvalues = [1, %s]\n' "$LIVESUPPORT_AGENT_ID" >>"$dir/schemathesis.toml"
(IFS=,; printf '\n[dictionaries.webhooks]\nvalues = [%s]\n' "${webhook_ids[*]}") >>"$dir/schemathesis.toml"

echo "schemathesis against $base (at most $MAX_EXAMPLES cases per operation and phase)"
started=$(date +%s)
status=0
# Left out: POST /api/support/auth/logout revokes every token of the admin, and
# so would end the run's session half-way. Run from the temp dir: schemathesis
# keeps a cache of crashes in the working directory.
(cd "$dir" && schemathesis --config-file "$dir/schemathesis.toml" run "$base/api/openapi.json" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
  --phases examples,coverage,fuzzing \
  --max-examples "$MAX_EXAMPLES" \
  --workers "$WORKERS" \
  --exclude-path /api/support/auth/logout \
  --request-timeout 30 \
  --generation-database none \
  --report junit --report-dir "$dir/report" \
  ${ST_SEED:+--seed "$ST_SEED"} \
  --no-color) || status=$?
echo "schemathesis took $(( $(date +%s) - started )) s"

# What the run reached: the node's own count of answers by described operation
# and status class, so that a run that only ever got 400s or 404s shows as one.
curl -fsS "$base/metrics" | python3 -c '
import json, re, sys, collections
template = lambda path: re.sub(r"\{[^}]*\}", "{}", path)
with open(sys.argv[1]) as f:
    described = {m.upper() + " " + template(p) for p, item in json.load(f)["paths"].items() for m in item}
counts = collections.defaultdict(collections.Counter)
for line in sys.stdin:
    m = re.match(r"livesupport_http_requests_total\{(.*)\} (\d+)", line)
    if not m:
        continue
    labels = dict(re.findall(r"(\w+)=\"([^\"]*)\"", m.group(1)))
    operation = labels["method"] + " " + template(labels["route"])
    if operation in described:
        counts[operation][labels["status"][0] + "xx"] += int(m.group(2))
print("answers by operation:")
for route in sorted(counts):
    print("  %-60s %s" % (route, " ".join("%s=%d" % kv for kv in sorted(counts[route].items()))))
' "$dir/openapi.json" || true

# A panic or an internal error the answers did not show.
if grep -q '"level":"ERROR"' "$dir/server.log"; then
  echo "the server logged errors:" >&2
  grep '"level":"ERROR"' "$dir/server.log" | head -20 >&2
  status=1
fi
if [[ $status -ne 0 ]]; then
  echo "server log: $dir/server.log (set ST_KEEP=1 to keep it)" >&2
fi
exit $status
