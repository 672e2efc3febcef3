import { DeliverPolicy, type JetStreamClient } from '@nats-io/jetstream';
import { streams, subjects, type RunDetail } from '@pipewright/contracts';
import type { Stores } from '@pipewright/kit';
import type { RunReader } from '../ports.js';
import { OutputResolver } from './outputs.js';
import { buildDetail } from './run-detail.js';
import { decodeEvent, readRunEvents, type SeqEvent } from './run-events.js';

/** Reads one run: its checkpoint in the store and its events on PW_EVENTS. */
export class StoreRunReader implements RunReader {
  constructor(
    private readonly js: JetStreamClient,
    private readonly stores: Stores,
    private readonly jaegerUrl: string | undefined,
  ) {}

  async get(runId: string): Promise<RunDetail | undefined> {
    const [stored, events] = await Promise.all([this.stores.runs.get(runId), readRunEvents(this.js, runId)]);
    if (!stored) return undefined;
    return buildDetail(stored.value, events, new OutputResolver(runId, events, this.stores.blobs), this.jaegerUrl);
  }

  /** Whether the store has the run (a submit with a run id checks it). */
  async exists(runId: string): Promise<boolean> {
    return (await this.stores.runs.get(runId)) !== undefined;
  }

  async *events(runId: string, opts: { afterSeq?: number; signal: AbortSignal }): AsyncIterable<SeqEvent> {
    const consumer = await this.js.consumers.get(streams.events.name, {
      filter_subjects: [subjects.runEvents(runId)],
      ...(opts.afterSeq !== undefined ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: opts.afterSeq + 1 } : { deliver_policy: DeliverPolicy.All }),
    });
    if (opts.signal.aborted) return;
    const messages = await consumer.consume({ max_messages: 256 });
    const stop = () => messages.stop();
    opts.signal.addEventListener('abort', stop, { once: true });
    try {
      for await (const m of messages) {
        const event = decodeEvent(m.string());
        if (!event) continue;
        yield { seq: m.seq, event };
        // A resumed run finishes more than once: the stream ends at a run.finished with nothing after it.
        if (event.type === 'run.finished' && m.info.pending === 0) return;
      }
    } finally {
      opts.signal.removeEventListener('abort', stop);
      messages.stop();
    }
  }
}
