// A started child process with captured output, a readiness wait, and a bounded stop. The servers
// (nats-server, FerretDB, Jaeger) and the Pipewright services in tests and the demo all run as one.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { trackChild } from './children.js';
import { echoAllOutput, parentEnv } from './config.js';
import { ProcessExitedError, WaitTimeoutError, lastOutput } from './errors.js';
import { DEFAULT_KEPT_LINES, LineBuffer, matches, readLines } from './line-buffer.js';
import { awaitReadiness } from './readiness.js';
import type { LineSource, ReadinessOptions } from './readiness.js';
import { portLookup } from './reported-ports.js';
import { settleWithin } from './wait.js';

/** How long `startProcess` waits for readiness by default. */
export const DEFAULT_READY_TIMEOUT_MS = 30_000;
/** How long `stop()` waits after SIGTERM before it sends SIGKILL, by default. */
export const DEFAULT_STOP_GRACE_MS = 10_000;
/** How long to wait for the exit after SIGKILL before giving up (a process stuck in the kernel). */
export const KILL_WAIT_MS = 5_000;
/** After the exit, how long to wait for the last output (stdio closes) before resolving `exited`. */
const OUTPUT_DRAIN_MS = 500;
/** How many output lines an error message shows. */
const ERROR_OUTPUT_LINES = 40;
export interface StartProcessOptions extends ReadinessOptions {
  /** A short name for messages, errors and the `[name]` echo prefix. */
  name: string;
  /** The executable (a path, or a name looked up on PATH). Run directly, without a shell. */
  command: string;
  args: string[];
  /** Variables added to (and overriding) the parent's environment; with `inheritEnv: false`, the whole environment. */
  env?: Record<string, string>;
  /**
   * Start from the parent's environment (`process.env`) and apply `env` on top. False: the child
   * gets only `env` (pass PATH, HOME… yourself), so no stray variable of the parent leaks in.
   * @default true
   */
  inheritEnv?: boolean;
  cwd?: string;
  /** How long to wait for all the given readiness conditions. @default 30_000 */
  readyTimeoutMs?: number;
  /** Also append every output line to this file. */
  logFile?: string;
  /** Also print every output line to stderr, prefixed with `[name]` (or set PW_DEVSTACK_ECHO=1). */
  echo?: boolean;
}

export interface ProcessHandle {
  readonly name: string;
  readonly pid: number;
  /** Resolves with the exit code (null when a signal ended the process). Never rejects. */
  readonly exited: Promise<number | null>;
  /** The last ~200 lines of combined stdout and stderr. */
  output(): string;
  /**
   * Resolves with the first line, among those still kept and those to come, that matches. Rejects
   * when the process exits first or after `timeoutMs`.
   */
  waitForOutput(pattern: RegExp, timeoutMs: number): Promise<string>;
  /** A port the process reported (see `reportedPorts`); throws for a name it was not asked to report. */
  port(name: string): number;
  /** SIGTERM, wait up to `graceMs` (default 10 s), then SIGKILL and wait for the exit. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL now and wait for the exit. */
  kill(): Promise<void>;
}

interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * Starts a process and waits until it is ready (every given condition holds). When it exits before
 * it is ready, rejects with a ProcessExitedError (exit code and last output); when readiness times
 * out, kills it and rejects with a WaitTimeoutError that shows its last output. Without any readiness
 * condition it resolves as soon as the process has been spawned.
 *
 * The child is tracked and SIGKILLed if the parent process exits first (see children.ts).
 */
