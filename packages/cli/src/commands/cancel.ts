import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { CancelRequest, RunStatus, SCHEMA_VERSION, subjects, TERMINAL_STATUSES } from '@pipewright/contracts';
import { openStores, publishJson } from '@pipewright/kit';
import type { CliConfig } from '../config.js';

/** Runs looked at when cancelling by label (newest first, per status). */
const LABEL_SCAN_LIMIT = 10_000;

/**
 * Asks the planner to cancel a run (`pw.runs.cancel`). Once the planner applies it, the run's running
 * tasks are revoked: their model and tool calls are aborted, their budget holds released, and no queued
 * step of the run starts. `run.finished` (status `cancelled`) follows when they have reported.
 */
export async function cancelRun(js: JetStreamClient, runId: string, reason: string): Promise<void> {
  const req = CancelRequest.parse({ schemaVersion: SCHEMA_VERSION, runId, reason });
  await publishJson(js, subjects.runCancel, req, { msgId: `cancel:${runId}` });
}

/** Cancels every run that is not finished and carries all the given labels; returns their ids. */
export async function cancelByLabels(cfg: CliConfig, nc: NatsConnection, js: JetStreamClient, labels: Record<string, string>, reason: string): Promise<string[]> {
  const stores = await openStores(cfg, nc);
  try {
    const live = RunStatus.options.filter((s) => !TERMINAL_STATUSES.has(s));
    const summaries = (await Promise.all(live.map((status) => stores.runs.list({ status, limit: LABEL_SCAN_LIMIT })))).flat();
    const matching: string[] = [];
    for (const s of summaries) {
      const run = await stores.runs.get(s.runId);
      const have = run?.value.labels ?? {};
      if (run && !TERMINAL_STATUSES.has(run.value.status) && Object.entries(labels).every(([k, v]) => have[k] === v)) matching.push(s.runId);
    }
    for (const runId of matching) await cancelRun(js, runId, reason);
    return matching;
  } finally {
    await stores.close();
  }
}

/** `k=v` → `[k, v]`; anything else is a usage error naming the argument. */
export function parseLabel(arg: string): [string, string] {
  const i = arg.indexOf('=');
  if (i <= 0) throw new Error(`--label ${arg}: expected key=value`);
  return [arg.slice(0, i), arg.slice(i + 1)];
}
