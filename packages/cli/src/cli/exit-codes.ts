/**
 * What `pipewright` exits with. Scripts switch on these, so they are part of the CLI's interface:
 * change them only with docs/cli.md and the `--help` table (both are built from this one list).
 */
export const EXIT = {
  /** The command did what it was asked; a watched run succeeded. */
  ok: 0,
  /** A watched run ended other than `succeeded`, or the server refused the operation (not resumable, already decided, invalid). */
  notSucceeded: 1,
  /** Usage: an unknown flag, a missing argument, a bad value or a bad variable; nothing was sent. */
  usage: 2,
  /** No run (or approval) with that id. */
  notFound: 3,
  /** The console, the approver or NATS is not configured, unreachable, refused the token, or failed. */
  unavailable: 4,
  /** `--timeout` passed before the watched run finished (it is still going). */
  timedOut: 5,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The table shown by `--help` and docs/cli.md. */
export const EXIT_CODE_TABLE: readonly (readonly [ExitCode, string])[] = [
  [EXIT.ok, 'success (a watched run succeeded)'],
  [EXIT.notSucceeded, 'a watched run did not succeed, or the server refused the operation'],
  [EXIT.usage, 'usage error: bad flag, argument, value or variable (nothing was sent)'],
  [EXIT.notFound, 'no run (or approval) with that id'],
  [EXIT.unavailable, 'console, approver or NATS not configured, unreachable, token refused, or server error'],
  [EXIT.timedOut, '--timeout passed before the watched run finished'],
];

export function exitCodeHelp(): string {
  return `Exit codes:\n${EXIT_CODE_TABLE.map(([code, what]) => `  ${code}  ${what}`).join('\n')}`;
}
