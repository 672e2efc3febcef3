# shellcheck shell=bash
# Sourced (not run) by the entry scripts: makes `node` on PATH the Node.js major this project targets
# (24, active LTS), so pnpm, tsc, vitest and every child process run on it. When the `node` already on
# PATH is that major, nothing happens. Otherwise the official binary, which npm publishes as the package
# node-<os>-<arch>, is installed once into a cache folder and reused afterwards.
#   PW_NODE_DIR      cache folder (default ~/.cache/pipewright/node24)
#   PW_NODE_VERSION  exact version installed when one is needed (default below)
# Non-interactive and idempotent; safe with CI=true and no stdin; concurrent first runs are safe (each
# installs into its own temporary folder and the first rename wins).

_pw_ensure_node() {
  local want_major=24
  local version="${PW_NODE_VERSION:-24.22.3}"
  local dir="${PW_NODE_DIR:-$HOME/.cache/pipewright/node24}"
  local current
  current="$(node --version 2>/dev/null || true)"
  case "$current" in "v${want_major}."*) return 0 ;; esac

  local os arch
  case "$(uname -s)" in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    *) echo "[ensure-node] unsupported OS $(uname -s); install Node ${want_major} yourself" >&2; return 1 ;;
  esac
  case "$(uname -m)" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) echo "[ensure-node] unsupported CPU $(uname -m); install Node ${want_major} yourself" >&2; return 1 ;;
  esac
  local pkg="node-${os}-${arch}"
  local bin="$dir/node_modules/$pkg/bin"

  if ! "$bin/node" --version 2>/dev/null | grep -q "^v${want_major}\."; then
    echo "[ensure-node] node on PATH is ${current:-missing}; installing Node ${version} into $dir (once)" >&2
    mkdir -p "$(dirname "$dir")"
    local tmp
    tmp="$(mktemp -d "${dir}.tmp.XXXXXX")"
    if ! npm install --prefix "$tmp" --no-save --no-package-lock --no-audit --no-fund --ignore-scripts \
      --loglevel=error "${pkg}@${version}" </dev/null >&2; then
      rm -rf "$tmp"
      echo "[ensure-node] npm install ${pkg}@${version} failed" >&2
      return 1
    fi
    if ! "$tmp/node_modules/$pkg/bin/node" --version 2>/dev/null | grep -q "^v${want_major}\."; then
      rm -rf "$tmp"
      echo "[ensure-node] the installed ${pkg}@${version} does not run" >&2
      return 1
    fi
    # A stale or broken folder is replaced; if another run finished first, its copy is kept.
    if [ -e "$dir" ] && ! "$bin/node" --version >/dev/null 2>&1; then rm -rf "$dir"; fi
    # (mv -T is GNU; elsewhere a plain mv into a folder that does not exist yet.)
    mv -T "$tmp" "$dir" 2>/dev/null || { [ -e "$dir" ] || mv "$tmp" "$dir"; }
    rm -rf "$tmp"
  fi
  export PATH="$bin:$PATH"
  hash -r
  echo "[ensure-node] using node $(node --version) from $bin" >&2
}

_pw_ensure_node || { echo "[ensure-node] Node ${PW_NODE_VERSION:-24} is required" >&2; exit 1; }
unset -f _pw_ensure_node
