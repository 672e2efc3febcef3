import { DeliverPolicy, type JetStreamClient } from '@nats-io/jetstream';
import { RunEvent, streams, subjects, type RunFinished, type RunRejected } from '@pipewright/contracts';
import { errorMessage } from '@pipewright/kit';
import { NotFoundError, UnavailableError, WaitTimeoutError } from '../cli/errors.js';
import { elapsed } from '../render/format.js';

export type RunEnd = RunFinished | RunRejected;

/**
 * How long `watch` waits for the first event of a run before it calls the run unknown: a run's events
 * start with `run.started` as soon as the planner takes its request, and replaying a finished run's
 * events starts at once, so only a run nobody submitted (or a planner far behind) stays silent so long.
 */
export const FIRST_EVENT_WAIT_MS = 5_000;

export interface WatchOptions {
  /** Give up (WaitTimeoutError) when the run has not finished after this long. */
  timeoutMs?: number;
  /** Say the run is unknown (NotFoundError) when it has no event after this long. @default none: wait */
  firstEventMs?: number;
  /** Report events from the first one this accepts (e.g. a resume's `run.resumed`); earlier ones are skipped. */
  from?: (e: RunEvent) => boolean;
}

/**
 * Streams the events of a run, from its first, to `onEvent`, and resolves with its final event
 * (`run.finished` or `run.rejected`). An ordered consumer, so watching a finished run replays it. A
 * `run.finished` followed by `run.resumed` is not the end: a resumed run goes on, and so does the watch.
 */
export async function watchRun(js: JetStreamClient, runId: string, onEvent: (e: RunEvent) => void, opts: WatchOptions = {}): Promise<RunEnd> {
  const consumer = await js.consumers.get(streams.events.name, { filter_subjects: [subjects.runEvents(runId)], deliver_policy: DeliverPolicy.All });
  const messages = await consumer.consume();
  let stopped: 'timeout' | 'unknown' | undefined;
  const stop = (why: 'timeout' | 'unknown') => () => {
    stopped ??= why;
    messages.stop();
  };
  const timer = opts.timeoutMs !== undefined ? setTimeout(stop('timeout'), opts.timeoutMs) : undefined;
  const silence = opts.firstEventMs !== undefined ? setTimeout(stop('unknown'), opts.firstEventMs) : undefined;
  let heard = false;
  let reporting = opts.from === undefined;
  let last: RunEvent | undefined;
  let finish: RunFinished | undefined;
  try {
    for await (const m of messages) {
      clearTimeout(silence);
      heard = true;
      // An event this CLI cannot read (a newer schema) is skipped rather than stop the watch.
      const parsed = RunEvent.safeParse(jsonOf(m));
      const e = parsed.success ? parsed.data : undefined;
      reporting ||= e !== undefined && opts.from?.(e) === true;
      if (e && reporting) {
        last = e;
        onEvent(e);
        if (e.type === 'run.rejected') return e;
        if (e.type === 'run.finished') finish = e;
        if (e.type === 'run.resumed') finish = undefined;
      }
      // Events may follow the finish (a straggler's spending, or a resume): the end is the finish with nothing after it.
      if (finish && m.info.pending === 0) return finish;
    }
  } catch (err) {
    throw new UnavailableError(`lost the run's events while watching ${runId}: ${errorMessage(err)}`);
  } finally {
    clearTimeout(timer);
    clearTimeout(silence);
    messages.stop(); // not close(): it waits for a drain that an abandoned iterator never does
  }
  if (finish) return finish;
  // A run that may not exist and said nothing before the watch ended is unknown, whichever timer fired first.
  if (stopped === 'unknown' || (stopped === 'timeout' && opts.firstEventMs !== undefined && !heard)) throw new NotFoundError(`no run ${runId} (no event of it within ${elapsed(Math.min(opts.firstEventMs ?? 0, opts.timeoutMs ?? Infinity))})`);
  if (stopped === 'timeout') throw new WaitTimeoutError(`run ${runId} has not finished after ${elapsed(opts.timeoutMs ?? 0)}${last ? ` (last event: ${last.type} at ${last.at})` : ''}`);
  throw new UnavailableError(`stopped receiving the events of run ${runId} (the NATS connection closed)`);
}

function jsonOf(m: { json(): unknown }): unknown {
  try {
    return m.json();
  } catch {
    return undefined;
  }
}
