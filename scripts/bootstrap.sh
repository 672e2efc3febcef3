#!/usr/bin/env bash
# Everything a fresh machine needs before the demo, the tests or a benchmark: pnpm, the workspace's
# dependencies (from the lockfile), the server binaries (built with `go install` once, then reused),
# and a build. Idempotent and non-interactive; safe to run on every invocation.
#   usage: scripts/bootstrap.sh [server ...]     (default servers: nats-server nats)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-node.sh  # Node 24 first on PATH for everything below (installed once if missing)

log() { printf '[bootstrap] %s\n' "$*" >&2; }

if ! command -v pnpm >/dev/null 2>&1; then
  log "installing pnpm@10 (corepack is unreliable here)"
  npm install -g pnpm@10 >/dev/null 2>&1 || true
fi
if command -v pnpm >/dev/null 2>&1; then PNPM=(pnpm); else log "using npx pnpm@10"; PNPM=(npx -y pnpm@10); fi

if [ ! -f node_modules/.modules.yaml ] || [ pnpm-lock.yaml -nt node_modules/.modules.yaml ]; then
  log "installing workspace dependencies"
  CI=true "${PNPM[@]}" install --frozen-lockfile --reporter=append-only >&2
fi

if [ $# -eq 0 ]; then set -- nats-server nats; fi
bash scripts/ensure-servers.sh "$@"

log "building (tsc -b)"
"${PNPM[@]}" exec tsc -b >&2
