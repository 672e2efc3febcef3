import { LocalStack } from '@pipewright/cli';
import { isClaimRef } from '@pipewright/contracts';
import { openKvStores, resolveClaim } from '@pipewright/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventLog } from '../resilience/support.js';
import { client, runToEnd, taskEntry } from '../support/run.js';

/** Claim check: a large step output is stored once and only its reference travels and is kept in the run. */
describe('claim check of large step outputs', () => {
  let stack: LocalStack;
  let c: Awaited<ReturnType<typeof client>>;
  let log: EventLog;

  beforeAll(async () => {
    stack = await LocalStack.start({ services: ['planner', 'executor'], env: { PW_CLAIM_THRESHOLD_BYTES: '16384' } });
    c = await client(stack.natsOptions());
    log = await EventLog.start(stack.natsOptions());
  });
  afterAll(async () => {
    await log?.close();
    await c?.close();
    await stack?.stop();
  });

  it('sends a reference instead of a 200 KB output, renders the next prompt from the value, and keeps the run small', async () => {
    const runId = 'claim-check-1';
    const big = { title: 'TITLE-7f3a', body: 'lorem ipsum '.repeat(17_000) };
    await stack.sim.setConfig({
      scripts: [
        { match: { key: `${runId}:draft` }, reply: { json: big } },
        // answers only when the rendered prompt holds the title read from the claim-checked output
        { match: { key: `${runId}:review`, contains: 'Review TITLE-7f3a' }, reply: { json: { verdict: 'seen' } } },
        { match: { key: `${runId}:review` }, reply: { json: { verdict: 'title missing' } } },
      ],
    });
    const pipeline = {
      name: 'claim-check',
      defaults: { model: 'sim-small' },
      steps: [
        { id: 'draft', prompt: 'Write it', output: { type: 'object', properties: { title: { type: 'string' }, body: { type: 'string' } }, required: ['title', 'body'] } },
        { id: 'review', needs: ['draft'], prompt: 'Review {{steps.draft.output.title}}', output: { type: 'object', properties: { verdict: { type: 'string' } }, required: ['verdict'] } },
      ],
    };
    const { end } = await runToEnd(c.js, pipeline, {}, { runId });
    expect(end).toMatchObject({ type: 'run.finished', status: 'succeeded', output: { verdict: 'seen' } });

    const completed = log.seen(runId).find((e) => e.event.type === 'step.completed' && e.event.stepId === 'draft');
    const ref = completed?.event.type === 'step.completed' ? completed.event.output : undefined;
    expect(isClaimRef(ref)).toBe(true);
    expect(JSON.stringify(completed?.event).length).toBeLessThan(2_000);

    const stores = await openKvStores(c.nc);
    expect(await resolveClaim(ref, stores.blobs)).toEqual(big);
    const run = await stores.runs.get(runId);
    expect(run?.value.steps['draft']?.output).toEqual(ref);
    expect(JSON.stringify(run?.value).length).toBeLessThan(16_384);
    expect(((await taskEntry(c.nc, runId, 'draft=1')) as { output?: unknown } | undefined)?.output).toEqual(ref);
  });
});
