// Every environment variable that @pipewright/devstack reads, in one place. Values are read at call
// time (not at import) so that a test or a launcher may set them first. Empty means unset; a value
// that cannot mean anything is an error, not a silent default.
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

/** The server and tool binaries that devstack can find, start or ask `scripts/ensure-servers.sh` for. */
export type BinaryName = 'nats-server' | 'nats' | 'ferretdb' | 'jaeger';

/** The variable that points straight at a binary, bypassing the binaries folder and PATH. */
export const BINARY_OVERRIDE_VARS: Readonly<Record<BinaryName, string>> = {
  'nats-server': 'PW_NATS_SERVER',
  nats: 'PW_NATS_CLI',
  ferretdb: 'PW_FERRETDB',
  jaeger: 'PW_JAEGER',
};

/** What a child process started with `inheritEnv` gets from this process: its whole environment. */
export function parentEnv(): NodeJS.ProcessEnv {
  return process.env;
}

function readVar(name: string): string | undefined {
  const value = process.env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** The binaries folder: `PW_BIN_DIR`, else `$HOME/.cache/pipewright/bin`. */
export function binDir(): string {
  return readVar('PW_BIN_DIR') ?? join(homedir(), '.cache', 'pipewright', 'bin');
}

/** The explicit path given for a binary (`PW_NATS_SERVER`, `PW_NATS_CLI`, `PW_FERRETDB`, `PW_JAEGER`). */
export function binaryOverride(name: BinaryName): string | undefined {
  return readVar(BINARY_OVERRIDE_VARS[name]);
}

/** The folders of `PATH`, in order. */
export function searchPath(): string[] {
  return (readVar('PATH') ?? '').split(delimiter).filter((dir) => dir !== '');
}

/**
 * `PW_DEVSTACK_ECHO=1` prints every line of every started process to stderr, prefixed with its name
 * (for debugging a failing test without changing it). Accepts 1/0/true/false.
 */
export function echoAllOutput(): boolean {
  const value = readVar('PW_DEVSTACK_ECHO')?.toLowerCase();
  if (value === undefined || value === '0' || value === 'false') return false;
  if (value === '1' || value === 'true') return true;
  throw new Error(`PW_DEVSTACK_ECHO must be 1, 0, true or false, not ${JSON.stringify(value)}`);
}
