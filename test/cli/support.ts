import { spawn } from 'node:child_process';
import { ConsoleClient, REPO_ROOT, type LocalStack } from '@pipewright/cli';
import type { RunStatus, RunSummary } from '@pipewright/contracts';
import { waitFor } from '@pipewright/devstack';

export const CLI = `${REPO_ROOT}packages/cli/dist/bin/pipewright.js`;
/** A CLI process that has not ended after this long is killed: every command here ends on its own far sooner. */
const PROCESS_LIMIT_MS = 90_000;

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Runs the built CLI as a user does: its own process, stdout and stderr pipes (not a terminal), and an
 * environment of only what is given (no NATS_URL, NO_COLOR or FORCE_COLOR from the test runner).
 */
export function pipewright(args: readonly string[], env: Readonly<Record<string, string>>): Promise<CliRun> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const limit = setTimeout(() => child.kill('SIGKILL'), PROCESS_LIMIT_MS);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(limit);
      if (signal) return reject(new Error(`pipewright ${args.join(' ')} was killed (${signal}) after ${Date.now() - started} ms`));
      resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), ms: Date.now() - started });
    });
  });
}

/** What a user of the stack exports: the client's bus identity, the console and its token. */
export function userEnv(stack: LocalStack, token = stack.consoleToken): Record<string, string> {
  return { ...stack.clientEnv('client'), PW_CONSOLE_URL: stack.consoleUrl ?? '', PW_CONSOLE_TOKEN: token ?? '' };
}

export function consoleOf(stack: LocalStack): ConsoleClient {
  return new ConsoleClient({ PW_CONSOLE_URL: stack.consoleUrl, PW_CONSOLE_TOKEN: stack.consoleToken });
}

/** Waits (bounded) until the console lists every one of `runIds` in one of `statuses`. */
export async function listedAs(stack: LocalStack, runIds: readonly string[], statuses: readonly RunStatus[], timeoutMs = 60_000): Promise<RunSummary[]> {
  const client = consoleOf(stack);
  return waitFor(
    `runs ${runIds.join(', ')} listed as ${statuses.join('|')}`,
    async () => {
      const found = await Promise.all(runIds.map(async (id) => (await client.get(id).catch(() => undefined)) ?? undefined));
      return found.every((r) => r !== undefined && statuses.includes(r.status)) ? (found as RunSummary[]) : undefined;
    },
    { timeoutMs },
  );
}

// eslint-disable-next-line no-control-regex -- looking for escape codes is the point
export const ANSI = /\u001b\[/;

