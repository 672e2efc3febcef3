import { RunId, RunStatus, SignalName, StepId } from '@pipewright/contracts';
import { InvalidArgumentError } from 'commander';

/**
 * Parsers of flag and argument values, for commander's `argParser`: each returns the value or throws
 * `InvalidArgumentError` saying what was expected (`withParser` names the option in the message).
 */

/** The runs API's page limit. */
export const MAX_PAGE_SIZE = 500;
/** Longest wait or deadline accepted: 30 days (a run deadline cannot be longer either). */
const MAX_DURATION_MS = 30 * 86_400_000;

const INTEGER = /^[0-9]+$/;

export function positiveInt(max = Number.MAX_SAFE_INTEGER): (v: string) => number {
  return (v) => {
    const n = Number(v.trim());
    if (!INTEGER.test(v.trim()) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('not a positive integer');
    if (n > max) throw new InvalidArgumentError(`at most ${max}`);
    return n;
  };
}

export function positiveNumber(v: string): number {
  const n = Number(v.trim());
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('not a positive number');
  return n;
}

const DURATION = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)?$/;
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `500`, `500ms`, `30s`, `5m`, `2h`, `1d` → milliseconds (a bare number is milliseconds). */
export function duration(v: string): number {
  const m = DURATION.exec(v.trim());
  if (!m) throw new InvalidArgumentError('not a duration (e.g. 500, 500ms, 30s, 5m, 2h)');
  const ms = Math.round(Number(m[1]) * UNIT_MS[(m[2] ?? 'ms') as keyof typeof UNIT_MS]);
  if (ms < 1) throw new InvalidArgumentError('not a positive duration');
  if (ms > MAX_DURATION_MS) throw new InvalidArgumentError('at most 30 days');
  return ms;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const ISO_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * A point in time: an ISO timestamp with a zone (`2026-11-24T10:00:00Z`), a date (`2026-11-24`,
 * midnight UTC), or a duration back from `now` (`30m`, `2h`, `1d`). Returns ISO-8601 UTC.
 */
export function pointInTime(now: () => number = Date.now): (v: string) => string {
  return (v) => {
    const t = v.trim();
    if (ISO_DATE.test(t) || ISO_DATETIME.test(t)) {
      const ms = Date.parse(ISO_DATE.test(t) ? `${t}T00:00:00Z` : t);
      if (Number.isNaN(ms)) throw new InvalidArgumentError('not a valid date');
      return new Date(ms).toISOString();
    }
    try {
      return new Date(now() - duration(t)).toISOString();
    } catch {
      throw new InvalidArgumentError('not a time (an ISO timestamp such as 2026-11-24T10:00:00Z, a date, or an age such as 30m, 2h, 1d)');
    }
  };
}

/** `key=value`, added to the labels already given (repeatable flag). Limits are the runs API's. */
export function label(v: string, previous: Record<string, string> | undefined): Record<string, string> {
  const i = v.indexOf('=');
  if (i <= 0) throw new InvalidArgumentError('expected key=value');
  const key = v.slice(0, i);
  const value = v.slice(i + 1);
  if (key.length > 64) throw new InvalidArgumentError('a label key has at most 64 characters');
  if (value.length > 256) throw new InvalidArgumentError('a label value has at most 256 characters');
  return { ...previous, [key]: value };
}

/** One or more statuses, comma-separated or repeated. */
export function statuses(v: string, previous: RunStatus[] | undefined): RunStatus[] {
  const out = [...(previous ?? [])];
  for (const s of v.split(',').map((x) => x.trim())) {
    const parsed = RunStatus.safeParse(s);
    if (!parsed.success) throw new InvalidArgumentError(`'${s}' is not a status (${RunStatus.options.join(', ')})`);
    if (!out.includes(parsed.data)) out.push(parsed.data);
  }
  return out;
}

/** A run id (it is used in NATS subjects: no `.`, `*`, `>` or spaces). */
export function runId(v: string): string {
  const parsed = RunId.safeParse(v);
  if (!parsed.success) throw new InvalidArgumentError('a run id is 1-64 letters, digits, "_" or "-"');
  return parsed.data;
}

export function signalName(v: string): string {
  const parsed = SignalName.safeParse(v);
  if (!parsed.success) throw new InvalidArgumentError('a signal name is 1-64 letters, digits, "_" or "-"');
  return parsed.data;
}

/** A signal id (`--id`): what makes sending a signal again harmless. */
export function signalId(v: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(v)) throw new InvalidArgumentError('a signal id is 1-64 letters, digits, "_" or "-"');
  return v;
}

export function stepId(v: string): string {
  const parsed = StepId.safeParse(v);
  if (!parsed.success) throw new InvalidArgumentError('a step id starts with a letter and has up to 64 letters, digits, "_" or "-"');
  return parsed.data;
}
