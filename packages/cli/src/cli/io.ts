import { styleText } from 'node:util';
import type { OutputSettings } from '../config.js';

/** Where a command writes: stdout for results, stderr for errors and hints. Tests pass their own. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Colours on stdout (a TTY, NO_COLOR unset, or FORCE_COLOR). */
  readonly color: boolean;
  /** Colours on stderr. */
  readonly errColor: boolean;
}

/** Whether to colour a stream: FORCE_COLOR wins (as in Node and chalk), then NO_COLOR, then a TTY that is not `dumb`. */
export function colorWanted(isTTY: boolean, s: OutputSettings): boolean {
  if (s.FORCE_COLOR !== undefined) return s.FORCE_COLOR !== '0' && s.FORCE_COLOR !== 'false';
  if (s.NO_COLOR !== undefined) return false;
  return isTTY && s.TERM !== 'dumb';
}

/**
 * The process's own stdout and stderr. A reader that goes away (`pipewright watch --json | head -1`)
 * ends the command quietly, as a pipe's writer should, instead of a stack trace about EPIPE.
 */
export function processIo(s: OutputSettings): Io {
  for (const stream of [process.stdout, process.stderr])
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      process.exit(process.exitCode ?? 0);
    });
  return {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    color: colorWanted(process.stdout.isTTY, s),
    errColor: colorWanted(process.stderr.isTTY, s),
  };
}

type Format = Parameters<typeof styleText>[0];
/** Colour functions; each returns its text unchanged when colours are off. */
export interface Style {
  ok(t: string): string;
  bad(t: string): string;
  warn(t: string): string;
  info(t: string): string;
  dim(t: string): string;
  bold(t: string): string;
}

export function styleFor(enabled: boolean): Style {
  const f =
    (format: Format) =>
    (t: string): string =>
      enabled ? styleText(format, t, { validateStream: false }) : t;
  return { ok: f('green'), bad: f('red'), warn: f('yellow'), info: f('cyan'), dim: f('dim'), bold: f('bold') };
}

// C0 controls but newline and tab, DEL, and C1 controls (0x9b is a one-byte CSI on some terminals).
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/**
 * Text from a run (labels, reasons, outputs, error messages) made safe for a terminal: every control
 * character is shown as `\u00XX`, so a value cannot move the cursor, retitle the window or hide text.
 */
export function clean(text: string): string {
  return text.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
