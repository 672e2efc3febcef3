import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { LocalStack } from '@pipewright/cli';
import { headers as H, SCHEMA_VERSION, subjects, taskIdOf, ToolRequest, type ToolCommand } from '@pipewright/contracts';
import { waitFor, type ProcessHandle } from '@pipewright/devstack';
import { TaskLog } from '@pipewright/kit';
import { callTool, memoryReceipts, serveTool, type ToolHandle } from '@pipewright/tools';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EventLog, logLines } from '../resilience/support.js';

const TOOL = 'refund';

/**
 * Effects once for tool calls, through a real executor process and a real tool (served here, with
 * receipts). A tool call is a task: its lease in the task's log is the intent (written before the tool
 * is called), its result there the receipt. A command whose result exists calls nothing; one whose
 * lease belongs to an executor that died mid-call (outcome unknown) is taken over and calls again with
 * the same idempotency key, and the tool's own receipt keeps its effect to one. `requests` counts every
 * request that reached the tool's subject; `effects` counts handler runs (the effect).
 */
describe('tool calls: the lease before the call, the result after', () => {
  let stack: LocalStack;
  let nc: NatsConnection;
  let log: TaskLog;
  let events: EventLog;
  let tool: ToolHandle;
  let executor: ProcessHandle;
  const requests = new Map<string, number>();
  const effects = new Map<string, number>();
  const holdMs = new Map<string, number>();
  /** Calls that wait until the test lets them go (instead of for a time), by idempotency key. */
  const gates = new Map<string, Promise<void>>();
  const logDir = mkdtempSync(join(tmpdir(), 'pw-tool-effects-'));

  beforeAll(async () => {
    stack = await LocalStack.start({ services: [], logDir, env: { PW_EXECUTOR_BUDGET: 'off' } });
    executor = await stack.startService('executor');
    nc = await connect(stack.natsOptions());
    log = new TaskLog(jetstream(nc), await jetstreamManager(nc));
    events = await EventLog.start(stack.natsOptions());
    // Every request on the tool's subject, whoever answers it (a plain subscription beside the queue group).
    nc.subscribe(`pw.tools.${TOOL}`, {
      callback: (_err, m) => {
        const r = ToolRequest.safeParse(m.json());
        if (r.success) requests.set(r.data.idempotencyKey, (requests.get(r.data.idempotencyKey) ?? 0) + 1);
      },
    });
    tool = await serveTool(nc, {
      name: TOOL,
      description: 'Refunds an order (test double with a real effect counter).',
      input: z.object({ cents: z.number().int().positive() }).strict(),
      dedupe: memoryReceipts(),
      timeoutMs: 20_000,
      handler: async ({ cents }, ctx) => {
        effects.set(ctx.idempotencyKey, (effects.get(ctx.idempotencyKey) ?? 0) + 1);
        await sleep(holdMs.get(ctx.idempotencyKey) ?? 0, undefined, { signal: ctx.signal });
        await gates.get(ctx.idempotencyKey);
        return { refundId: `rf-${ctx.request.callId}`, cents };
      },
    });
    await nc.flush();
  });
  afterAll(async () => {
    await tool?.stop(1_000);
    await events?.close();
    await nc?.drain();
    await stack?.stop();
    if (process.env['PW_KEEP_LOGS'] === undefined) rmSync(logDir, { recursive: true, force: true });
  });

  const command = (runId: string, callId: string): ToolCommand => ({
    schemaVersion: SCHEMA_VERSION,
    runId,
    stepId: 'support',
    turn: 1,
    attempt: 1,
    pool: 'default',
    kind: 'tool',
    tool: TOOL,
    callId,
    arguments: { cents: 500 },
    idempotencyKey: `${runId}:support:${callId}`,
    timeoutMs: 15_000,
    retry: { maxAttempts: 20, initialIntervalMs: 100, backoffCoefficient: 1.5, maxIntervalMs: 500, deadlineMs: 30_000 },
  });
  /** Publishes a command; `replay` marks it as the planner marks a command republished from its outbox. */
  const publish = async (cmd: ToolCommand, msgId: string, replay = false) => {
    const h = headers();
    if (replay) h.set(H.replay, '1');
    await jetstream(nc).publish(subjects.toolDispatch('default'), JSON.stringify(cmd), { msgID: msgId, headers: h });
  };
  const completions = (runId: string) => events.events(runId).filter((e) => e.type === 'step.completed');
  /** The types in the task's log, in order (every entry while the test's log listener ran). */
  const entries = (runId: string) => events.events(runId).filter((e) => e.type.startsWith('step.')).map((e) => e.type);
  const taskOf = (cmd: ToolCommand) => taskIdOf(cmd);
  const executorLog = (id: string) => logLines(join(logDir, `${id}.log`)).map((l) => String(l['msg']));

  it('takes the lease before the call and appends the result after; a replayed command finds the result, the tool is not called', async () => {
    const cmd = command('tool-once', 't1');
    await publish(cmd, 'tool-once:t1:1');
    await waitFor('the tool result', () => completions(cmd.runId)[0], { timeoutMs: 15_000 });
    expect(entries(cmd.runId)).toEqual(['step.started', 'step.completed']);
    const last = await log.last(cmd.runId, taskOf(cmd));
    expect(last?.entry).toMatchObject({ type: 'step.completed', task: 'tool', output: { refundId: 'rf-t1', cents: 500 } });

    await publish(cmd, 'tool-once:t1:replayed', true);
    await waitFor('the replay log line', () => executorLog(executor.name).find((m) => m.includes('task not run')), { timeoutMs: 10_000 });
    expect(completions(cmd.runId)).toHaveLength(1);
    expect(requests.get(cmd.idempotencyKey)).toBe(1);
    expect(effects.get(cmd.idempotencyKey)).toBe(1);
  });

  it('takes over a lease whose executor is gone and calls again with the same key; the tool answers from its receipt', async () => {
    const cmd = command('tool-unknown', 't1');
    // What a crash leaves: a lease of an executor that no longer exists, the call made (the tool acted), no result.
    const lease = await log.append({ schemaVersion: SCHEMA_VERSION, type: 'step.started', runId: cmd.runId, stepId: cmd.stepId, attempt: 1, task: 'tool', turn: 1, owner: 'default-gone-0000', delivery: 's1d1', at: new Date().toISOString() }, 0, { writer: 'test' });
    expect(lease.ok).toBe(true);
    const first = await callTool(nc, { schemaVersion: SCHEMA_VERSION, tool: TOOL, callId: cmd.callId, idempotencyKey: cmd.idempotencyKey, runId: cmd.runId, stepId: cmd.stepId, arguments: cmd.arguments }, { timeoutMs: 5_000 });
    expect(first).toMatchObject({ ok: true });

    await publish(cmd, 'tool-unknown:t1:replayed', true);
    const done = await waitFor('the reconciled result', () => completions(cmd.runId)[0], { timeoutMs: 15_000 });
    expect(done).toMatchObject({ output: { refundId: 'rf-t1', cents: 500 }, task: 'tool', turn: 1 });
    expect(requests.get(cmd.idempotencyKey)).toBe(2); // called again: the outcome was unknown
    expect(effects.get(cmd.idempotencyKey)).toBe(1); // but the effect happened once
    const started = events.events(cmd.runId).find((e) => e.type === 'step.started' && e.owner !== 'default-gone-0000');
    expect(started).toMatchObject({ takeover: { from: 'default-gone-0000' } });
    expect((await log.last(cmd.runId, taskOf(cmd)))?.entry).toEqual(done);
  });

  it('survives an executor killed mid-call: its successor takes the call over, the effect happens once', async () => {
    const cmd = command('tool-crash', 't1');
    holdMs.set(cmd.idempotencyKey, 3_000);
    await publish(cmd, 'tool-crash:t1:1');
    await waitFor('the tool call in flight', () => effects.get(cmd.idempotencyKey), { timeoutMs: 10_000 });
    expect((await log.last(cmd.runId, taskOf(cmd)))?.entry.type).toBe('step.started');
    await executor.kill();
    const restarted = await stack.startService('executor');
    const done = await waitFor('the result after the crash', () => completions(cmd.runId)[0], { timeoutMs: 30_000 });
    expect(done).toMatchObject({ output: { refundId: 'rf-t1', cents: 500 } });
    expect(effects.get(cmd.idempotencyKey)).toBe(1);
    expect(requests.get(cmd.idempotencyKey)).toBeGreaterThanOrEqual(2);
    await waitFor('the reconcile log line', () => executorLog(restarted.name).find((m) => m.includes('outcome unknown')), { timeoutMs: 5_000 });
    expect((await log.last(cmd.runId, taskOf(cmd)))?.entry).toEqual(done);
    executor = restarted;
  });

  it('hands a reconciling command back while the first call still runs, rather than recording a failure', async () => {
    // No retries within a delivery: the `in_progress` answer to the reconciling call cannot be retried.
    const cmd = { ...command('tool-busy', 't1'), retry: { maxAttempts: 1, initialIntervalMs: 10, backoffCoefficient: 1, maxIntervalMs: 10, deadlineMs: 60_000 } };
    // The first call runs until the test has seen the reconciling calls answered `in_progress`.
    let release!: () => void;
    gates.set(cmd.idempotencyKey, new Promise<void>((r) => (release = r)));
    await publish(cmd, 'tool-busy:t1:1');
    await waitFor('the tool call in flight', () => effects.get(cmd.idempotencyKey), { timeoutMs: 10_000 });
    await executor.kill();
    const restarted = await stack.startService('executor');
    executor = restarted;
    // the successor's call gets `in_progress` (the first still runs) and hands the command back: a third request follows
    await waitFor('a reconciling call handed back and made again', () => ((requests.get(cmd.idempotencyKey) ?? 0) >= 3 ? true : undefined), { timeoutMs: 60_000 });
    expect(events.events(cmd.runId).filter((e) => e.type === 'step.failed' || e.type === 'step.completed')).toEqual([]);
    release();
    const done = await waitFor('the result after the first call ends', () => completions(cmd.runId)[0], { timeoutMs: 30_000 });
    expect(done).toMatchObject({ output: { refundId: 'rf-t1', cents: 500 } });
    expect(events.events(cmd.runId).filter((e) => e.type === 'step.failed')).toEqual([]);
    expect(effects.get(cmd.idempotencyKey)).toBe(1);
    expect(requests.get(cmd.idempotencyKey)).toBeGreaterThanOrEqual(4); // the first, `in_progress` twice, the cached answer
  });
});
