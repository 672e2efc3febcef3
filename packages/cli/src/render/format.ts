import type { RunStatus } from '@pipewright/contracts';
import { clean, type Style } from '../cli/io.js';

/** Dollars with six decimals, trailing zeros beyond the cent trimmed: `$0.0012`, `$1.50`. */
export function usd(x: number): string {
  return `$${x.toFixed(6).replace(/(\.\d\d\d*?)0+$/, '$1')}`;
}

/** `812 ms`, `3.4 s`, `2m05s`, `1h02m`. */
export function elapsed(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  const s = Math.round(ms / 1_000);
  if (s < 3_600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3_600)}h${String(Math.floor((s % 3_600) / 60)).padStart(2, '0')}m`;
}

/** `2026-11-24 10:00:00Z`: a timestamp to the second, readable in a table. */
export function when(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function int(x: number): string {
  return x.toLocaleString('en-US');
}

/** `k=v,k2=v2`, cleaned of control characters. */
export function labelsText(labels: Readonly<Record<string, string>> | undefined): string {
  return clean(
    Object.entries(labels ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
  );
}

/**
 * A value as one line of JSON, at most `max` characters (then `… (N more)`): outputs can be large,
 * and `--json` shows them whole. JSON escapes C0 controls; `clean` takes the rest.
 */
export function excerpt(value: unknown, max = 240): string {
  const text = clean(JSON.stringify(value) ?? 'undefined');
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters; --json shows all)`;
}

const FINISHED_WELL = new Set<RunStatus>(['succeeded']);
const FINISHED_BADLY = new Set<RunStatus>(['failed', 'timed_out', 'budget_exhausted']);

/** A status in its colour: green done, red failed, yellow cancelled or waiting, cyan going. */
export function statusText(status: string, style: Style, width = 0): string {
  const padded = status.padEnd(width);
  if (FINISHED_WELL.has(status as RunStatus)) return style.ok(padded);
  if (FINISHED_BADLY.has(status as RunStatus)) return style.bad(padded);
  if (status === 'cancelled' || status === 'waiting_approval' || status === 'paused') return style.warn(padded);
  return style.info(padded);
}
