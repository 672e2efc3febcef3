import { randomBytes } from 'node:crypto';
import type { JetStreamClient } from '@nats-io/jetstream';
import { checkPipeline, checkRunInput, msgIds, requestDigest, RunRequest, SCHEMA_VERSION, subjects, type ValidationIssue } from '@pipewright/contracts';
import { publishJson } from '@pipewright/kit';

export class SpecError extends Error {
  override readonly name = 'SpecError';
  constructor(readonly issues: ValidationIssue[]) {
    super(`the run request is invalid:\n${issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`);
  }
}

/** A run id that sorts by time: `r-<base36 ms>-<random>`. */
export function newRunId(): string {
  return `r-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/**
 * Checks a run request locally (the planner checks again: the bus is open to any client) and publishes
 * it to `pw.runs.submit` with a deterministic message id, so a retried submit is one run.
 */
export async function submitRun(js: JetStreamClient, pipeline: unknown, input: Record<string, unknown>, opts: { runId?: string; tenant?: string } = {}): Promise<string> {
  const runId = opts.runId ?? newRunId();
  const checked = checkPipeline(pipeline, ['pipeline']);
  if (!checked.ok) throw new SpecError(checked.issues);
  const inputIssues = checkRunInput(checked.spec, input, 'input');
  if (inputIssues.length > 0) throw new SpecError(inputIssues);
  const request = RunRequest.parse({ schemaVersion: SCHEMA_VERSION, runId, pipeline, input, ...(opts.tenant ? { tenant: opts.tenant } : {}) });
  await publishJson(js, subjects.runSubmit, request, { msgId: msgIds.submit(runId, requestDigest(request)) });
  return runId;
}
