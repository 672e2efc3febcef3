#!/usr/bin/env bash
# What the image holds, built and started without Docker: the Dockerfile's prod-deps stage (every
# workspace manifest plus the lockfile, `pnpm install --frozen-lockfile --prod`) and its build stage's
# output (every dist folder), put together in a temporary folder. From that folder, the CLI runs
# `--help`, and each of the five services and the model simulator is started against a real
# nats-server on free ports; each must answer 200 on its readiness endpoint. A runtime import that is only a devDependency, or not declared
# at all, is missing from that install and the process dies at start-up: this check fails and prints
# the process's last log lines.
#   usage: scripts/check-prod-install.sh            (after `pnpm build`; scripts/test.sh runs it)
#   PW_PROD_CHECK_TIMEOUT_S  overall time limit for every process to become ready (default 90)
#   PW_PROD_CHECK_KEEP=1     keep the temporary folder (its path is printed)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-node.sh
ROOT="$PWD"

TIMEOUT_S="${PW_PROD_CHECK_TIMEOUT_S:-90}"
NATS_SERVER="${PW_NATS_SERVER:-${PW_BIN_DIR:-$HOME/.cache/pipewright/bin}/nats-server}"
LOG_TAIL_LINES=40
STOP_WAIT_S=10

log() { printf '[prod-install] %s\n' "$*" >&2; }
fail() { log "FAIL: $*"; exit 1; }

[ -x "$NATS_SERVER" ] || fail "no nats-server at $NATS_SERVER (run scripts/bootstrap.sh)"
for main in services/{planner,executor,budget,approver,console}/dist/main.js packages/llm-sim/dist/bin/llm-sim.js packages/cli/dist/bin/pipewright.js; do
  [ -f "$main" ] || fail "$main is not built (run pnpm build first)"
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/pw-prod-install.XXXXXX")"
APP="$WORK/app"
LOGS="$WORK/logs"
mkdir -p "$APP" "$LOGS" "$WORK/nats"
declare -A PID=() # name -> pid of every process started here

