// What "ready" means for a started process, as waits that share one deadline. Reported ports are read
// first: a readiness URL or check usually needs one of them (a server given port 0).
import { matches } from './line-buffer.js';
import { httpGet } from './probes.js';
import { portLookup } from './reported-ports.js';
import type { PortLookup, PortReader } from './reported-ports.js';
import { waitFor } from './wait.js';

/** Pause between two readiness polls of `readyUrl` / `readyCheck`. */
const READY_POLL_MS = 100;

export interface ReadinessOptions {
  /** Ready when an output line (stdout or stderr) matches. */
  readyPattern?: RegExp;
  /**
   * Ports the process binds itself (it was given port 0) and reports in its output, by name: each is
   * read from the first output line its reader accepts (`portFromLine`, `portFromJsonLog`). Readiness
   * waits for all of them; the handle's `port(name)` returns them, and `readyUrl` / `readyCheck` may
   * use them.
   */
  reportedPorts?: Readonly<Record<string, PortReader>>;
  /** Ready when a GET of this URL answers 200 (polled). A function is called once the ports are read. */
  readyUrl?: string | ((port: PortLookup) => string);
  /** Ready when this resolves true (polled once the ports are read; a throw counts as "not yet"). */
  readyCheck?: (port: PortLookup) => Promise<boolean>;
}

/** What the readiness wait needs of a running process. */
export interface LineSource {
  readonly name: string;
  /** Resolves with what `read` makes of the first line, kept or to come, that it accepts. */
  waitForLine<T>(read: (line: string) => T | undefined, what: string, timeoutMs: number): Promise<T>;
}

export interface Readiness {
  /** The conditions in words, for a timeout error; a URL built from a port is filled in once known. */
  readonly conditions: string[];
  /** Resolves when every condition holds; rejects with the first that failed or timed out. */
  readonly done: Promise<void>;
}

/** Starts waiting for every condition in `opts`; the ports read go into `ports`. */
export function awaitReadiness(
  opts: ReadinessOptions,
  source: LineSource,
  ports: Map<string, number>,
  timeoutMs: number,
  signal: AbortSignal,
): Readiness {
  const deadline = Date.now() + timeoutMs;
  const lookup = portLookup(ports, source.name);
  const conditions: string[] = [];
  const readers = Object.entries(opts.reportedPorts ?? {});
  if (readers.length > 0) conditions.push(`the line reporting its ${readers.map(([name]) => name).join(', ')} port`);
  const portsRead = Promise.all(
    readers.map(async ([name, read]) => {
      ports.set(name, await source.waitForLine(read, `the line reporting its ${name} port`, timeoutMs));
    }),
  );
  const poll = (what: string, fn: () => Promise<boolean>): Promise<true> =>
    waitFor(what, async () => ((await fn()) ? true : undefined), { timeoutMs: Math.max(deadline - Date.now(), 1), intervalMs: READY_POLL_MS, signal });
  const waits: Promise<unknown>[] = [portsRead];
  if (opts.readyPattern !== undefined) {
    const pattern = opts.readyPattern;
    conditions.push(`an output line matching ${String(pattern)}`);
    waits.push(source.waitForLine((line) => (matches(pattern, line) ? line : undefined), `a line matching ${String(pattern)}`, timeoutMs));
  }
  if (opts.readyUrl !== undefined) {
    const readyUrl = opts.readyUrl;
    const at = conditions.push(typeof readyUrl === 'string' ? `HTTP 200 from ${readyUrl}` : 'HTTP 200 from its readiness URL') - 1;
    waits.push(
      portsRead.then(() => {
        const url = typeof readyUrl === 'string' ? readyUrl : readyUrl(lookup);
        conditions[at] = `HTTP 200 from ${url}`;
        return poll(`HTTP 200 from ${url}`, async () => (await httpGet(url)).status === 200);
      }),
    );
  }
  if (opts.readyCheck !== undefined) {
    const check = opts.readyCheck;
    conditions.push('its readiness check');
    waits.push(portsRead.then(() => poll('readiness check', () => check(lookup))));
  }
  return { conditions, done: Promise.all(waits).then(() => undefined) };
}
