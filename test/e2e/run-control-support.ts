import { jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { msgIds, requestDigest, RerunRequest, ResumeRequest, SCHEMA_VERSION, streams, subjects, type RerunRequestInput, type ResumeRequestInput, type RunEvent } from '@pipewright/contracts';
import { waitFor } from '@pipewright/devstack';
import { publishJson } from '@pipewright/kit';
import type { SimCounters } from '@pipewright/llm-sim';
import type { EventLog } from '../resilience/support.js';

/** Resume, re-run and resubmission on the local stack: publishing the requests and reading what followed. */

/** s1 → s2 → s3; s2 has an output schema and no retry, so a broken answer fails the run at once. */
export const chain = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  defaults: { model: 'sim-small', maxOutputTokens: 64 },
  steps: [
    { id: 's1', prompt: 'Outline {{input.topic}}' },
    { id: 's2', needs: ['s1'], prompt: 'Facts for {{steps.s1.output}}', output: { type: 'object', properties: { fact: { type: 'string' } }, required: ['fact'] }, retry: { maxAttempts: 1 } },
    { id: 's3', needs: ['s2'], prompt: 'Summary of {{steps.s2.output.fact}}' },
  ],
  ...extra,
});

export type Finished = Extract<RunEvent, { type: 'run.finished' }>;

/** Publishes a resume as a client would (`pw.runs.resume`, msg id by run and resume id). */
export async function publishResume(js: JetStreamClient, req: Omit<ResumeRequestInput, 'schemaVersion'>): Promise<void> {
  const request = ResumeRequest.parse({ schemaVersion: SCHEMA_VERSION, ...req });
  await publishJson(js, subjects.runResume, request, { msgId: msgIds.resume(request.runId, request.resumeId) });
}

/** Publishes a re-run as a client would (`pw.runs.rerun`, msg id by the new run id and the request's digest). */
export async function publishRerun(js: JetStreamClient, req: Omit<RerunRequestInput, 'schemaVersion'>): Promise<void> {
  const request = RerunRequest.parse({ schemaVersion: SCHEMA_VERSION, ...req });
  await publishJson(js, subjects.runRerun, request, { msgId: msgIds.rerun(request.runId, requestDigest(request)) });
}

/** The run's `n`-th `run.finished` (a resumed run has one per life), waited for (bounded). */
export function nthFinished(events: EventLog, runId: string, n: number, timeoutMs = 60_000): Promise<Finished> {
  return waitFor(`run.finished #${n} of ${runId}`, () => events.events(runId).filter((e): e is Finished => e.type === 'run.finished')[n - 1], { timeoutMs, intervalMs: 50 });
}

/** The first event of a type for the run, waited for (bounded). */
export function eventOf<T extends RunEvent['type']>(events: EventLog, runId: string, type: T, timeoutMs = 60_000): Promise<Extract<RunEvent, { type: T }>> {
  return waitFor(`${type} of ${runId}`, () => events.events(runId).find((e): e is Extract<RunEvent, { type: T }> => e.type === type), { timeoutMs, intervalMs: 50 });
}

/** Model calls per Idempotency-Key of the run's keys starting `<runId>:<stepId>` (attempt 1: `<runId>:<stepId>`, later `…:a<n>`). */
export function callsOfStep(counters: SimCounters, runId: string, stepId: string): Record<string, number> {
  const prefix = `${runId}:${stepId}`;
  return Object.fromEntries(
    Object.entries(counters.byKey)
      .filter(([k]) => k === prefix || k.startsWith(`${prefix}:`))
      .map(([k, v]) => [k, v.calls]),
  );
}

/** Waits until the planner's consumer of a PW_RUNS subject has handled everything published to it. */
export async function drained(nc: NatsConnection, durable: string): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await waitFor(`${durable} to handle its messages`, async () => {
    const info = await jsm.consumers.info(streams.runs.name, durable);
    return info.num_pending === 0 && info.num_ack_pending === 0 ? true : undefined;
  }, { timeoutMs: 30_000, intervalMs: 50 });
}
