import { LocalStack } from '@pipewright/cli';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, runToEnd, trailOf } from '../support/run.js';

/**
 * The run deadline is a durable timer (`pw.runs.deadline`, held back by delayed naks), so a run that
 * waits — for a person, here — ends as timed_out on time even when no other event comes.
 */
describe('run deadline', () => {
  let stack: LocalStack;
  let c: Awaited<ReturnType<typeof client>>;

  beforeAll(async () => {
    stack = await LocalStack.start({ services: ['planner', 'executor'] });
    c = await client(stack.natsOptions());
  });
  afterAll(async () => {
    await c?.close();
    await stack?.stop();
  });

  it('times out a run that waits for an approval nobody gives, with its partial result', async () => {
    const started = Date.now();
    const pipeline = {
      name: 'waits',
      defaults: { model: 'sim-small' },
      limits: { deadlineMs: 2_000 },
      steps: [
        { id: 'draft', prompt: 'Draft' },
        // no approver runs and the approval has no timeout: only the run deadline can end this run
        { id: 'publish', needs: ['draft'], prompt: 'Publish {{steps.draft.output}}', approval: { always: true } },
      ],
    };
    const { runId, end } = await runToEnd(c.js, pipeline, {}, { timeoutMs: 20_000 });
    expect(end).toMatchObject({ type: 'run.finished', status: 'timed_out', reason: expect.stringContaining('guard: limits.deadlineMs') });
    if (end.type !== 'run.finished') throw new Error('unreachable');
    expect(end.partial).toHaveProperty('draft');
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
    const trail = await trailOf(c.js, runId);
    expect(trail.map((d) => d.action)).toContain('request-approval');
  });
});
