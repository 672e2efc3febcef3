#!/usr/bin/env bash
# Make sure the server binaries that tests, the demo and benchmarks need are in the binaries folder.
#
#   scripts/ensure-servers.sh [nats-server] [nats] [ferretdb] [jaeger]     (default: nats-server nats)
#
# Binaries folder: $PW_BIN_DIR, else $HOME/.cache/pipewright/bin (the same rule as
# @pipewright/devstack's findBinary). For each requested binary, in order:
#   1. an explicit override (PW_NATS_SERVER, PW_NATS_CLI, PW_FERRETDB, PW_JAEGER) that is executable;
#   2. the binary already in the binaries folder;
#   3. nats-server only: one on PATH whose version is >= 2.10 (Debian's 2.9 lacks sync_interval,
#      multiple filter subjects, per-message TTL, ... so it is rejected);
#   4. otherwise build it with `GOBIN=<bindir> go install <module>@<version>` (FerretDB is built from
#      its downloaded module instead; see build_ferretdb for why).
# A missing Go toolchain or a failed build is fatal for nats-server and nats (exit 1); for ferretdb and
# jaeger it is a warning (exit 0): the tests that need them report them as unavailable and skip.
# Idempotent and non-interactive; everything it does is printed to stderr.
set -euo pipefail

BIN_DIR="${PW_BIN_DIR:-${HOME}/.cache/pipewright/bin}"

# A temporary build folder to remove however the script ends.
BUILD_TMP=''
trap 'if [[ -n "$BUILD_TMP" ]]; then rm -rf "$BUILD_TMP"; fi' EXIT

log() { printf 'ensure-servers: %s\n' "$*" >&2; }

module_of() {
  case "$1" in
    nats-server) echo 'github.com/nats-io/nats-server/v2@v2.14.5' ;;
    nats) echo 'github.com/nats-io/natscli/nats@v0.4.0' ;;
    ferretdb) echo 'github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2' ;;
    # Jaeger v2 keeps the module path without /v2: module v1.75.0 is Jaeger 2.12.0 (built by build_jaeger).
    jaeger) echo 'github.com/jaegertracing/jaeger/cmd/jaeger@v1.75.0' ;;
    *) return 1 ;;
  esac
}

override_of() {
  case "$1" in
    nats-server) echo "${PW_NATS_SERVER:-}" ;;
    nats) echo "${PW_NATS_CLI:-}" ;;
    ferretdb) echo "${PW_FERRETDB:-}" ;;
    jaeger) echo "${PW_JAEGER:-}" ;;
  esac
}

# Binaries whose absence is fatal; the others are optional.
is_required() { [[ "$1" == nats-server || "$1" == nats ]]; }

# Prints "MAJOR MINOR" of a nats-server binary, or nothing when it cannot be read.
nats_server_version() {
  local out
  out="$("$1" --version 2>/dev/null || true)"
  if [[ "$out" =~ v([0-9]+)\.([0-9]+) ]]; then
    echo "${BASH_REMATCH[1]} ${BASH_REMATCH[2]}"
  fi
}

nats_server_ok() {
  local v major minor
  v="$(nats_server_version "$1")"
  [[ -n "$v" ]] || return 1
  read -r major minor <<<"$v"
  ((major > 2 || (major == 2 && minor >= 10)))
}

# Reports a failure: fatal for required binaries, a warning for optional ones.
fail() {
  local name="$1"
  shift
  if is_required "$name"; then
    log "ERROR: $name: $*"
    exit 1
  fi
  log "WARNING: $name: $* — tests that need $name will report it as unavailable and skip"
}

ensure() {
  local name="$1" module override candidate
  module="$(module_of "$name")" || {
    log "ERROR: unknown binary '$name' (expected: nats-server, nats, ferretdb, jaeger)"
    exit 2
  }

  override="$(override_of "$name")"
  if [[ -n "$override" ]]; then
    if [[ -x "$override" ]]; then
      log "$name: using override $override"
      return 0
    fi
    log "$name: override $override is not an executable file; ignoring it"
  fi

  candidate="$BIN_DIR/$name"
  if [[ -x "$candidate" ]]; then
    if [[ "$name" != nats-server ]] || nats_server_ok "$candidate"; then
      log "$name: present at $candidate"
      return 0
    fi
    log "$name: $candidate is older than 2.10; rebuilding"
  fi

  if [[ "$name" == nats-server ]]; then
    candidate="$(command -v nats-server || true)"
    if [[ -n "$candidate" ]]; then
      if nats_server_ok "$candidate"; then
        log "nats-server: using $candidate from PATH ($("$candidate" --version 2>/dev/null))"
        return 0
      fi
      log "nats-server: ignoring $candidate on PATH ($("$candidate" --version 2>/dev/null || echo 'unknown version'); need >= 2.10)"
    fi
  fi

  if ! command -v go >/dev/null 2>&1; then
    fail "$name" "not found and Go is not installed, so it cannot be built (need: go install $module)"
    return 0
  fi

  mkdir -p "$BIN_DIR"
  if [[ "$name" == ferretdb ]]; then
    build_ferretdb
    return 0
  fi
  if [[ "$name" == jaeger ]]; then
    build_jaeger
    return 0
  fi
  log "$name: building with GOBIN=$BIN_DIR go install $module (the first build can take minutes)"
  if GOBIN="$BIN_DIR" go install "$module" >&2; then
    if [[ -x "$BIN_DIR/$name" ]]; then
      log "$name: built $BIN_DIR/$name"
    else
      fail "$name" "go install succeeded but $BIN_DIR/$name is missing"
    fi
  else
    fail "$name" "go install $module failed"
  fi
}

