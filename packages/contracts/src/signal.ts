import { createHash } from 'node:crypto';
import { z } from 'zod';
import { RunId, SchemaVersion } from './common.js';

/** A signal's name: what a `signal` step waits for. */
export const SignalName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a signal name is 1-64 letters, digits, "_" or "-"');

/**
 * Sends a named signal to a run (`pw.runs.signal`): a person, a webhook or another system tells the run
 * something it waits for. A `signal` step waiting for the name takes it (its payload is the step's
 * output); a signal that arrives before the run reaches the step is kept on the run (the latest of each
 * name) and taken when it does. `signalId` makes it idempotent: publish with `msgIds.signal(runId, signalId)`.
 */
export const SignalRequest = z
  .strictObject({
    schemaVersion: SchemaVersion,
    runId: RunId,
    name: SignalName,
    /** Any JSON value (at most 64 KiB as JSON); checked against the step's `output` schema when it has one. */
    payload: z.unknown().default(null),
    /** Who sent it, for the run's decision trail. */
    by: z.string().min(1).max(200).default('anonymous'),
    signalId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a signal id is 1-64 letters, digits, "_" or "-"'),
  })
  .strict();
export type SignalRequest = z.infer<typeof SignalRequest>;
export type SignalRequestInput = z.input<typeof SignalRequest>;

/** The largest signal payload (bytes of JSON). */
export const MAX_SIGNAL_PAYLOAD_BYTES = 64 * 1024;
/** The deepest nesting of a signal payload (objects and arrays). */
export const MAX_SIGNAL_PAYLOAD_DEPTH = 64;

/**
 * Why a signal payload may not be taken (too deep, too large), or undefined when it may. The depth is
 * checked first, without recursion, so a hostile nesting cannot overflow the stack of what reads it next.
 */
export function signalPayloadProblem(payload: unknown): string | undefined {
  const todo: [unknown, number][] = [[payload, 1]];
  while (todo.length > 0) {
    const [v, depth] = todo.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > MAX_SIGNAL_PAYLOAD_DEPTH) return `its payload nests deeper than ${MAX_SIGNAL_PAYLOAD_DEPTH} levels`;
    for (const child of Object.values(v)) todo.push([child, depth + 1]);
  }
  const bytes = new TextEncoder().encode(JSON.stringify(payload ?? null)).length;
  return bytes > MAX_SIGNAL_PAYLOAD_BYTES ? `its payload is ${bytes} bytes of JSON, more than the ${MAX_SIGNAL_PAYLOAD_BYTES} a signal may carry` : undefined;
}

/** Where a child run (a `pipeline` step's) reports to: its parent run, step and the step's attempt. */
export const ParentRef = z.strictObject({ runId: RunId, stepId: z.string().min(1).max(64), attempt: z.number().int().min(1) });
export type ParentRef = z.infer<typeof ParentRef>;

/**
 * The run id of a `pipeline` step's child run: the same for the same parent run, step and attempt (so a
 * replayed start is the same run) and a new one for each attempt (a resumed parent starts a new child).
 * `<parent>-<step>-a<attempt>` when that fits a RunId (64 characters), else cut and suffixed with a hash
 * of the three.
 */
export function childRunId(parentRunId: string, stepId: string, attempt: number): string {
  const plain = `${parentRunId}-${stepId}-a${attempt}`;
  if (plain.length <= 64 && /^[A-Za-z0-9_-]+$/.test(plain)) return plain;
  const hash = createHash('sha256').update(`${parentRunId}\n${stepId}\n${attempt}`).digest('hex').slice(0, 16);
  return `${plain.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64 - hash.length - 1)}-${hash}`;
}
