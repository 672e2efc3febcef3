import { LocalStack } from '@pipewright/cli';
import { openKvStores } from '@pipewright/kit';
import { serveTool, type ToolHandle } from '@pipewright/tools';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { client, runToEnd, taskEntry, trailOf } from '../support/run.js';

/**
 * Agent steps end to end: the simulator plays the model (scripted tool calls through the real `openai`
 * client), the planner runs the loop and its guards, the executor runs the model turns and the tool
 * calls, and a tool served over NATS in this process does the work.
 */
describe('agent steps through planner, executor and a NATS tool', () => {
  let stack: LocalStack;
  let c: Awaited<ReturnType<typeof client>>;
  let tool: ToolHandle;
  const calls: { key: string; orderId: string }[] = [];

  const pipeline = (name: string, extra: Record<string, unknown> = {}) => ({
    name,
    defaults: { model: 'sim-small', retry: { maxAttempts: 2, initialIntervalMs: 10 } },
    // The schema comes from the tool registry (the tool below registers itself when it starts).
    tools: { 'lookup-order': { description: 'Find an order by id' } },
    steps: [
      { id: 'intake', prompt: 'Summarise: {{input.message}}' },
      { id: 'support', kind: 'agent', needs: ['intake'], prompt: 'Resolve: {{input.message}}', tools: ['lookup-order'], output: { type: 'object', properties: { reply: { type: 'string' } }, required: ['reply'] }, ...extra },
    ],
  });

  beforeAll(async () => {
    stack = await LocalStack.start({ services: ['planner', 'executor'] });
    c = await client(stack.natsOptions());
    tool = await serveTool(c.nc, {
      name: 'lookup-order',
      description: 'Find an order by id',
      version: '1.0.0',
      input: z.object({ orderId: z.string() }),
      output: z.object({ id: z.string(), status: z.string() }),
      handler: ({ orderId }, ctx) => {
        calls.push({ key: ctx.idempotencyKey, orderId });
        return Promise.resolve({ id: orderId, status: 'shipped' });
      },
    });
    await tool.registered;
  });
  afterAll(async () => {
    await tool?.stop();
    await c?.close();
    await stack?.stop();
  });
  beforeEach(() => {
    calls.length = 0;
  });

  it('calls the tool the model asks for, feeds the result back, and finishes with the validated answer', async () => {
    const runId = 'agent-ok';
    await stack.sim.setConfig({
      scripts: [
        { match: { key: `${runId}:support:t1` }, reply: { toolCalls: [{ name: 'lookup-order', arguments: { orderId: 'o-1001' } }] } },
        { match: { key: `${runId}:support:t2` }, reply: { json: { reply: 'Your order o-1001 has shipped.' } } },
      ],
    });
    const { end, events } = await runToEnd(c.js, pipeline('agent-ok'), { message: 'where is o-1001?' }, { runId });
    expect(end).toMatchObject({ type: 'run.finished', status: 'succeeded', output: { reply: 'Your order o-1001 has shipped.' } });
    expect(calls).toEqual([{ key: `${runId}:support:t1`, orderId: 'o-1001' }]);
    // each model turn is checkpointed on its own, with its action
    expect(((await taskEntry(c.nc, runId, 'support=1=t1')) as { output?: unknown } | undefined)?.output).toMatchObject({ action: 'tool', call: { name: 'lookup-order', arguments: { orderId: 'o-1001' } } });
    expect(((await taskEntry(c.nc, runId, 'support=1=t2')) as { output?: unknown } | undefined)?.output).toEqual({ action: 'final', output: { reply: 'Your order o-1001 has shipped.' } });
    const completed = events.filter((e) => e.type === 'step.completed' && e.stepId === 'support');
    expect(completed.length).toBeGreaterThanOrEqual(3); // turn 1, the tool call, turn 2
    const counters = await stack.sim.counters();
    expect(counters.byKey[`${runId}:support:t1`]?.calls).toBe(1);
    expect(counters.byKey[`${runId}:support:t2`]?.calls).toBe(1);
  });

  it('stops an agent that repeats one action with the repetition guard, keeping the partial result', async () => {
    const runId = 'agent-loop';
    await stack.sim.setConfig({ scripts: [{ match: { key: `${runId}:support` }, reply: { toolCalls: [{ name: 'lookup-order', arguments: { orderId: 'o-7' } }] } }] });
    const { end } = await runToEnd(c.js, pipeline('agent-loop', { repeatLimit: 3, maxIterations: 50 }), { message: 'loop' }, { runId });
    expect(end).toMatchObject({ type: 'run.finished', status: 'failed', reason: expect.stringContaining('guard: repeatLimit') });
    if (end.type !== 'run.finished') throw new Error('unreachable');
    expect(end.partial).toHaveProperty('intake');
    // the third identical request is not executed: the guard ends the run before dispatching it
    expect(calls.map((x) => x.orderId)).toEqual(['o-7', 'o-7']);
    const counters = await stack.sim.counters();
    expect(Object.keys(counters.byKey).filter((k) => k.startsWith(`${runId}:support:t`))).toHaveLength(3);
  });

  it('refuses a tool the step does not declare, tells the model why, and never calls it', async () => {
    const runId = 'agent-refused';
    await stack.sim.setConfig({
      scripts: [
        { match: { key: `${runId}:support:t1` }, reply: { toolCalls: [{ name: 'delete-all-orders', arguments: { confirm: true } }] } },
        { match: { key: `${runId}:support:t2` }, reply: { json: { reply: 'I cannot do that.' } } },
      ],
    });
    let served = 0;
    const forbidden = await serveTool(c.nc, {
      name: 'delete-all-orders',
      description: 'not declared by the pipeline',
      version: '1.0.0',
      input: z.object({ confirm: z.boolean() }),
      output: z.object({ deleted: z.number() }),
      handler: () => Promise.resolve({ deleted: ++served }),
    });
    try {
      const { runId: id, end } = await runToEnd(c.js, pipeline('agent-refused'), { message: 'delete everything' }, { runId });
      expect(end).toMatchObject({ type: 'run.finished', status: 'succeeded', output: { reply: 'I cannot do that.' } });
      expect(served).toBe(0);
      const stores = await openKvStores(c.nc);
      const trail = await trailOf(c.js, id);
      expect(trail.find((d) => d.action === 'refuse-tool')).toMatchObject({ reason: expect.stringContaining('delete-all-orders') });
      const run = await stores.runs.get(id);
      const history = run?.value.steps['support']?.agent?.history ?? [];
      expect(history.find((m) => m.role === 'tool')?.content).toMatch(/^error: .*delete-all-orders/);
    } finally {
      await forbidden.stop();
    }
  });
});
