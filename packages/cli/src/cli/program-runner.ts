import { errorMessage } from '@pipewright/kit';
import { Command, CommanderError } from 'commander';
import type { Ctx } from './context.js';
import { CliError } from './errors.js';
import { EXIT, exitCodeHelp, type ExitCode } from './exit-codes.js';
import { clean } from './io.js';

/**
 * A `pipewright` program whose commander errors are typed (exitOverride) and written through the
 * invocation's streams: `pipewright: error: …` on stderr, one style for every error.
 */
export function baseProgram(ctx: Ctx): Command {
  return new Command('pipewright')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.io.out(s.trimEnd()),
      writeErr: (s) => ctx.io.err(s.trimEnd()),
      // commander's messages start `error: `.
      outputError: (s) => ctx.io.err(`pipewright: ${s.trimEnd()}`),
    })
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('afterAll', `\n${exitCodeHelp()}`);
}

/**
 * Parses and runs one command line; resolves with its exit code. Nothing escapes: every error is
 * reported on stderr (and, with `--json`, as `{"error": {code, message}}` on stdout) and mapped to its code.
 */
export async function runProgram(argv: readonly string[], ctx: Ctx, register: (program: Command) => void): Promise<number> {
  const program = baseProgram(ctx);
  register(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ctx.exitCode;
  } catch (err) {
    return report(ctx, err, argv.includes('--json'));
  }
}

function report(ctx: Ctx, err: unknown, json: boolean): ExitCode {
  if (err instanceof CommanderError) {
    // --help and --version end with exit code 0; every other commander error is a usage error, already printed.
    if (err.exitCode === 0) return EXIT.ok;
    if (json) ctx.jsonLine({ error: { code: 'usage', message: err.message.replace(/^error: /, '') } });
    return EXIT.usage;
  }
  const e = err instanceof CliError ? err : undefined;
  // Messages may quote a server's words: no control characters reach the terminal.
  const message = clean(e ? e.message : `unexpected: ${errorMessage(err)}`);
  ctx.io.err(`pipewright: ${ctx.errStyle.bad('error:')} ${message}`);
  for (const d of e?.details ?? []) ctx.io.err(`  ${clean(d)}`);
  if (json) ctx.jsonLine({ error: { code: e?.code ?? 'internal', message, ...(e && e.details.length > 0 ? { details: e.details } : {}) } });
  return e?.exitCode ?? EXIT.unavailable;
}
