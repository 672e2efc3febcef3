#!/usr/bin/env bash
# The whole test run, as CI runs it: set-up, type check and build, lint, JSON Schema freshness, unit
# tests, then integration and end-to-end tests against real servers (nats-server, FerretDB, Jaeger,
# the model simulator, Chromium) started on free ports.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-node.sh  # Node 24 first on PATH for everything below (installed once if missing)
export PW_BIN_DIR="${PW_BIN_DIR:-$HOME/.cache/pipewright/bin}"

bash scripts/bootstrap.sh nats-server nats ferretdb jaeger
# promtool checks the alert rules (test/deploy/observability.test.ts); optional: without it the rules are
# checked by their shape, and the test says so.
bash scripts/ensure-promtool.sh >/dev/null || echo "[test] promtool could not be built; the alert rules will be checked by their shape only" >&2

# The approver's inbox test drives a real browser: Debian's Chromium (Playwright's own download cannot
# work here). Installed when missing and possible; the test says why it skips otherwise.
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "[test] installing chromium from Debian" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || echo "[test] chromium could not be installed; the browser test will skip" >&2
fi

step() { printf '\n=== %s\n' "$*"; }
step "lint"
pnpm exec eslint --max-warnings 0 .
step "deploy/ validates offline (kustomize overlays, Kubernetes and KEDA schemas, Compose loader)"
node scripts/validate-deploy.mjs
step "production install: every service starts with only its declared dependencies"; bash scripts/check-prod-install.sh
step "JSON Schemas are up to date"
node packages/contracts/dist/bin/export-schemas.js --check
node services/console/dist/bin/export-openapi.js --check
mkdir -p .pw
rm -f .pw/unit.json .pw/integration.json
step "unit tests"
pnpm exec vitest run --config vitest.unit.config.ts --reporter=default --reporter=json --outputFile.json=.pw/unit.json
step "integration and end-to-end tests"
pnpm exec vitest run --config vitest.integration.config.ts --reporter=default --reporter=json --outputFile.json=.pw/integration.json
node scripts/test-summary.mjs .pw/unit.json .pw/integration.json