export async function startProcess(opts: StartProcessOptions): Promise<ProcessHandle> {
  const echo = opts.echo === true || echoAllOutput();
  const child = spawn(opts.command, opts.args, {
    cwd: opts.cwd,
    env: opts.inheritEnv === false ? { ...opts.env } : { ...parentEnv(), ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Listen to output and exit before anything else can happen.
  const running = new RunningProcess(opts, child, echo);
  await spawned(child, opts);
  trackChild(child);
  try {
    await running.waitReady(opts);
  } catch (err) {
    await running.kill().catch(() => undefined);
    throw err;
  }
  return running;
}

function spawned(child: ChildProcess, opts: StartProcessOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', (err) => reject(new Error(`could not start ${opts.name} (${opts.command}): ${err.message}`, { cause: err })));
  });
}

class RunningProcess implements ProcessHandle, LineSource {
  readonly name: string;
  readonly exited: Promise<number | null>;
  private readonly lines = new LineBuffer(DEFAULT_KEPT_LINES);
  private readonly lineListeners = new Set<(line: string) => void>();
  private readonly ports = new Map<string, number>();
  private readonly log: WriteStream | undefined;
  private exitInfo: ExitInfo | undefined;

  constructor(
    opts: StartProcessOptions,
    private readonly child: ChildProcess,
    private readonly echo: boolean,
  ) {
    this.name = opts.name;
    this.log = opts.logFile === undefined ? undefined : createWriteStream(opts.logFile, { flags: 'a' });
    // A failing log file must not crash the parent: report it once in the kept output instead.
    this.log?.once('error', (err) => this.lines.push(`[devstack] cannot write ${opts.logFile}: ${err.message}`));
    // Later 'error' events (a failed kill) must not become uncaught exceptions.
    child.on('error', (err) => this.lines.push(`[devstack] ${err.message}`));
    const stdoutDone = readLines(child.stdout, (line) => this.onLine(line));
    const stderrDone = readLines(child.stderr, (line) => this.onLine(line));
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        // Let the last output arrive, but do not wait for pipes that a grandchild may hold open.
        void settleWithin(Promise.all([stdoutDone, stderrDone]), OUTPUT_DRAIN_MS).finally(() => {
          this.log?.end();
          resolve(code);
        });
      });
    });
  }

  /** The process id (-1 only if spawning failed, in which case no handle is ever returned). */
  get pid(): number {
    return this.child.pid ?? -1;
  }

  output(): string {
    return this.lines.text();
  }

  waitForOutput(pattern: RegExp, timeoutMs: number): Promise<string> {
    return this.waitForLine((line) => (matches(pattern, line) ? line : undefined), `a line matching ${String(pattern)}`, timeoutMs);
  }

  port(name: string): number {
    return portLookup(this.ports, this.name)(name);
  }

  /** Resolves with what `read` makes of the first line, kept or to come, that it accepts. */
  waitForLine<T>(read: (line: string) => T | undefined, what: string, timeoutMs: number): Promise<T> {
    const kept = this.lines.first(read);
    if (kept !== undefined) return Promise.resolve(kept);
    return new Promise((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        this.lineListeners.delete(onLine);
      };
      const onLine = (line: string): void => {
        const value = read(line);
        if (value === undefined) return;
        cleanup();
        resolve(value);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new WaitTimeoutError(`${what} from ${this.name}`, timeoutMs, { details: this.lastOutput() }));
      }, timeoutMs);
      this.lineListeners.add(onLine);
      void this.exited.then(() => {
        if (!this.lineListeners.has(onLine)) return;
        cleanup();
        reject(this.exitedError(`before printing ${what}`));
      });
    });
  }

  async stop(graceMs: number = DEFAULT_STOP_GRACE_MS): Promise<void> {
    if (this.exitInfo !== undefined) {
      await this.exited;
      return;
    }
    this.signal('SIGTERM');
    const outcome = await settleWithin(this.exited, graceMs);
    if (!outcome.settled) await this.kill();
  }

  async kill(): Promise<void> {
    if (this.exitInfo === undefined) this.signal('SIGKILL');
    const outcome = await settleWithin(this.exited, KILL_WAIT_MS);
    if (!outcome.settled) throw new WaitTimeoutError(`${this.name} (pid ${this.pid}) to exit after SIGKILL`, KILL_WAIT_MS);
  }

  /** Waits until every readiness condition holds; rejects early when the process exits. */
  async waitReady(opts: StartProcessOptions): Promise<void> {
    const timeoutMs = opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
    const aborter = new AbortController();
    const { conditions, done } = awaitReadiness(opts, this, this.ports, timeoutMs, aborter.signal);
    if (conditions.length === 0) return;
    const died = this.exited.then((): never => {
      throw this.exitedError('before it was ready');
    });
    try {
      await Promise.race([done, died]);
    } catch (err) {
      if (this.exitInfo !== undefined) throw this.exitedError('before it was ready');
      if (err instanceof ProcessExitedError) throw err;
      if (err instanceof WaitTimeoutError) {
        throw new WaitTimeoutError(`${this.name} to be ready (${conditions.join(' and ')})`, timeoutMs, {
          cause: err,
          details: this.lastOutput(),
        });
      }
      throw err;
    } finally {
      aborter.abort(new Error(`${this.name}: readiness wait ended`));
      died.catch(() => undefined);
    }
  }

  private onLine(line: string): void {
    this.lines.push(line);
    this.log?.write(`${line}\n`);
    if (this.echo) process.stderr.write(`[${this.name}] ${line}\n`);
    for (const listener of this.lineListeners) listener(line);
  }

  private signal(signal: NodeJS.Signals): void {
    try {
      this.child.kill(signal);
    } catch {
      // It exited in between: `exited` settles on its own.
    }
  }

  private lastOutput(): string {
    return lastOutput(this.name, this.lines.text(ERROR_OUTPUT_LINES));
  }

  private exitedError(when: string): ProcessExitedError {
    const info = this.exitInfo ?? { code: null, signal: null };
    return new ProcessExitedError(this.name, info.code, info.signal, when, this.lines.text(ERROR_OUTPUT_LINES));
  }
}
