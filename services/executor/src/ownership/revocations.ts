import { DeliverPolicy, type ConsumerMessages, type JetStreamClient } from '@nats-io/jetstream';
import { streams, subjects } from '@pipewright/contracts';
import type { Logger } from '@pipewright/kit';

/**
 * How long a revocation is remembered for a task that is not running here (yet): far longer than the
 * time between a lease's append and the start of its work, which on a loaded process can be a second.
 */
const REMEMBER_MS = 60_000;
/** Pause before the stream of revocations is followed again after it ended with an error. */
const RESTART_MS = 1_000;

/**
 * Stops the work of a task the planner revoked (its run was cancelled, failed or timed out): every
 * executor follows the `step.revoked` entries stored from its start on and aborts the model or tool
 * call of a task it is running, so an ended run stops spending within milliseconds. Tasks not yet
 * started need no signal: the revocation is in their log, so no lease can be taken on them any more.
 */
export class Revocations {
  private readonly running = new Map<string, AbortController>();
  /** Revocations seen lately (`<runId>/<task>` → when), oldest first. */
  private readonly recent = new Map<string, number>();
  private messages: ConsumerMessages | undefined;
  private stopped = false;

  constructor(private readonly log: Logger) {}

  /**
   * Follows the revocations stored from now on, with an ordered consumer. Not a core subscription: that
   * also sees an append the stream refused (the planner's compare-and-set lost to a lease or a result)
   * and would abort a task on a revocation that is not in its log.
   */
  async listen(js: JetStreamClient): Promise<void> {
    const consumer = await js.consumers.get(streams.events.name, { filter_subjects: [subjects.taskEvents('step.revoked')], deliver_policy: DeliverPolicy.New });
    const messages = await consumer.consume();
    this.messages = messages;
    void (async () => {
      try {
        for await (const m of messages) this.revoked(m.subject);
      } catch (err) {
        this.log.warn({ err }, 'following revocations failed; following them again');
      }
      if (this.stopped) return;
      await new Promise((resolve) => setTimeout(resolve, RESTART_MS));
      if (!this.stopped) await this.listen(js).catch((err: unknown) => this.log.error({ err }, 'could not follow revocations again'));
    })();
  }

  /** A signal aborted when the task is revoked; call the returned `done` when the task's work ends. */
  track(runId: string, task: string): { signal: AbortSignal; done: () => void } {
    const k = key(runId, task);
    const c = new AbortController();
    // The revocation may have come while this delivery was still taking its lease (writing its registry
    // hold), before its work was tracked: the work is aborted all the same, and its result then follows
    // the revocation in the task's log.
    if (this.recent.has(k)) c.abort(revokedError());
    this.running.set(k, c);
    return { signal: c.signal, done: () => this.running.get(k) === c && this.running.delete(k) };
  }

  close(): void {
    this.stopped = true;
    this.messages?.stop();
  }

  private revoked(subject: string): void {
    // pw.events.<runId>.step.revoked.<task>
    const t = subject.split('.');
    const runId = t[2];
    const task = t[5];
    if (runId === undefined || task === undefined) return;
    const k = key(runId, task);
    this.remember(k);
    this.running.get(k)?.abort(revokedError());
  }

  private remember(k: string): void {
    const now = Date.now();
    this.recent.delete(k);
    this.recent.set(k, now);
    for (const [old, at] of this.recent) {
      if (now - at < REMEMBER_MS) break;
      this.recent.delete(old);
    }
  }
}

const key = (runId: string, task: string) => `${runId}/${task}`;
const revokedError = () => new Error('the task was revoked: its run ended');
