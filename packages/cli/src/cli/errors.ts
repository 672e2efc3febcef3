import { EXIT, type ExitCode } from './exit-codes.js';

/**
 * Every error the CLI reports on purpose. The exit code and the machine-readable `code` (the same
 * vocabulary as the runs API's `ApiError`, plus `usage` and `timeout`) belong to the type; the message
 * is for people. Anything else that escapes a command is a bug and exits 4 with its message.
 */
export abstract class CliError extends Error {
  abstract readonly exitCode: ExitCode;
  abstract readonly code: string;
  /** Further lines for people (an API's invalid fields, a hint). */
  readonly details: readonly string[];
  constructor(message: string, details: readonly string[] = []) {
    super(message);
    this.details = details;
  }
}

/** A bad flag, argument, value or variable, found before anything was sent. */
export class UsageError extends CliError {
  override readonly name: string = 'UsageError';
  readonly exitCode = EXIT.usage;
  readonly code = 'usage';
}

/** No run (or approval) with that id. */
export class NotFoundError extends CliError {
  override readonly name: string = 'NotFoundError';
  readonly exitCode = EXIT.notFound;
  readonly code = 'not_found';
}

/** The server understood the request and refused it (a conflict, a run that cannot be resumed, invalid fields). */
export class RefusedError extends CliError {
  override readonly name: string = 'RefusedError';
  readonly exitCode = EXIT.notSucceeded;
  constructor(
    readonly code: string,
    message: string,
    details: readonly string[] = [],
  ) {
    super(message, details);
  }
}

/** A service is not configured, cannot be reached, refused the credentials, or failed. */
export class UnavailableError extends CliError {
  override readonly name: string = 'UnavailableError';
  readonly exitCode = EXIT.unavailable;
  constructor(
    message: string,
    details: readonly string[] = [],
    readonly code: string = 'unavailable',
  ) {
    super(message, details);
  }
}

/** `--timeout` passed while the watched run was still going. */
export class WaitTimeoutError extends CliError {
  override readonly name: string = 'WaitTimeoutError';
  readonly exitCode = EXIT.timedOut;
  readonly code = 'timeout';
}
