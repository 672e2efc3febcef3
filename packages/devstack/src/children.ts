// Child processes must not outlive the process that started them. Every child that devstack spawns is
// tracked here until it exits, and killed with SIGKILL, synchronously, when the parent ends:
//
// - on `process.on('exit')`: a normal end, process.exit(), an uncaught exception;
// - on SIGTERM, SIGINT and SIGHUP when nothing else in the process listens for that signal (Node's
//   default for them ends the process without running `exit` hooks): kill the children, then re-raise
//   the signal so that the process still ends by it. This is how a test worker that vitest terminates
//   (SIGTERM) takes its servers along. When the application has its own handler for the signal,
//   devstack leaves it alone: the application stops its Stack and exits, and the exit hook runs.
//
// What no hook can cover: a parent killed by SIGKILL, or a worker thread that is terminated (the
// process goes on). Children share the parent's process group, so a Ctrl-C in a terminal reaches them
// directly as well.
import type { ChildProcess } from 'node:child_process';

const FORWARDED_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

const live = new Set<ChildProcess>();
let hooksInstalled = false;

/** Tracks a spawned child until it exits, and installs the hooks on first use. */
export function trackChild(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!hooksInstalled) {
    hooksInstalled = true;
    installHooks();
  }
}

/** SIGKILLs every tracked child that is still running, synchronously. Safe to call at any time. */
export function killAllChildren(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // Already gone: nothing to do.
    }
  }
  live.clear();
}

/** How many tracked children are still running (for tests and diagnostics). */
export function liveChildCount(): number {
  return live.size;
}

function installHooks(): void {
  process.on('exit', () => killAllChildren());
  for (const signal of FORWARDED_SIGNALS) {
    const onSignal = (): void => {
      // Someone else handles this signal: their shutdown ends in an exit, which runs the exit hook.
      if (process.listenerCount(signal) > 1) return;
      killAllChildren();
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}
