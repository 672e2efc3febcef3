import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstream } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { LocalStack } from '@pipewright/cli';
import { headers as H, SCHEMA_VERSION, subjects, ToolRequest, type ToolCommand } from '@pipewright/contracts';
import { waitFor, type ProcessHandle } from '@pipewright/devstack';
import { openKvStores, type Stores } from '@pipewright/kit';
import { callTool, memoryReceipts, serveTool, type ToolHandle } from '@pipewright/tools';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EventLog, logLines } from '../resilience/support.js';

const TOOL = 'refund';

/**
 * Effects once for tool calls, through a real executor process, a real tool (served here, with
 * receipts) and the KV store: a command whose receipt exists is answered from it without calling the
 * tool; one with an intent and no receipt (a crash mid-call) calls again with the same idempotency key,
 * and the tool's own receipt keeps its effect to one. `requests` counts every request that reached the
 * tool's subject; `effects` counts handler runs (the effect).
 */
describe('tool calls: intent before dispatch, receipt after', () => {
  let stack: LocalStack;
  let nc: NatsConnection;
  let stores: Stores;
  let events: EventLog;
  let tool: ToolHandle;
  let executor: ProcessHandle;
  const requests = new Map<string, number>();
  const effects = new Map<string, number>();
  const holdMs = new Map<string, number>();
  const logDir = mkdtempSync(join(tmpdir(), 'pw-tool-effects-'));

  beforeAll(async () => {
    stack = await LocalStack.start({ services: [], logDir, env: { PW_EXECUTOR_BUDGET: 'off' } });
    executor = await stack.startService('executor');
    nc = await connect({ servers: stack.natsUrl });
    stores = await openKvStores(nc);
    events = await EventLog.start(stack.natsUrl);
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
  const executorLog = (id: string) => logLines(join(logDir, `${id}.log`)).map((l) => String(l['msg']));

  it('writes an intent before the call and a receipt after; a replayed command is answered from the receipt, the tool is not called', async () => {
    const cmd = command('tool-once', 't1');
    await publish(cmd, 'tool-once:t1:1');
    await waitFor('the tool result', () => completions(cmd.runId)[0], { timeoutMs: 15_000 });
    const record = await stores.toolCalls.get(cmd);
    expect(record.intent).toMatchObject({ idempotencyKey: cmd.idempotencyKey, tool: TOOL, attempt: 1 });
    expect(record.receipt?.result).toMatchObject({ type: 'step.completed', output: { refundId: 'rf-t1', cents: 500 } });

    await publish(cmd, 'tool-once:t1:replayed', true);
    await waitFor('the republished result', () => (completions(cmd.runId).length >= 2 ? true : undefined), { timeoutMs: 15_000 });
    expect(completions(cmd.runId)[1]).toEqual(completions(cmd.runId)[0]);
    expect(requests.get(cmd.idempotencyKey)).toBe(1);
    expect(effects.get(cmd.idempotencyKey)).toBe(1);
    await waitFor('the replay log line', () => executorLog(executor.name).find((m) => m.includes('republished its receipt')), { timeoutMs: 5_000 });
  });

  it('reconciles an intent without a receipt by calling again with the same key; the tool answers from its receipt', async () => {
    const cmd = command('tool-unknown', 't1');
    // What a crash leaves: the intent written, the call made (the tool acted), no receipt.
    await stores.toolCalls.intend({ runId: cmd.runId, stepId: cmd.stepId, callId: cmd.callId, tool: TOOL, idempotencyKey: cmd.idempotencyKey, turn: 1, attempt: 1, at: new Date().toISOString() });
    const first = await callTool(nc, { schemaVersion: SCHEMA_VERSION, tool: TOOL, callId: cmd.callId, idempotencyKey: cmd.idempotencyKey, runId: cmd.runId, stepId: cmd.stepId, arguments: cmd.arguments }, { timeoutMs: 5_000 });
    expect(first).toMatchObject({ ok: true });

    await publish(cmd, 'tool-unknown:t1:replayed', true);
    const done = await waitFor('the reconciled result', () => completions(cmd.runId)[0], { timeoutMs: 15_000 });
    expect(done).toMatchObject({ output: { refundId: 'rf-t1', cents: 500 }, task: 'tool', turn: 1 });
    expect(requests.get(cmd.idempotencyKey)).toBe(2); // called again: the outcome was unknown
    expect(effects.get(cmd.idempotencyKey)).toBe(1); // but the effect happened once
    expect((await stores.toolCalls.get(cmd)).receipt?.result).toEqual(done);
  });

  it('survives an executor killed mid-call: the redelivered command reconciles, the effect happens once', async () => {
    const cmd = command('tool-crash', 't1');
    holdMs.set(cmd.idempotencyKey, 3_000);
    await publish(cmd, 'tool-crash:t1:1');
    await waitFor('the tool call in flight', () => effects.get(cmd.idempotencyKey), { timeoutMs: 10_000 });
    expect((await stores.toolCalls.get(cmd)).intent).toBeDefined();
    await executor.kill();
    const restarted = await stack.startService('executor');
    const done = await waitFor('the result after the crash', () => completions(cmd.runId)[0], { timeoutMs: 30_000 });
    expect(done).toMatchObject({ output: { refundId: 'rf-t1', cents: 500 } });
    expect(effects.get(cmd.idempotencyKey)).toBe(1);
    expect(requests.get(cmd.idempotencyKey)).toBeGreaterThanOrEqual(2);
    await waitFor('the reconcile log line', () => executorLog(restarted.name).find((m) => m.includes('outcome unknown')), { timeoutMs: 5_000 });
    const record = await stores.toolCalls.get(cmd);
    expect(record.receipt?.result).toEqual(done);
    executor = restarted;
  });

  it('hands a reconciling command back while the first call still runs, rather than recording a failure', async () => {
    // No retries within a delivery: the `in_progress` answer to the reconciling call cannot be retried.
    const cmd = { ...command('tool-busy', 't1'), retry: { maxAttempts: 1, initialIntervalMs: 10, backoffCoefficient: 1, maxIntervalMs: 10, deadlineMs: 30_000 } };
    holdMs.set(cmd.idempotencyKey, 5_000);
    await publish(cmd, 'tool-busy:t1:1');
    await waitFor('the tool call in flight', () => effects.get(cmd.idempotencyKey), { timeoutMs: 10_000 });
    await executor.kill();
    const restarted = await stack.startService('executor');
    executor = restarted;
    const done = await waitFor('the result after the first call ends', () => completions(cmd.runId)[0], { timeoutMs: 30_000 });
    expect(done).toMatchObject({ output: { refundId: 'rf-t1', cents: 500 } });
    expect(events.events(cmd.runId).filter((e) => e.type === 'step.failed')).toEqual([]);
    expect(effects.get(cmd.idempotencyKey)).toBe(1);
    expect(requests.get(cmd.idempotencyKey)).toBeGreaterThanOrEqual(3); // the first, an `in_progress`, the cached answer
  });
});
