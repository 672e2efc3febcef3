import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { SCHEMA_VERSION, streams, subjects, type StepCompleted, type StepStarted } from '@pipewright/contracts';
import { startNatsServer, type NatsServerHandle } from '@pipewright/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskLog } from '../src/bus/task-log.js';
import { ensureStream } from '../src/bus/topology.js';
import { TerminalError } from '../src/errors.js';

/**
 * Task logs on a real nats-server: appends are compare-and-set on the last sequence of the task's
 * whole log (every entry type), which is what makes a lease exclusive and a result first-write-wins.
 * Two handles on separate connections stand for two executors.
 */
describe('task log', () => {
  let server: NatsServerHandle;
  let ncA: NatsConnection;
  let ncB: NatsConnection;
  let a: TaskLog;
  let b: TaskLog;
  let n = 0;

  beforeAll(async () => {
    server = await startNatsServer();
    ncA = await connect({ servers: server.url });
    ncB = await connect({ servers: server.url });
    await ensureStream(await jetstreamManager(ncA), streams.events);
    a = new TaskLog(jetstream(ncA), await jetstreamManager(ncA));
    b = new TaskLog(jetstream(ncB), await jetstreamManager(ncB));
  });
  afterAll(async () => {
    await ncA?.drain();
    await ncB?.drain();
    await server?.stop();
  });

  const at = () => new Date().toISOString();
  const lease = (runId: string, owner: string): StepStarted => ({ schemaVersion: SCHEMA_VERSION, type: 'step.started', runId, stepId: 's', attempt: 1, task: 'llm', owner, delivery: 's1d1', at: at() });
  const result = (runId: string, owner: string, text: string): StepCompleted => ({
    schemaVersion: SCHEMA_VERSION,
    type: 'step.completed',
    runId,
    stepId: 's',
    attempt: 1,
    task: 'llm',
    calls: 1,
    usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
    owner,
    latencyMs: 1,
    at: at(),
    model: { provider: 'default', model: 'm' },
    output: { text },
    rung: 'direct',
  });
  const run = () => `tl-${process.pid}-${++n}`;

  it('has no entry before the first append', async () => {
    expect(await a.last(run(), 's=1')).toBeUndefined();
  });

  it('lets one of two concurrent leases on an empty log win', async () => {
    const id = run();
    const [x, y] = await Promise.all([a.append(lease(id, 'A'), 0, { writer: 'A' }), b.append(lease(id, 'B'), 0, { writer: 'B' })]);
    expect([x.ok, y.ok].filter(Boolean)).toHaveLength(1);
    const winner = x.ok ? 'A' : 'B';
    expect((await b.last(id, 's=1'))?.entry).toMatchObject({ type: 'step.started', owner: winner });
  });

  it('fences the result by the lease: a result expecting an older entry is refused, whatever its type', async () => {
    const id = run();
    const l1 = await a.append(lease(id, 'A'), 0, { writer: 'A' });
    if (!l1.ok) throw new Error('first lease refused');
    // B takes over (as it would from a dead A) ...
    const l2 = await b.append({ ...lease(id, 'B'), takeover: { from: 'A', why: 'gone' } }, l1.seq, { writer: 'B' });
    if (!l2.ok) throw new Error('takeover refused');
    // ... so A's result, fenced by its own lease, is refused: another entry type on the same log moved it on
    expect(await a.append(result(id, 'A', 'from A'), l1.seq, { writer: 'A' })).toEqual({ ok: false, reason: 'conflict' });
    const r = await b.append(result(id, 'B', 'from B'), l2.seq, { writer: 'B' });
    expect(r.ok).toBe(true);
    // first write wins: nothing is appended after the result with a stale expectation
    expect((await a.append(result(id, 'A', 'late'), l2.seq, { writer: 'A2' })).ok).toBe(false);
    const last = await a.last(id, 's=1');
    expect(last?.entry).toMatchObject({ type: 'step.completed', output: { text: 'from B' } });
    expect(last?.seq).toBe(r.ok ? r.seq : -1);
  });

  it('keeps tasks apart: entries of another task or run do not move a log', async () => {
    const id = run();
    const l = await a.append(lease(id, 'A'), 0, { writer: 'A' });
    if (!l.ok) throw new Error('lease refused');
    await a.append({ ...lease(id, 'A'), stepId: 'other' }, 0, { writer: 'A' });
    await a.append(lease(run(), 'A'), 0, { writer: 'A' });
    expect((await a.append(result(id, 'A', 'ok'), l.seq, { writer: 'A' })).ok).toBe(true);
  });

  it('answers a retried append that had landed as a conflict; the log then shows the writer its own entry', async () => {
    const id = run();
    const mine = lease(id, 'A');
    const first = await a.append(mine, 0, { writer: 'A:s1d1' });
    // The server checks the expected sequence before the msg id, so a retry after a lost reply conflicts:
    // callers read the log and recognise their own entry (lease.ts, by owner and delivery).
    expect(await a.append(mine, 0, { writer: 'A:s1d1' })).toEqual({ ok: false, reason: 'conflict' });
    expect(await a.last(id, 's=1')).toEqual({ seq: first.ok ? first.seq : -1, entry: mine });
  });

  it('refuses to decide on an entry that is not a task-log entry', async () => {
    const id = run();
    await jetstream(ncA).publish(subjects.taskEvent(id, 'step.started', 's=1'), JSON.stringify({ forged: true }));
    await expect(a.last(id, 's=1')).rejects.toBeInstanceOf(TerminalError);
  });
});
