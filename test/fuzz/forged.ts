import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { msgIds, streams, subjects, taskIdOf, type StepCompleted } from '@pipewright/contracts';

/**
 * Well-formed but wrong messages, published with a privileged identity: copies of a finished run's real
 * messages pointed at runs and tasks that do not exist, stale attempts and fencing sequences, and
 * republished message ids. None may change the finished run, start a run, or stall a consumer.
 * (Forgeries from an identity without the permission are the bus-auth suite's part.)
 */
export interface ForgedReport {
  sent: number;
  /** Forged stream messages a service must refuse into its DLQ: `<service>:<stream>:<seq>`. */
  mustRefuse: string[];
  /** Publishes JetStream itself refused (a stale fencing sequence) or dropped as duplicates. */
  refusedByJetStream: number;
  duplicates: number;
  /** Requests answered (budget commits/releases of unknown reservations, pings). */
  answered: number;
}

const enc = new TextEncoder();

export async function sendForged(nc: NatsConnection, js: JetStreamClient, done: { runId: string; submit: Record<string, unknown>; completed: StepCompleted; owner: string | undefined }): Promise<ForgedReport> {
  const r: ForgedReport = { sent: 0, mustRefuse: [], refusedByJetStream: 0, duplicates: 0, answered: 0 };
  const pub = async (subject: string, body: unknown, opts: Parameters<JetStreamClient['publish']>[2] = {}) => {
    r.sent++;
    const ack = await js.publish(subject, enc.encode(JSON.stringify(body)), opts);
    if (ack.duplicate) r.duplicates++;
    return ack;
  };
  const c = done.completed;
  const task = taskIdOf(c);
  // a result of the finished run's step for other runs, other tasks, and attempts that never ran
  for (let i = 0; i < 5; i++) {
    const ghost = `fuzz-ghost-${i}`;
    await pub(subjects.taskEvent(ghost, 'step.completed', task), { ...c, runId: ghost });
    const other = { ...c, stepId: `zz${i}` };
    await pub(subjects.taskEvent(c.runId, 'step.completed', taskIdOf(other)), other);
    const stale = { ...c, attempt: c.attempt + i + 5, output: 'forged' };
    await pub(subjects.taskEvent(c.runId, 'step.completed', taskIdOf(stale)), stale);
  }
  // the same step result appended with a stale fencing sequence: JetStream refuses it
  for (let i = 0; i < 3; i++) {
    try {
      await pub(subjects.taskEvent(c.runId, 'step.completed', task), { ...c, output: 'forged' }, { expect: { lastSubjectSequence: 1 } });
    } catch {
      r.refusedByJetStream++;
    }
  }
  // the finished run submitted again: under its own message id (a duplicate) and under a new one
  await pub(subjects.runSubmit, done.submit, { msgID: msgIds.submit(done.runId) });
  await pub(subjects.runSubmit, done.submit, { msgID: `fuzz-resubmit-${done.runId}` });
  // cancels of the finished run and of runs that do not exist
  await pub(subjects.runCancel, { schemaVersion: 1, runId: done.runId, reason: 'forged' });
  for (let i = 0; i < 3; i++) await pub(subjects.runCancel, { schemaVersion: 1, runId: `fuzz-ghost-${i}`, reason: 'forged' });
  // an approval decision nobody asked for, not signed by an approver: the planner refuses it
  for (let i = 0; i < 3; i++) {
    const ack = await pub(subjects.runEvent(done.runId, 'approval.decided'), {
      schemaVersion: 1, type: 'approval.decided', approvalId: `${done.runId}:${c.stepId}:${i + 1}`, runId: done.runId, stepId: c.stepId,
      decision: 'approved', by: 'forger', via: 'api', at: new Date().toISOString(),
    }, { msgID: `fuzz-decided-${i}` });
    r.mustRefuse.push(`planner:${streams.events.name}:${ack.seq}`);
  }
  // budget bookings of reservations that were never made, and pings about tasks nobody holds
  const ask = async (subject: string, body: unknown) => {
    r.sent++;
    await nc.request(subject, enc.encode(JSON.stringify(body)), { timeout: 10_000 });
    r.answered++;
  };
  const model = { provider: 'default', model: 'sim-small' };
  for (let i = 0; i < 3; i++) {
    const base = { schemaVersion: 1, reservationId: `fuzz-unknown-${i}`, runId: done.runId };
    await ask(subjects.budget.commit, { ...base, tenant: 'default', pipeline: 'p', model, usage: { inputTokens: 5, outputTokens: 5, totalTokens: 10 } });
    await ask(subjects.budget.release, { ...base, reason: 'forged' });
  }
  if (done.owner) for (let i = 0; i < 3; i++) await ask(subjects.executorPing(done.owner), { runId: `fuzz-ghost-${i}`, task: 'a=1' });
  return r;
}
