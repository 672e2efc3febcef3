import { PipelineSpec, type RunState } from '@pipewright/contracts';
import type { BlobStore } from '@pipewright/kit';
import { describe, expect, it } from 'vitest';
import { stepCard } from '../src/dashboard/views/steps.js';
import { OutputResolver } from '../src/reader/outputs.js';
import { buildDetail } from '../src/reader/run-detail.js';

const AT = '2026-12-01T00:00:00.000Z';
/** No blob is read here (every output is inline): a store that has none. */
const noBlobs: BlobStore = { put: () => Promise.reject(new Error('read only')), get: () => Promise.resolve(undefined), deleteRun: () => Promise.resolve(0) };

function runState(steps: RunState['steps']): RunState {
  const pipeline = PipelineSpec.parse({
    name: 'p',
    defaults: { model: 'm' },
    steps: [
      { id: 'each', kind: 'map', over: 'input.lines', step: { prompt: '{{item}}' } },
      { id: 'extra', when: { path: 'input.more', equals: true }, prompt: 'x' },
    ],
  });
  return { runId: 'r1', status: 'running', pipeline, input: { lines: [1, 2, 3, 4, 5] }, tenant: 't', steps, dispatches: 3, decisionSeq: 0, usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 }, costUsd: 0, budget: {}, createdAt: AT, updatedAt: AT, deadlineAt: AT, outbox: [] };
}

describe('the run detail of map and skipped steps', () => {
  it("shows a running map's items by where they are, and a skipped step with its reason", async () => {
    const s = runState({
      each: { status: 'dispatched', attempt: 1, map: { total: 5 } },
      each__0: { status: 'succeeded', attempt: 1, output: 'a' },
      each__1: { status: 'dispatched', attempt: 1 },
      each__2: { status: 'succeeded', attempt: 1, output: 'c' },
      each__3: { status: 'dispatched', attempt: 2 },
      extra: { status: 'skipped', attempt: 0, skipReason: 'when: {"path":"input.more","equals":true} is false' },
    });
    const d = await buildDetail(s, [], new OutputResolver('r1', [], noBlobs), undefined);
    expect(d.stepList.map((v) => v.id)).toEqual(['each', 'extra']); // items are not steps of the list
    expect(d.stepList[0]).toMatchObject({ kind: 'map', status: 'dispatched', items: { total: 5, succeeded: 2, running: 2, failed: 0 } });
    expect(d.stepList[1]).toMatchObject({ status: 'skipped', skipReason: 'when: {"path":"input.more","equals":true} is false' });
    // the run page shows both
    expect(stepCard(d.stepList[0]!, { run: d, canOperate: false }).text).toContain('<dt>Items</dt><dd>2 of 5 succeeded · 2 running</dd>');
    expect(stepCard(d.stepList[1]!, { run: d, canOperate: false }).text).toContain('<dt>Skipped</dt><dd>when: {&quot;path&quot;:&quot;input.more&quot;,&quot;equals&quot;:true} is false</dd>');
  });

  it('a finished map shows every item succeeded and its list', async () => {
    const s = runState({ each: { status: 'succeeded', attempt: 1, map: { total: 2 }, output: ['a', 'b'] }, extra: { status: 'pending', attempt: 0 } });
    const d = await buildDetail(s, [], new OutputResolver('r1', [], noBlobs), undefined);
    expect(d.stepList[0]).toMatchObject({ items: { total: 2, succeeded: 2, running: 0, failed: 0 }, output: ['a', 'b'] });
    expect(d.stepList[1]!.items).toBeUndefined();
  });
});
