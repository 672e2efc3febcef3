// Small typed errors, so that callers can tell "not there", "took too long" and "died" apart.

/** A bounded wait ran out. The message always reads `timed out after <N>ms waiting for <what>`. */
export class WaitTimeoutError extends Error {
  override readonly name = 'WaitTimeoutError';
  constructor(
    /** What was waited for, in words. */
    readonly what: string,
    readonly timeoutMs: number,
    options?: { cause?: unknown; details?: string },
  ) {
    super(withDetails(`timed out after ${timeoutMs}ms waiting for ${what}`, options?.details), options);
  }
}

/** A started process exited while something still waited for it (to become ready, to print a line). */
export class ProcessExitedError extends Error {
  override readonly name = 'ProcessExitedError';
  constructor(
    /** The name the process was started under. */
    readonly processName: string,
    /** Its exit code, or null when a signal ended it. */
    readonly code: number | null,
    readonly signal: NodeJS.Signals | null,
    /** Why it mattered, e.g. "before it was ready". */
    when: string,
    /** Its last output lines. */
    readonly output: string,
  ) {
    const how = code !== null ? `with code ${code}` : `by signal ${signal ?? 'unknown'}`;
    super(withDetails(`${processName} exited ${how} ${when}`, output === '' ? undefined : lastOutput(processName, output)));
  }
}

/**
 * A server that cannot bind port 0 was started on ports picked as free, and another process took one
 * of them before the server bound it, on every attempt.
 */
export class PortsTakenError extends Error {
  override readonly name = 'PortsTakenError';
  constructor(
    /** The name the server was started under. */
    readonly processName: string,
    /** How many times it was started on fresh ports. */
    readonly attempts: number,
    /** The last attempt's failure: its output says "address already in use". */
    cause: ProcessExitedError,
  ) {
    const message = `${processName}: a port picked as free was taken by another process before ${processName} could bind it, on all ${attempts} attempts (address already in use)`;
    super(withDetails(message, lastOutput(processName, cause.output)), { cause });
  }
}

/** A binary that devstack needs is nowhere it looks; the message says how to get it. */
export class BinaryNotFoundError extends Error {
  override readonly name = 'BinaryNotFoundError';
  constructor(
    readonly binary: string,
    lookedIn: string,
  ) {
    super(`${binary} not found (looked in ${lookedIn}); run scripts/ensure-servers.sh ${binary}`);
  }
}

/** Formats a process's last output for an error message. */
export function lastOutput(processName: string, output: string): string {
  return `--- last output of ${processName} ---\n${output}\n--- end of output ---`;
}

function withDetails(message: string, details: string | undefined): string {
  return details === undefined || details === '' ? message : `${message}\n${details}`;
}
