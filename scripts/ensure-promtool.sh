#!/usr/bin/env bash
# Make sure promtool (Prometheus's rule checker) is in the binaries folder, for the check of
# deploy/observability/prometheus-rules.yaml (test/deploy/observability.test.ts).
#
#   scripts/ensure-promtool.sh        prints the binary's path on stdout; exit 1 when it cannot be had
#
# Binaries folder: $PW_BIN_DIR, else $HOME/.cache/pipewright/bin (as scripts/ensure-servers.sh). In
# order: $PW_PROMTOOL when executable; the binary already in the folder; otherwise
# `GOBIN=<bindir> go install github.com/prometheus/prometheus/cmd/promtool@<version>` (Prometheus 3.x
# modules are tagged v0.3xx.y; the first build takes several minutes, later ones come from the Go cache).
# PW_PROMTOOL_BUILD=0 only looks (the test does; scripts/test.sh builds it before the tests).
# Everything it does is printed to stderr.
set -euo pipefail

BIN_DIR="${PW_BIN_DIR:-${HOME}/.cache/pipewright/bin}"
MODULE='github.com/prometheus/prometheus/cmd/promtool@v0.316.0'

log() { printf 'ensure-promtool: %s\n' "$*" >&2; }

if [[ -n "${PW_PROMTOOL:-}" && -x "${PW_PROMTOOL}" ]]; then
  echo "${PW_PROMTOOL}"
  exit 0
fi
if [[ -x "${BIN_DIR}/promtool" ]]; then
  echo "${BIN_DIR}/promtool"
  exit 0
fi
if [[ "${PW_PROMTOOL_BUILD:-1}" == 0 ]]; then
  log "promtool is not in ${BIN_DIR} (PW_PROMTOOL_BUILD=0: not building it)"
  exit 1
fi
if ! command -v go >/dev/null 2>&1; then
  log 'no Go toolchain: cannot build promtool'
  exit 1
fi
mkdir -p "${BIN_DIR}"
log "building ${MODULE} into ${BIN_DIR} (minutes the first time)"
if ! (cd /tmp && GOBIN="${BIN_DIR}" go install "${MODULE}") >&2; then
  log "go install ${MODULE} failed"
  exit 1
fi
echo "${BIN_DIR}/promtool"