# FerretDB cannot simply be `go install`ed: its build embeds build/version/version.txt, which the module
# zip lacks (FerretDB's release tooling generates it), and a binary built without it panics at start-up
# ("Invalid build/version/version.txt file content"). `go install` may also fail on the module proxy's
# deprecation lookup. So: download the module (go mod download), copy its source to a temporary folder,
# write version.txt, and `go build` the command from inside the module (same go.mod and go.sum).
FERRETDB_MODULE='github.com/FerretDB/FerretDB'
FERRETDB_VERSION='v1.24.2'
build_ferretdb() {
  local src tmp
  log "ferretdb: go mod download $FERRETDB_MODULE@$FERRETDB_VERSION"
  if ! src="$(cd / && go mod download -json "$FERRETDB_MODULE@$FERRETDB_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')" || [[ -z "$src" || ! -d "$src" ]]; then
    fail ferretdb "go mod download $FERRETDB_MODULE@$FERRETDB_VERSION failed"
    return 0
  fi
  tmp="$(mktemp -d "${TMPDIR:-/tmp}/pw-ferretdb-build.XXXXXX")"
  BUILD_TMP="$tmp"
  cp -R "$src" "$tmp/src"
  chmod -R u+w "$tmp/src"
  printf '%s\n' "$FERRETDB_VERSION" >"$tmp/src/build/version/version.txt"
  log "ferretdb: building $FERRETDB_MODULE/cmd/ferretdb $FERRETDB_VERSION from $src (the first build can take minutes)"
  if (cd "$tmp/src" && go build -trimpath -o "$BIN_DIR/ferretdb.partial" ./cmd/ferretdb >&2) &&
    "$BIN_DIR/ferretdb.partial" --version >/dev/null 2>&1; then
    mv -f "$BIN_DIR/ferretdb.partial" "$BIN_DIR/ferretdb"
    log "ferretdb: built $BIN_DIR/ferretdb"
  else
    rm -f "$BIN_DIR/ferretdb.partial"
    fail ferretdb "building $FERRETDB_MODULE/cmd/ferretdb@$FERRETDB_VERSION failed"
  fi
  rm -rf "$tmp"
  BUILD_TMP=''
}

# Jaeger cannot be `go install`ed: its go.mod has a replace directive, and the module proxy refuses the
# v2 release commits. What works: a throwaway module that requires it as a tool (`go get -tool`), then
# `go build` of the command from there. v1.75.0 is Jaeger 2.12.0, the version the images pin.
JAEGER_MODULE='github.com/jaegertracing/jaeger'
JAEGER_VERSION='v1.75.0'
build_jaeger() {
  local tmp
  tmp="$(mktemp -d "${TMPDIR:-/tmp}/pw-jaeger-build.XXXXXX")"
  BUILD_TMP="$tmp"
  log "jaeger: building $JAEGER_MODULE/cmd/jaeger@$JAEGER_VERSION (Jaeger 2.12.0) in a temporary module (the first build can take many minutes)"
  if (cd "$tmp" && go mod init pw-jaeger-build >&2 && go get -tool "$JAEGER_MODULE/cmd/jaeger@$JAEGER_VERSION" >&2 &&
    go build -o "$BIN_DIR/jaeger.partial" "$JAEGER_MODULE/cmd/jaeger" >&2) && [[ -x "$BIN_DIR/jaeger.partial" ]]; then
    mv -f "$BIN_DIR/jaeger.partial" "$BIN_DIR/jaeger"
    log "jaeger: built $BIN_DIR/jaeger"
  else
    rm -f "$BIN_DIR/jaeger.partial"
    fail jaeger "building $JAEGER_MODULE/cmd/jaeger@$JAEGER_VERSION failed"
  fi
  rm -rf "$tmp"
  BUILD_TMP=''
}

main() {
  local names=("$@")
  if ((${#names[@]} == 0)); then
    names=(nats-server nats)
  fi
  log "binaries folder: $BIN_DIR"
  local name
  for name in "${names[@]}"; do
    ensure "$name"
  done
}

main "$@"
