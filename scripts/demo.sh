#!/usr/bin/env bash
# `npm run demo`: set up what is missing, then run an example pipeline through every service on the
# embedded default (NATS KV), against the model simulator. No API key needed.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-node.sh  # Node 24 first on PATH for everything below (installed once if missing)
bash scripts/bootstrap.sh nats-server
exec node packages/cli/dist/bin/pipewright.js demo "$@"
