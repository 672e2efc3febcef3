// A real nats-server with JetStream on loopback ports and a temporary store, for tests, the demo and
// benchmarks. It binds ports of the kernel's choosing (`-p -1 -m -1`) and reports them in a ports file,
// so no other process can take them between a pick and the bind (issue 10). It can be killed (a crash)
// and restarted on the same client port and store, which is what the crash-recovery tests need.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { requireBinary } from './binaries.js';
import type { NatsBoundPorts } from './nats-ports-file.js';
import { isAddressInUse } from './ports.js';
import { startNatsProcess } from './nats-process.js';
import type { ProcessHandle } from './process.js';
import { makeTempDir, removeDir } from './temp-dir.js';

/** How long to wait for /healthz?js-enabled-only=true to answer 200. */
export const NATS_READY_TIMEOUT_MS = 15_000;
/** How long `stop()` waits after SIGTERM before SIGKILL. */
export const NATS_STOP_GRACE_MS = 10_000;
/** nats-server's RANDOM_PORT: bind a port of the kernel's choosing (`-p -1`, `-m -1`). */
const RANDOM_PORT = -1;

export interface NatsServerOptions {
  /** Client port on 127.0.0.1. @default one the server binds itself (`-p -1`) and reports */
  port?: number;
  /**
   * JetStream store folder (`-sd`). A given folder is never removed. @default a temporary folder,
   * removed by `stop()` unless `keepStore`
   */
  storeDir?: string;
  /** Keep the temporary store folder after `stop()` (to inspect it). @default false */
  keepStore?: boolean;
  /**
   * `jetstream { sync_interval: always }`: fsync every write before acknowledging it, so that a
   * kill -9 loses nothing acknowledged. Slower. @default false (the server's periodic sync)
   */
  syncAlways?: boolean;
  /** `max_payload` in bytes: the largest message the server accepts. @default the server's 1 MiB */
  maxPayload?: number;
  /** Print the server's output to stderr, prefixed with `[nats-server]`. @default false */
  echo?: boolean;
  /**
   * Configuration text appended to the generated config file, e.g. an `authorization { users = [...] }`
   * block (`renderAuthorization` of @pipewright/kit). @default none: no authentication
   */
  extraConfig?: string;
}

export interface NatsServerHandle {
  /** `nats://127.0.0.1:PORT` */
  readonly url: string;
  /** The client port: the one the server first bound; a restart binds it again. */
  readonly port: number;
  /** HTTP monitoring port (`-m`): /varz, /jsz, /healthz. Chosen anew by the server on each restart. */
  readonly monitorPort: number;
  /** The server process's id (a benchmark reads its CPU time from /proc). */
  readonly pid: number;
  /** The JetStream store folder. */
  readonly storeDir: string;
  /** The last ~200 lines of the server's output (its log goes to stderr). */
  output(): string;
  /** SIGTERM, wait for the exit (bounded, then SIGKILL); removes the temporary store unless keepStore. */
  stop(): Promise<void>;
  /** SIGKILL now and wait for the exit; keeps the store (a crash). */
  kill(): Promise<void>;
  /**
   * Start again on the same client port and store and wait until ready; a running server is stopped
   * first. Fails when another process took the port while the server was down.
   */
  restart(): Promise<void>;
}

/**
 * Starts nats-server with `-js -a 127.0.0.1 -p -1 -m -1 -sd STORE --ports_file_dir DIR` (plus a
 * generated config file for `syncAlways` / `maxPayload` / `extraConfig`), reads the ports it bound from its ports file,
 * and waits until `/healthz?js-enabled-only=true` answers 200 (15 s at most). Errors show the server's
 * last output.
 */
export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServerHandle> {
  const binary = requireBinary('nats-server');
  const workDir = await makeTempDir('nats');
  try {
    const storeDir = opts.storeDir ?? join(workDir, 'store');
    const configFile = await writeConfig(workDir, opts);
    const layout: Layout = { binary, workDir, storeDir, configFile, echo: opts.echo === true };
    return new NatsServer(layout, await launch(layout, opts.port ?? RANDOM_PORT, 1), opts);
  } catch (err) {
    await removeDir(workDir);
    throw err;
  }
}

