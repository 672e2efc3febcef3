// Where the server binaries are. Order for each name: its override variable (PW_NATS_SERVER,
// PW_NATS_CLI, PW_FERRETDB, PW_JAEGER), then the binaries folder (PW_BIN_DIR, else
// ~/.cache/pipewright/bin), then, for nats-server only, PATH. A nats-server older than 2.10 is never
// picked from the folder or PATH: Debian's 2.9 lacks sync_interval, multiple filter subjects,
// per-message TTL and priority groups, which Pipewright relies on. `scripts/ensure-servers.sh` fills
// the binaries folder by the same rules.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { join } from 'node:path';
import { BINARY_OVERRIDE_VARS, binDir, binaryOverride, searchPath } from './config.js';
import type { BinaryName } from './config.js';
import { BinaryNotFoundError } from './errors.js';

export type { BinaryName } from './config.js';

/** The oldest nats-server accepted from the binaries folder or PATH. */
export const MIN_NATS_SERVER_VERSION = { major: 2, minor: 10 } as const;
/** How long `nats-server --version` may take. */
const VERSION_PROBE_TIMEOUT_MS = 5_000;

const versionCache = new Map<string, boolean>();

/**
 * The path of a binary, or undefined when it is nowhere devstack looks. An override variable that
 * does not point at an executable file is an error (a typo should not silently fall back).
 */
export function findBinary(name: BinaryName): string | undefined {
  const override = binaryOverride(name);
  if (override !== undefined) {
    if (!isExecutableFile(override)) throw new Error(`${BINARY_OVERRIDE_VARS[name]}=${override} is not an executable file`);
    return override;
  }
  const inBinDir = join(binDir(), name);
  if (isExecutableFile(inBinDir) && (name !== 'nats-server' || isRecentNatsServer(inBinDir))) return inBinDir;
  if (name !== 'nats-server') return undefined;
  for (const dir of searchPath()) {
    const candidate = join(dir, name);
    if (isExecutableFile(candidate) && isRecentNatsServer(candidate)) return candidate;
  }
  return undefined;
}

/** Like findBinary, but throws a BinaryNotFoundError that says to run `scripts/ensure-servers.sh <name>`. */
export function requireBinary(name: BinaryName): string {
  const found = findBinary(name);
  if (found !== undefined) return found;
  const places = [`$${BINARY_OVERRIDE_VARS[name]}`, binDir()];
  if (name === 'nats-server') places.push('PATH (version >= 2.10 only)');
  throw new BinaryNotFoundError(name, places.join(', '));
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Whether `<path> --version` reports nats-server 2.10 or newer (cached per path). */
function isRecentNatsServer(path: string): boolean {
  const cached = versionCache.get(path);
  if (cached !== undefined) return cached;
  let recent = false;
  try {
    const out = execFileSync(path, ['--version'], { encoding: 'utf8', timeout: VERSION_PROBE_TIMEOUT_MS, stdio: ['ignore', 'pipe', 'pipe'] });
    const match = /v(\d+)\.(\d+)/.exec(out);
    if (match?.[1] !== undefined && match[2] !== undefined) {
      const major = Number(match[1]);
      const minor = Number(match[2]);
      recent = major > MIN_NATS_SERVER_VERSION.major || (major === MIN_NATS_SERVER_VERSION.major && minor >= MIN_NATS_SERVER_VERSION.minor);
    }
  } catch {
    recent = false;
  }
  versionCache.set(path, recent);
  return recent;
}