stop_all() {
  local name pid deadline
  for name in "${!PID[@]}"; do kill -TERM "${PID[$name]}" 2>/dev/null || true; done
  deadline=$((SECONDS + STOP_WAIT_S))
  for name in "${!PID[@]}"; do
    pid="${PID[$name]}"
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      log "$name (pid $pid) did not stop within ${STOP_WAIT_S}s of SIGTERM; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  PID=()
}
cleanup() {
  stop_all
  if [ "${PW_PROD_CHECK_KEEP:-}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- 1. The install: manifests only, as the Dockerfile's manifests stage copies them (.dockerignore
# leaves out node_modules, dist, test, deploy and docs).
cp package.json pnpm-lock.yaml pnpm-workspace.yaml "$APP/"
find . \( -name node_modules -o -name .git -o -name dist -o -name test -o -name deploy -o -name docs -o -name .pw \) -prune \
  -o -mindepth 2 -name package.json -print | while read -r f; do
  mkdir -p "$APP/$(dirname "$f")"
  cp "$f" "$APP/$f"
done
log "pnpm install --frozen-lockfile --prod in $APP"
if ! (cd "$APP" && CI=true pnpm install --frozen-lockfile --prod --prefer-offline --reporter=append-only </dev/null >"$LOGS/install.log" 2>&1); then
  tail -n "$LOG_TAIL_LINES" "$LOGS/install.log" >&2
  fail "the production install failed"
fi

# --- 2. The compiled output, as the build stage keeps it: every dist folder, no build info.
find . \( -name node_modules -o -name .git -o -name test \) -prune -o -type d -name dist -print -prune | while read -r d; do
  mkdir -p "$APP/$(dirname "$d")"
  cp -R "$d" "$APP/$d"
done
find "$APP" -name '*.tsbuildinfo' -not -path '*/node_modules/*' -delete
cp -R examples "$APP/examples"

# --- 3. The CLI, which the image also holds (`kubectl exec … pipewright`): its entry imports every
# command statically, so `--help` loads its whole module graph.
if ! (cd "$APP" && env -i PATH="$PATH" HOME="$HOME" NODE_ENV=production node packages/cli/dist/bin/pipewright.js --help </dev/null >"$LOGS/cli.log" 2>&1); then
  tail -n "$LOG_TAIL_LINES" "$LOGS/cli.log" >&2
  fail "the CLI (packages/cli/dist/bin/pipewright.js --help) does not run from the production install"
fi
log "cli runs (pipewright --help)"

# --- 4. Free ports (held open together, so they are distinct) and a real nats-server.
read -r NATS_PORT SIM_PORT PLANNER_PORT EXECUTOR_PORT BUDGET_PORT APPROVER_PORT APPROVER_API_PORT CONSOLE_PORT CONSOLE_API_PORT < <(node -e '
  const net = require("node:net");
  const servers = Array.from({ length: 9 }, () => net.createServer());
  Promise.all(servers.map((s) => new Promise((ok) => s.listen(0, "127.0.0.1", ok)))).then(() => {
    console.log(servers.map((s) => s.address().port).join(" "));
    for (const s of servers) s.close();
  });')

# start NAME CMD...: runs CMD from the installed folder with only the environment given here (no
# NODE_PATH or NODE_OPTIONS from this shell can make a missing package resolve), logging to a file.
start() {
  local name="$1"
  shift
  (cd "$APP" && exec env -i PATH="$PATH" HOME="$HOME" NODE_ENV=production "$@" </dev/null >"$LOGS/$name.log" 2>&1) &
  PID[$name]=$!
}

start nats-server "$NATS_SERVER" -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$WORK/nats"
deadline=$((SECONDS + TIMEOUT_S))
until (exec 3<>"/dev/tcp/127.0.0.1/$NATS_PORT") 2>/dev/null; do
  kill -0 "${PID[nats-server]}" 2>/dev/null || { tail -n "$LOG_TAIL_LINES" "$LOGS/nats-server.log" >&2; fail "nats-server exited"; }
  [ "$SECONDS" -lt "$deadline" ] || fail "nats-server did not listen on $NATS_PORT within ${TIMEOUT_S}s"
  sleep 0.1
done

# --- 5. The simulator and the five services, each from the installed folder.
COMMON=(NATS_URL="nats://127.0.0.1:$NATS_PORT" PW_HTTP_HOST=127.0.0.1 PW_SHUTDOWN_GRACE_MS=2000 PW_LOG_LEVEL=info)
start llm-sim node packages/llm-sim/dist/bin/llm-sim.js --port "$SIM_PORT" --host 127.0.0.1
start planner "${COMMON[@]}" PW_HTTP_PORT="$PLANNER_PORT" node services/planner/dist/main.js
start executor "${COMMON[@]}" PW_HTTP_PORT="$EXECUTOR_PORT" OPENAI_BASE_URL="http://127.0.0.1:$SIM_PORT/v1" OPENAI_API_KEY=sim \
  node services/executor/dist/main.js
start budget "${COMMON[@]}" PW_HTTP_PORT="$BUDGET_PORT" PW_BUDGET_CONFIG_JSON='{"prices":{"*":{"input":1,"output":4}}}' \
  node services/budget/dist/main.js
start approver "${COMMON[@]}" PW_HTTP_PORT="$APPROVER_PORT" PW_APPROVER_PORT="$APPROVER_API_PORT" PW_APPROVER_HOST=127.0.0.1 \
  PW_APPROVER_TOKENS="ci:$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')" node services/approver/dist/main.js
start console "${COMMON[@]}" PW_HTTP_PORT="$CONSOLE_PORT" PW_CONSOLE_PORT="$CONSOLE_API_PORT" PW_CONSOLE_HOST=127.0.0.1 \
  PW_CONSOLE_TOKENS="ci:read:$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')" node services/console/dist/main.js

# The simulator has no /readyz: it is ready when it serves, and /healthz is what it serves first.
declare -A READY_URL=(
  [llm-sim]="http://127.0.0.1:$SIM_PORT/healthz"
  [planner]="http://127.0.0.1:$PLANNER_PORT/readyz"
  [executor]="http://127.0.0.1:$EXECUTOR_PORT/readyz"
  [budget]="http://127.0.0.1:$BUDGET_PORT/readyz"
  [approver]="http://127.0.0.1:$APPROVER_PORT/readyz"
  [console]="http://127.0.0.1:$CONSOLE_PORT/readyz"
)
declare -A STATUS=()
pending=("${!READY_URL[@]}")
failed=()
while [ "${#pending[@]}" -gt 0 ] && [ "$SECONDS" -lt "$deadline" ]; do
  still=()
  for name in "${pending[@]}"; do
    code="$(curl -s -o /dev/null -m 2 -w '%{http_code}' "${READY_URL[$name]}" || true)"
    if [ "$code" = 200 ]; then
      log "$name ready (${READY_URL[$name]} -> 200)"
    elif ! kill -0 "${PID[$name]}" 2>/dev/null; then
      wait "${PID[$name]}" 2>/dev/null && rc=0 || rc=$?
      STATUS[$name]="exited with status $rc before it was ready"
      failed+=("$name")
    else
      STATUS[$name]="not ready (last answer: $([ "${code:-000}" = 000 ] && echo 'no connection' || echo "HTTP $code"))"
      still+=("$name")
    fi
  done
  pending=("${still[@]+"${still[@]}"}")
  [ "${#pending[@]}" -eq 0 ] || sleep 0.25
done
for name in "${pending[@]+"${pending[@]}"}"; do
  STATUS[$name]="${STATUS[$name]:-not ready}, still not ready after ${TIMEOUT_S}s"
  failed+=("$name")
done

if [ "${#failed[@]}" -gt 0 ]; then
  for name in "${failed[@]}"; do
    printf '\n--- %s: %s; last %s lines of its output:\n' "$name" "${STATUS[$name]}" "$LOG_TAIL_LINES" >&2
    tail -n "$LOG_TAIL_LINES" "$LOGS/$name.log" >&2
  done
  fail "${failed[*]} did not become ready from the production install (a process that exits at start-up with ERR_MODULE_NOT_FOUND imports a package its package.json does not list under dependencies)"
fi
log "OK: planner, executor, budget, approver, console, llm-sim and the CLI start from a production-only install"
