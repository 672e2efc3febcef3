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

/** Where a child run (a `pipeline` step's) reports to: its parent run, step and the step's attempt. */
export const ParentRef = z.strictObject({ runId: RunId, stepId: z.string().min(1).max(64), attempt: z.number().int().min(1) });
export type ParentRef = z.infer<typeof ParentRef>;
