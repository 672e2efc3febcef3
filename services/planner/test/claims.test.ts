import { PipelineSpec, type RunState, type StepCompleted } from '@pipewright/contracts';
import type { BlobStore } from '@pipewright/kit';
import { describe, expect, it } from 'vitest';
import { ClaimTable, ITEM_INLINE_BYTES, STATE_INLINE_BYTES } from '../src/claims.js';
import { decide, type Transition } from '../src/index.js';
import type { ResultRef } from '../src/result-refs.js';

/**
 * The planner's side of the claim check: a step output above STATE_INLINE_BYTES is kept in the stored
 * run as a reference to the task result that delivered it, and resolved again for deciding. A real
 * blob store is not needed here (nothing above the executor's threshold): one that refuses writes
 * proves no blob is written for an output the run can point at.
 */
describe('ClaimTable', () => {
  const refusingBlobs: BlobStore = { put: () => Promise.reject(new Error('no blob write expected')), get: () => Promise.resolve(undefined), deleteRun: () => Promise.resolve(0) };
  /** Task results by stream sequence, as PW_EVENTS would hand them back (a fresh copy each read). */
  const results = new Map<number, unknown>();
  const reads: number[] = [];
  const table = () => new ClaimTable(refusingBlobs, { output: (r: ResultRef) => (reads.push(r.$result.seq), Promise.resolve(structuredClone(results.get(r.$result.seq)))) });

  const pipeline = PipelineSpec.parse({ name: 'c', defaults: { model: 'm' }, steps: [{ id: 'a', prompt: 'p' }, { id: 'b', prompt: 'q {{steps.a.output.summary}}', needs: ['a'] }] });
  const submit = (runId: string) => changed(decide(undefined, { type: 'run.submitted', runId, request: { schemaVersion: 1, runId, pipeline, input: {}, tenant: 'default' } }, new Date())).state;
  const result = (runId: string, stepId: string, output: unknown): StepCompleted => ({ schemaVersion: 1, type: 'step.completed', runId, stepId, attempt: 1, task: 'llm', calls: 1, usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 }, latencyMs: 1, at: new Date().toISOString(), model: { provider: 'default', model: 'm' }, output, rung: 'direct' });
  const big = (s: string) => ({ summary: s.repeat(STATE_INLINE_BYTES) });

  async function apply(t: ClaimTable, state: RunState, e: StepCompleted, seq: number): Promise<{ stored: RunState; decided: Extract<Transition, { kind: 'changed' }> }> {
    const h = await t.hydrate(state, e);
    const decided = changed(decide(h.state, h.event, new Date()));
    return { stored: await t.dehydrate(decided.state, h.refs, { stepId: e.stepId, seq, output: (h.event).output }), decided };
  }

  it('stores a large output as a reference to its result, resolves it for the next prompt, and writes nothing', async () => {
    const t = table();
    results.set(4, big('a'));
    const one = await apply(t, submit('r1'), result('r1', 'a', big('a')), 4);
    expect(one.stored.steps['a']?.output).toEqual({ $result: { runId: 'r1', seq: 4, bytes: expect.any(Number) } });
    // the next step's prompt was rendered from the value
    expect(JSON.stringify(one.decided.messages)).toContain('a'.repeat(STATE_INLINE_BYTES));
    // a planner that did not see it (a restart) reads the result back for the next transition
    const fresh = table();
    results.set(6, big('b'));
    const two = await apply(fresh, one.stored, result('r1', 'b', big('b')), 6);
    expect(reads).toContain(4);
    expect(two.stored.steps['a']?.output).toEqual(one.stored.steps['a']?.output);
    expect(two.stored.steps['b']?.output).toMatchObject({ $result: { runId: 'r1', seq: 6 } });
    expect(two.stored.output).toEqual(two.stored.steps['b']?.output);
    expect(JSON.stringify(two.stored).length).toBeLessThan(4_000);
  });

  it('keeps small outputs inline', async () => {
    const { stored } = await apply(table(), submit('r2'), result('r2', 'a', { summary: 'short' }), 9);
    expect(stored.steps['a']?.output).toEqual({ summary: 'short' });
  });

  it("keeps a map item's output above ITEM_INLINE_BYTES as a reference while the map runs, a plain step's stays inline", async () => {
    const mapSpec = PipelineSpec.parse({ name: 'm', defaults: { model: 'm' }, steps: [{ id: 'each', kind: 'map', over: 'input.xs', step: { prompt: '{{item}}' } }, { id: 'a', prompt: 'p' }] });
    const s0 = changed(decide(undefined, { type: 'run.submitted', runId: 'r9', request: { schemaVersion: 1, runId: 'r9', pipeline: mapSpec, input: { xs: [1, 2] }, tenant: 'default' } }, new Date())).state;
    const t = table();
    const medium = { summary: 'm'.repeat(ITEM_INLINE_BYTES + 10) }; // above the item threshold, below a step's
    results.set(21, medium);
    const one = await apply(t, s0, result('r9', 'each__0', medium), 21);
    expect(one.stored.steps['each__0']?.output).toEqual({ $result: { runId: 'r9', seq: 21, bytes: expect.any(Number) } });
    const same = structuredClone(medium); // another value (the table knows the first one's origin)
    const two = await apply(t, one.stored, result('r9', 'a', same), 22);
    expect(two.stored.steps['a']?.output).toEqual(same);
    const tiny = await apply(t, two.stored, result('r9', 'each__1', 'ok'), 23);
    expect(tiny.stored.steps['each__1']).toBeUndefined(); // the map finished: its items' records gave way to the list
    expect(tiny.decided.state.steps['each']?.output).toEqual([medium, 'ok']);
  });

  it('never resolves another run’s reference: the same text in two runs stays each run’s own', async () => {
    const t = table();
    const text = 'same words '.repeat(100);
    results.set(11, text);
    const r3 = await apply(t, submit('r3'), result('r3', 'a', text), 11);
    const r4 = await apply(t, submit('r4'), result('r4', 'a', text), 12);
    expect(r3.stored.steps['a']?.output).toMatchObject({ $result: { runId: 'r3', seq: 11 } });
    expect(r4.stored.steps['a']?.output).toMatchObject({ $result: { runId: 'r4', seq: 12 } });
    // a reference naming another run is left as it is (a model cannot pull in another run's data)
    const forged = await t.hydrate(r4.stored, { ...result('r4', 'b', { $result: { runId: 'r3', seq: 11, bytes: 10 } }) });
    expect((forged.event).output).toEqual({ $result: { runId: 'r3', seq: 11, bytes: 10 } });
  });
});

function changed(t: Transition): Extract<Transition, { kind: 'changed' }> {
  if (t.kind !== 'changed') throw new Error(`expected a change: ${t.reason}`);
  return t;
}
