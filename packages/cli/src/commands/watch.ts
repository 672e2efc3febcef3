import { DeliverPolicy, type JetStreamClient } from '@nats-io/jetstream';
import { RunEvent, streams, subjects, type RunFinished, type RunRejected } from '@pipewright/contracts';

export type RunEnd = RunFinished | RunRejected;

/**
 * Streams every event of a run, from its first, to `onEvent`, and resolves with the final event
 * (`run.finished` or `run.rejected`). Uses an ordered consumer, so watching a finished run replays it.
 */
export async function watchRun(js: JetStreamClient, runId: string, onEvent: (e: RunEvent) => void, opts: { timeoutMs?: number } = {}): Promise<RunEnd> {
  const consumer = await js.consumers.get(streams.events.name, { filter_subjects: [subjects.runEvents(runId)], deliver_policy: DeliverPolicy.All });
  const messages = await consumer.consume();
  const timer = opts.timeoutMs
    ? setTimeout(() => messages.stop(), opts.timeoutMs)
    : undefined;
  try {
    for await (const m of messages) {
      const parsed = RunEvent.safeParse(m.json());
      if (!parsed.success) continue; // events of a newer schema: skip rather than stop watching
      onEvent(parsed.data);
      if (parsed.data.type === 'run.finished' || parsed.data.type === 'run.rejected') return parsed.data;
    }
    throw new Error(`stopped watching run ${runId} after ${opts.timeoutMs ?? 0} ms without a final event`);
  } finally {
    if (timer) clearTimeout(timer);
    messages.stop(); // not close(): it waits for a drain that an abandoned iterator never does
  }
}
