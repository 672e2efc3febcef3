import { JetStreamApiCodes, JetStreamApiError, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { Context } from '@opentelemetry/api';
import { msgIds, StepCompleted, StepFailed, StepParked, StepRevoked, StepStarted, streams, subjects, taskIdOf, type TaskLogType } from '@pipewright/contracts';
import { z } from 'zod';
import { TerminalError } from '../errors.js';
import { buildHeaders, encodeJson } from './publish.js';
import { tracedPublish } from './publish-span.js';

/** What a task's log holds (see `@pipewright/contracts` task.ts). */
export const TaskLogEntry = z.discriminatedUnion('type', [StepStarted, StepParked, StepRevoked, StepCompleted, StepFailed]);
export type TaskLogEntry = z.infer<typeof TaskLogEntry>;

export interface LoggedEntry {
  /** The entry's stream sequence: the value the next append must expect. */
  readonly seq: number;
  readonly entry: TaskLogEntry;
}

export type AppendResult =
  | { ok: true; seq: number }
  /** Someone appended first: the log's last sequence is no longer the one expected. */
  | { ok: false; reason: 'conflict' };

const RETRY_BASE_MS = 100;
const RETRY_CAP_MS = 2_000;

/** A final entry: the task is over and this is its checkpoint. */
export const isFinal = (e: TaskLogEntry): e is StepCompleted | StepFailed => e.type === 'step.completed' || e.type === 'step.failed';

/**
 * The task logs on PW_EVENTS: reads of a log's last entry (a direct get on the log's subject pattern)
 * and appends that are compare-and-set on that last sequence (`Nats-Expected-Last-Subject-Sequence`
 * with `...-Subject` naming the whole log, nats-server 2.11+). One append wins per expected sequence,
 * which is what makes a lease exclusive and a result first-write-wins. The server checks the expected
 * sequence before the msg id, so a retry of an append that landed (its reply was lost) is a conflict:
 * a caller that may have written the entry reads the log and recognises its own.
 */
export class TaskLog {
  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
  ) {}

  /** The last entry of a task's log, or undefined when nothing was appended yet. */
  async last(runId: string, task: string): Promise<LoggedEntry | undefined> {
    const m = await this.jsm.direct.getMessage(streams.events.name, { last_by_subj: subjects.taskLog(runId, task) });
    if (!m) return undefined;
    const parsed = TaskLogEntry.safeParse(m.json());
    // Nobody but executors and planners may write a task log (the bus's permissions): an entry that does
    // not parse is a corrupt or foreign write, and no decision can be made on it.
    if (!parsed.success) throw new TerminalError(`task log ${runId}/${task}: entry ${m.seq} is not a valid entry: ${parsed.error.issues[0]?.message ?? 'invalid'}`, 'task_log_corrupt');
    return { seq: m.seq, entry: parsed.data };
  }

  /**
   * Appends `entry` if the log's last sequence is still `expectSeq` (0: the log is empty). With
   * `retryForMs`, a failure to reach the server (a restart, a partition) is retried with backoff for
   * that long: a finished call's result must not be lost to a server that is briefly away.
   */
  async append(entry: TaskLogEntry, expectSeq: number, opts: { writer: string; context?: Context; retryForMs?: number }): Promise<AppendResult> {
    const deadline = Date.now() + (opts.retryForMs ?? 0);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.appendOnce(entry, expectSeq, opts);
      } catch (err) {
        // The server answered (an API error): retrying cannot change its answer.
        if (err instanceof JetStreamApiError || Date.now() >= deadline) throw err;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** attempt)));
      }
    }
  }

  private appendOnce(entry: TaskLogEntry, expectSeq: number, opts: { writer: string; context?: Context }): Promise<AppendResult> {
    const task = taskIdOf(entry);
    const type: TaskLogType = entry.type;
    const msgID = msgIds.taskEntry(entry.runId, task, type, opts.writer);
    const subject = subjects.taskEvent(entry.runId, type, task);
    return tracedPublish(subject, entry, opts.context, msgID, async (context) => {
      try {
        const ack = await this.js.publish(subject, encodeJson(entry), {
          headers: buildHeaders({ msgId: msgID, context }),
          msgID,
          expect: { lastSubjectSequence: expectSeq, lastSubjectSequenceSubject: subjects.taskLog(entry.runId, task) },
        });
        return { ok: true, seq: ack.seq };
      } catch (err) {
        // a fenced append that lost the race: an answer, not a failure of the publish
        if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamWrongLastSequence) return { ok: false, reason: 'conflict' };
        throw err;
      }
    });
  }
}
