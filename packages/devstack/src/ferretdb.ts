// FerretDB 1.x on SQLite: a MongoDB wire-protocol server for the MongoDB store's tests, since MongoDB's
// own binaries cannot be installed on these machines. Its data lives in a temporary folder that
// `stop()` removes.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { findBinary, requireBinary } from './binaries.js';
import { canConnect } from './probes.js';
import { startProcess } from './process.js';
import type { ProcessHandle } from './process.js';
import { portFromLine } from './reported-ports.js';
import { makeTempDir, removeDir } from './temp-dir.js';

/** How long to wait for FerretDB's port to accept connections. */
export const FERRETDB_READY_TIMEOUT_MS = 20_000;
/** How long `stop()` waits after SIGTERM before SIGKILL. */
export const FERRETDB_STOP_GRACE_MS = 10_000;
/**
 * FerretDB logs the address its listener bound (`Listening on TCP 127.0.0.1:PORT...`, console format,
 * level info) as soon as it is open, the port of its own choosing when given port 0.
 */
const LISTENING_LINE = /Listening on TCP 127\.0\.0\.1:(\d+)/;

export interface FerretDbOptions {
  /** Port on 127.0.0.1. @default 0: FerretDB binds one of the kernel's choosing and reports it */
  port?: number;
  /** Print FerretDB's output to stderr, prefixed with `[ferretdb]`. @default false */
  echo?: boolean;
}

export interface FerretHandle {
  /** `mongodb://127.0.0.1:PORT/?retryWrites=false&directConnection=true` (FerretDB has no replica set). */
  readonly url: string;
  readonly port: number;
  /** The last ~200 lines of FerretDB's output. */
  output(): string;
  /** SIGTERM, wait (bounded, then SIGKILL), remove the data folder. */
  stop(): Promise<void>;
}

/** Whether a FerretDB binary can be found (see findBinary); tests skip with a reason when not. */
export function ferretDbAvailable(): boolean {
  return findBinary('ferretdb') !== undefined;
}

/**
 * Starts `ferretdb --handler=sqlite` on 127.0.0.1 with its data, state file and nothing else in a
 * temporary folder: telemetry off, the debug HTTP listener off (`--debug-addr=-`). The port is the
 * one FerretDB reports having bound; ready when it accepts a TCP connection.
 */
export async function startFerretDb(opts: FerretDbOptions = {}): Promise<FerretHandle> {
  const binary = requireBinary('ferretdb');
  const workDir = await makeTempDir('ferretdb');
  try {
    const dataDir = join(workDir, 'data');
    await mkdir(dataDir);
    const proc = await startProcess({
      name: 'ferretdb',
      command: binary,
      args: [
        '--handler=sqlite',
        // A directory URI: FerretDB keeps one SQLite file per database in it; the trailing / matters.
        `--sqlite-url=file:${dataDir}/`,
        `--listen-addr=127.0.0.1:${opts.port ?? 0}`,
        // The port is read from an info line in the console format: neither may change under us.
        '--log-level=info',
        '--log-format=console',
        '--telemetry=disable',
        '--debug-addr=-',
        `--state-dir=${workDir}`,
      ],
      cwd: workDir,
      reportedPorts: { mongo: portFromLine(LISTENING_LINE) },
      readyCheck: (port) => canConnect('127.0.0.1', port('mongo')),
      readyTimeoutMs: FERRETDB_READY_TIMEOUT_MS,
      echo: opts.echo === true,
    });
    return new FerretDb(proc.port('mongo'), proc, workDir);
  } catch (err) {
    await removeDir(workDir);
    throw err;
  }
}

class FerretDb implements FerretHandle {
  readonly url: string;
  private removed = false;

  constructor(
    readonly port: number,
    private readonly proc: ProcessHandle,
    private readonly workDir: string,
  ) {
    this.url = `mongodb://127.0.0.1:${port}/?retryWrites=false&directConnection=true`;
  }

  output(): string {
    return this.proc.output();
  }

  async stop(): Promise<void> {
    await this.proc.stop(FERRETDB_STOP_GRACE_MS);
    if (this.removed) return;
    this.removed = true;
    await removeDir(this.workDir);
  }
}
