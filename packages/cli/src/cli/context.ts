import { EXIT, type ExitCode } from './exit-codes.js';
import { styleFor, type Io, type Style } from './io.js';

type Env = Readonly<Record<string, string | undefined>>;

/** One invocation of the CLI: where it writes, the environment it configures from, and its exit code so far. */
export class Ctx {
  /** Set by a command whose run did not succeed; errors set theirs when they are reported. */
  exitCode: ExitCode = EXIT.ok;
  readonly style: Style;
  readonly errStyle: Style;

  constructor(
    readonly io: Io,
    readonly env: Env,
  ) {
    this.style = styleFor(io.color);
    this.errStyle = styleFor(io.errColor);
  }

  /** Text for people, on stdout. */
  print(text: string): void {
    this.io.out(text);
  }

  /** A hint or a notice, on stderr, so that stdout stays the result alone. */
  note(text: string): void {
    this.io.err(this.errStyle.dim(text));
  }

  /** One JSON document (`--json`). */
  json(doc: unknown): void {
    this.io.out(JSON.stringify(doc, null, 2));
  }

  /** One line of a JSON-lines stream (`watch --json`). */
  jsonLine(doc: unknown): void {
    this.io.out(JSON.stringify(doc));
  }
}
