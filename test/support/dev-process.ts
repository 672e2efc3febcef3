import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { nkeyAuthenticator, type NodeConnectionOptions } from '@nats-io/transport-node';
import { REPO_ROOT } from '@pipewright/cli';
import { startProcess, type ProcessHandle } from '@pipewright/devstack';

const exec = promisify(execFile);
export const CLI = `${REPO_ROOT}packages/cli/dist/bin/pipewright.js`;

/** What `pipewright dev` printed for the other shell. */
export interface DevBanner {
  natsUrl: string;
  clientSeedFile: string;
  adminSeedFile: string;
  approverUrl: string;
  approverToken: string;
  consoleUrl: string;
  consoleToken: string;
  simConfig: string;
}

function field(output: string, pattern: RegExp, what: string): string {
  const m = pattern.exec(output);
  if (!m?.[1]) throw new Error(`pipewright dev printed no ${what}:\n${output}`);
  return m[1];
}

/**
 * `pipewright dev` as a user runs it: its own process, with only PATH and HOME from this one plus
 * `env` (the user's shell), its banner read for what another shell needs.
 */
export class DevProcess {
  private constructor(
    readonly proc: ProcessHandle,
    readonly banner: DevBanner,
  ) {}

  static async start(env: Record<string, string> = {}, args: readonly string[] = []): Promise<DevProcess> {
    const proc = await startProcess({
      name: 'pipewright-dev',
      command: process.execPath,
      args: [CLI, 'dev', ...args],
      inheritEnv: false,
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
      cwd: REPO_ROOT,
      readyPattern: /approval inbox: /,
      readyTimeoutMs: 180_000, // the whole stack: nats-server, the simulator and five processes on a loaded 2-core machine
    });
    const out = proc.output();
    return new DevProcess(proc, {
      natsUrl: field(out, /export NATS_URL=(\S+)/, 'NATS_URL'),
      clientSeedFile: field(out, /NATS_NKEY_SEED_FILE=(\S+client\.nk)/, 'client seed file'),
      adminSeedFile: field(out, /NATS_NKEY_SEED_FILE=(\S+admin\.nk)/, 'admin seed file'),
      approverUrl: field(out, /PW_APPROVER_URL=(\S+)/, 'approver URL'),
      approverToken: field(out, /PW_APPROVER_TOKEN=(\S+)/, 'approver token'),
      consoleUrl: field(out, /PW_CONSOLE_URL=(\S+)/, 'console URL'),
      consoleToken: field(out, /PW_CONSOLE_TOKEN=(\S+)/, 'console token'),
      simConfig: field(out, /simulator configuration: (.+)/, 'simulator configuration'),
    });
  }

  /** How a test connects as an operator (admin: every subject). */
  adminOptions(): NodeConnectionOptions {
    return { servers: this.banner.natsUrl, authenticator: nkeyAuthenticator(new TextEncoder().encode(readFileSync(this.banner.adminSeedFile, 'utf8').trim())) };
  }

  /** Runs `pipewright <args>` in another shell, set up as the banner says. */
  cli(...args: string[]): Promise<{ stdout: string; stderr: string }> {
    const b = this.banner;
    const env = { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', NATS_URL: b.natsUrl, NATS_NKEY_SEED_FILE: b.clientSeedFile, PW_APPROVER_URL: b.approverUrl, PW_APPROVER_TOKEN: b.approverToken, PW_CONSOLE_URL: b.consoleUrl, PW_CONSOLE_TOKEN: b.consoleToken };
    return exec(process.execPath, [CLI, ...args], { env, cwd: REPO_ROOT, timeout: 60_000 });
  }

  /** Calls the approver's HTTP API with the dev token. */
  async api(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await fetch(`${this.banner.approverUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.banner.approverToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(10_000),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }

  /** Ctrl-C: the stack stops its processes, then the command exits. */
  async stop(): Promise<void> {
    await this.proc.stop(60_000);
  }
}