interface Layout {
  binary: string;
  workDir: string;
  storeDir: string;
  configFile: string | undefined;
  echo: boolean;
}

/** One run of the server: the process and the ports it bound. */
interface Run {
  proc: ProcessHandle;
  ports: NatsBoundPorts;
}

/** Starts the server on `port` (RANDOM_PORT: one of its choosing) and waits until it is ready. */
async function launch(layout: Layout, port: number, seq: number): Promise<Run> {
  // A folder per start: a killed server leaves its ports file behind, and the next start must not read it.
  const portsDir = join(layout.workDir, 'ports', String(seq));
  await mkdir(portsDir, { recursive: true });
  const args = ['-js', '-a', '127.0.0.1', '-p', String(port), '-m', String(RANDOM_PORT), '-sd', layout.storeDir, '--ports_file_dir', portsDir];
  if (layout.configFile !== undefined) args.unshift('-c', layout.configFile);
  return startNatsProcess({ name: 'nats-server', binary: layout.binary, args, portsDir, readyTimeoutMs: NATS_READY_TIMEOUT_MS, echo: layout.echo });
}

/** Writes a config file when an option has no command-line flag; command-line flags still win. */
async function writeConfig(workDir: string, opts: NatsServerOptions): Promise<string | undefined> {
  if (opts.syncAlways !== true && opts.maxPayload === undefined && opts.extraConfig === undefined) return undefined;
  const lines = ['# generated by @pipewright/devstack'];
  if (opts.maxPayload !== undefined) {
    if (!Number.isInteger(opts.maxPayload) || opts.maxPayload <= 0) throw new RangeError(`maxPayload must be a positive integer, not ${opts.maxPayload}`);
    lines.push(`max_payload: ${opts.maxPayload}`);
  }
  // The store folder comes from -sd only: the server rejects store_dir given both ways.
  if (opts.syncAlways === true) lines.push('jetstream {', '  sync_interval: always', '}');
  if (opts.extraConfig !== undefined) lines.push(opts.extraConfig);
  lines.push('');
  const file = join(workDir, 'nats-server.conf');
  await writeFile(file, lines.join('\n'));
  return file;
}

class NatsServer implements NatsServerHandle {
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  private removed = false;
  private starts = 1;

  constructor(
    private readonly layout: Layout,
    private run: Run,
    private readonly opts: NatsServerOptions,
  ) {
    this.port = run.ports.client;
    this.storeDir = layout.storeDir;
    this.url = `nats://127.0.0.1:${this.port}`;
  }

  get monitorPort(): number {
    return this.run.ports.monitor;
  }

  get pid(): number {
    return this.run.proc.pid;
  }

  output(): string {
    return this.run.proc.output();
  }

  async stop(): Promise<void> {
    await this.run.proc.stop(NATS_STOP_GRACE_MS);
    if (this.removed) return;
    this.removed = true;
    // The work folder holds the generated config, the ports files and, unless one was given, the store.
    if (this.opts.storeDir !== undefined || this.opts.keepStore !== true) {
      await removeDir(this.layout.workDir);
    } else {
      await removeDir(join(this.layout.workDir, 'ports'));
      if (this.layout.configFile !== undefined) await removeDir(this.layout.configFile);
    }
  }

  async kill(): Promise<void> {
    await this.run.proc.kill();
  }

  async restart(): Promise<void> {
    if (this.removed) throw new Error(`nats-server on port ${this.port} was stopped and its temporary files removed; it cannot restart`);
    await this.run.proc.stop(NATS_STOP_GRACE_MS);
    try {
      // The same client port, so that clients reconnect to the address they know.
      this.run = await launch(this.layout, this.port, ++this.starts);
    } catch (err) {
      if (!isAddressInUse(err)) throw err;
      throw new Error(`nats-server cannot restart on port ${this.port}: another process bound it while the server was down\n${err.message}`, { cause: err });
    }
  }
}
