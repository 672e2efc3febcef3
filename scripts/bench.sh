#!/usr/bin/env bash
# `npm run bench -- <name> [options]`: runs one benchmark, which starts every server and service it
# needs and stops them after. The last line of output is one JSON object with the figures; it is also
# appended to bench/results/<name>.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-node.sh  # Node 24 first on PATH for everything below (installed once if missing)
if [ $# -lt 1 ]; then
  echo "usage: npm run bench -- <name> [options]   (names: $(ls bench/src/*.ts 2>/dev/null | xargs -n1 basename | sed "s/\.ts$//" | grep -v "^run$\|-worker$" | sed "s/-probe$//" | tr '\n' ' '))" >&2
  exit 2
fi
bash scripts/bootstrap.sh nats-server nats ferretdb >/dev/null
exec node bench/dist/run.js "$@"
