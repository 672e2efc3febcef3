import { SCHEMA_VERSION } from '@pipewright/contracts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { admit, decide } from '../src/index.js';
import { completed, failed, later } from './fixtures.js';
import { changed, commands, flowRequest, inFlight, settled, submit } from './flow-fixtures.js';

const lines = (n: number) => Array.from({ length: n }, (_, i) => `line ${i}`);

/** A map over input.lines (each item one llm call), then a step that reads the map's list. */
function mapRequest(n: unknown, map: Record<string, unknown> = {}, pipeline: Record<string, unknown> = {}) {
  return flowRequest(
    [
      { id: 'each', kind: 'map', over: 'input.lines', concurrency: 3, step: { prompt: 'Item {{index}}: {{item}}' }, ...map },
      { id: 'sum', needs: ['each'], prompt: 'Sum {{steps.each.output}}' },
    ],
    { lines: typeof n === 'number' ? lines(n) : n },
    pipeline,
  );
}

describe('map steps', () => {
  it('is admitted: map is no longer refused at submit', () => {
    expect(admit(mapRequest(2), new Map())).toMatchObject({ ok: true });
    expect(admit(mapRequest(2), new Map(), { maxStateBytes: 512 * 1024 })).toMatchObject({ ok: true });
  });

  it('refuses at submit a maxItems whose finished items could not fit in the run state limit, saying how many fit', () => {
    const r = admit(mapRequest(2, { maxItems: 10_000 }), new Map(), { maxStateBytes: 512 * 1024 });
    expect(r.ok).toBe(false);
    const issue = !r.ok ? r.issues[0]! : undefined;
    expect(issue?.path).toBe('pipeline.steps[0].maxItems');
    expect(issue?.message).toMatch(/PW_RUN_STATE_MAX_BYTES\); at most about \d+ items fit: lower maxItems, or raise PW_RUN_STATE_MAX_BYTES$/);
    const fits = Number(/at most about (\d+) items/.exec(issue!.message)![1]);
    expect(fits).toBeGreaterThan(1000);
    expect(admit(mapRequest(2, { maxItems: fits }), new Map(), { maxStateBytes: 512 * 1024 })).toMatchObject({ ok: true });
    expect(admit(mapRequest(2, { maxItems: 10_000 }), new Map(), { maxStateBytes: 4 * 1024 * 1024 })).toMatchObject({ ok: true });
  });

  it('dispatches the first `concurrency` items with item and index rendered, as ordinary tasks', () => {
    const t = submit(mapRequest(5));
    const cmds = commands(t);
    expect(cmds.map((c) => [c.stepId, c.attempt])).toEqual([['each__0', 1], ['each__1', 1], ['each__2', 1]]);
    expect(cmds[1]!.call.messages).toEqual([{ role: 'user', content: 'Item 1: line 1' }]);
    expect(t.messages.find((m) => m.subject === 'pw.steps.default.dispatch')?.msgId).toBe('run-1:each__0=1:cmd');
    expect(t.state.steps.each).toMatchObject({ status: 'dispatched', map: { total: 5 } });
    expect(t.state.dispatches).toBe(3);
    expect(t.decisions.map((d) => d.action)).toEqual(['start', 'map', 'dispatch', 'dispatch']);
    const events = t.messages.filter((m) => m.subject.includes('step.dispatched')).map((m) => (m.payload as { stepId: string }).stepId);
    expect(events).toEqual(['each__0', 'each__1', 'each__2']);
    // pending items have no record yet: the stored run grows only with the items that ran
    expect(Object.keys(t.state.steps).sort()).toEqual(['each', 'each__0', 'each__1', 'each__2', 'sum']);
  });

  it('never has more than `concurrency` items unfinished, whatever order they finish in, and collects outputs in list order', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 6 }), fc.array(fc.nat(), { minLength: 60, maxLength: 60 }), (n, concurrency, picks) => {
        let t = submit(mapRequest(n, { concurrency }));
        let s = t.state;
        let k = 0;
        let maxSeen = 0;
        while (s.steps.each!.status === 'dispatched') {
          const flying = inFlight(s);
          maxSeen = Math.max(maxSeen, flying.length);
          expect(flying.length).toBeLessThanOrEqual(concurrency);
          const id = flying[picks[k++ % picks.length]! % flying.length]!;
          const index = Number(id.split('__')[1]);
          t = changed(decide(s, completed(s, id, { n: index }), later(k)));
          s = t.state;
        }
        expect(maxSeen).toBe(Math.min(n, concurrency));
        expect(s.steps.each!.output).toEqual(Array.from({ length: n }, (_, i) => ({ n: i })));
        expect(s.steps.each!.status).toBe('succeeded');
        // items' records are dropped once the map holds their outputs; the next step got the list
        expect(Object.keys(s.steps).sort()).toEqual(['each', 'sum']);
        expect(commands(t).map((c) => c.stepId)).toEqual(['sum']);
        expect(commands(t)[0]!.call.messages[0]!.content).toBe(`Sum ${JSON.stringify(Array.from({ length: n }, (_, i) => ({ n: i })))}`);
        expect(s.dispatches).toBe(n + 1);
        // the items' spending is the map's (and the run's)
        expect(s.steps.each!.usage?.totalTokens).toBe(15 * n);
        expect(s.usage.totalTokens).toBe(15 * n);
      }),
      { numRuns: 60 },
    );
  });

  it('keeps only status, attempt and output of a finished item while the map runs', () => {
    const s0 = submit(mapRequest(4)).state;
    const s1 = changed(decide(s0, completed(s0, 'each__1', 'one'), later(1))).state;
    expect(s1.steps.each__1).toEqual({ status: 'succeeded', attempt: 1, output: 'one' });
    expect(inFlight(s1)).toEqual(['each__0', 'each__2', 'each__3']);
  });

  it('a duplicate item result changes nothing, during the map and after it', () => {
    const s0 = submit(mapRequest(2)).state;
    const s1 = changed(decide(s0, completed(s0, 'each__0', 'a'), later(1))).state;
    expect(decide(s1, completed(s1, 'each__0', 'a'), later(2))).toMatchObject({ kind: 'unchanged', reason: expect.stringContaining('already succeeded') });
    const s2 = changed(decide(s1, completed(s1, 'each__1', 'b'), later(3))).state;
    expect(s2.steps.each!.output).toEqual(['a', 'b']);
    expect(decide(s2, completed(s2, 'each__1', 'b'), later(4)).kind).toBe('unchanged');
    expect(decide(s2, failed(s2, 'each__1'), later(4)).kind).toBe('unchanged');
    // a result naming the map itself, or an item that does not exist, is no task's
    expect(decide(s2, completed(s2, 'each', ['x']), later(4)).kind).toBe('unchanged');
    expect(decide(s1, completed(s1, 'each__7', 'x'), later(4)).kind).toBe('unchanged');
  });

  it('an empty list succeeds at once with [] and the DAG goes on', () => {
    const t = submit(mapRequest(0));
    expect(t.state.steps.each).toMatchObject({ status: 'succeeded', output: [], map: { total: 0 } });
    expect(commands(t).map((c) => [c.stepId, c.call.messages[0]!.content])).toEqual([['sum', 'Sum []']]);
  });

  it('fails the run before any item runs when `over` is not a list, naming the path and what was there', () => {
    const t = submit(mapRequest({ a: 1 }));
    expect(t.state.status).toBe('failed');
    expect(t.state.reason).toBe('step each: map over input.lines found an object (a), not a list');
    expect(commands(t)).toEqual([]);
    const missing = submit(flowRequest([{ id: 'each', kind: 'map', over: 'input.rows', step: { prompt: '{{item}}' } }], {}));
    expect(missing.state.reason).toBe('step each: map over input.rows found nothing, not a list');
    expect(submit(mapRequest('abc')).state.reason).toBe('step each: map over input.lines found a string ("abc"), not a list');
  });

  it('fails the run when the list is longer than maxItems (guard: maxItems)', () => {
    const t = submit(mapRequest(6, { maxItems: 5 }));
    expect(t.state.status).toBe('failed');
    expect(t.state.reason).toBe('step each: the list at input.lines has 6 items, more than maxItems 5 (guard: maxItems)');
    expect(commands(t)).toEqual([]);
  });

  it('fails the run before any item runs when the items would pass limits.maxSteps', () => {
    const t = submit(mapRequest(10, {}, { limits: { maxSteps: 10, deadlineMs: 60_000 } }));
    expect(t.state.status).toBe('running'); // 10 items fit; the step after them would not, and fails when it is ready
    const over = submit(mapRequest(11, {}, { limits: { maxSteps: 10, deadlineMs: 60_000 } }));
    expect(over.state.status).toBe('failed');
    expect(over.state.reason).toBe('step each: 11 item(s) to run after 0 dispatch(es) made or planned would pass the step limit of 10 (guard: limits.maxSteps)');
    expect(commands(over)).toEqual([]);
  });

  it("reserves a map's items against limits.maxSteps: steps started beside it or after it cannot take them", () => {
    const limits = { limits: { maxSteps: 10, deadlineMs: 60_000 } };
    const side = (n: number) =>
      flowRequest(
        [
          { id: 'each', kind: 'map', over: 'input.lines', concurrency: 2, step: { prompt: '{{item}}' } },
          { id: 'x', prompt: 'beside the map' },
          { id: 'y', needs: ['x'], prompt: 'after x' },
        ],
        { lines: lines(n) },
        limits,
      );
    // 9 items + x = 10 fit; y, ready later, would be the 11th dispatch: refused when it is ready, with 7 items still to go
    const t = submit(side(9));
    expect(commands(t).map((c) => c.stepId)).toEqual(['x', 'each__0', 'each__1']);
    const after = changed(decide(t.state, completed(t.state, 'x', 'done'), later(1)));
    expect(after.state.status).toBe('failed');
    expect(after.state.reason).toBe('step limit of 10 reached (guard: limits.maxSteps)');
    // 10 items + x: the map, started after x, refuses before any item runs
    const over = submit(side(10));
    expect(over.state.reason).toBe('step each: 10 item(s) to run after 1 dispatch(es) made or planned would pass the step limit of 10 (guard: limits.maxSteps)');
  });

  it('an item that fails fails the run, naming the map and the index; the items in flight are revoked', () => {
    const s0 = submit(mapRequest(5)).state;
    const t = changed(decide(s0, failed(s0, 'each__1'), later(1)));
    expect(t.state.status).toBe('failed');
    expect(t.state.reason).toBe('step each__1 (item 1 of map each) failed: provider_5xx: upstream 503');
    expect(t.state.settling?.tasks.sort()).toEqual(['each__0=1', 'each__2=1']);
    expect(t.messages.filter((m) => m.append).map((m) => m.subject).sort()).toEqual(['pw.events.run-1.step.revoked.each__0=1', 'pw.events.run-1.step.revoked.each__2=1']);
  });

  it('the partial result of a run that failed mid-map counts the items that succeeded rather than listing each', () => {
    let s = submit(mapRequest(5)).state;
    s = changed(decide(s, completed(s, 'each__0', 'zero'), later(1))).state;
    const t = changed(decide(s, failed(s, 'each__1'), later(2)));
    let end = t.state;
    let last = t;
    for (const task of end.settling?.tasks ?? []) {
      const [stepId] = task.split('=') as [string];
      last = changed(decide(end, completed(end, stepId, 'late'), later(3)));
      end = last.state;
    }
    const finished = last.messages.find((m) => m.subject.endsWith('run.finished'))?.payload as { partial?: Record<string, unknown> };
    expect(finished.partial).toEqual({ each: { itemsSucceeded: 1, of: 5 } });
  });

  it('the run times out during a map: no further item is dispatched and those in flight are revoked', () => {
    const s0 = submit(mapRequest(5, {}, { limits: { maxSteps: 100, deadlineMs: 1_000 } })).state;
    const t = changed(decide(s0, completed(s0, 'each__0', 'x'), later(1_001)));
    expect(t.state.status).toBe('timed_out');
    expect(commands(t)).toEqual([]);
    expect(t.state.settling?.tasks.sort()).toEqual(['each__1=1', 'each__2=1']);
  });

  it('resumed after failing mid-map: succeeded items keep their outputs, the rest run again as new tasks', () => {
    let s = submit(mapRequest(5, { concurrency: 2 })).state;
    s = changed(decide(s, completed(s, 'each__0', 'r0'), later(1))).state; // 2 dispatched
    s = changed(decide(s, failed(s, 'each__1'), later(2))).state; // run fails; each__2 revoked
    s = settled(s, later(3));
    expect(s.status).toBe('failed');
    const resumed = changed(decide(s, { type: 'run.resume', runId: 'run-1', request: { schemaVersion: SCHEMA_VERSION, runId: 'run-1', resumeId: 'r-1', reason: 'retry' } }, later(4)));
    s = resumed.state;
    expect(s.status).toBe('running');
    expect(commands(resumed).map((c) => [c.stepId, c.attempt])).toEqual([['each__1', 2], ['each__2', 2]]);
    expect(s.steps.each__0).toEqual({ status: 'succeeded', attempt: 1, output: 'r0' });
    expect(resumed.decisions.find((d) => d.action === 'map')?.reason).toContain('1 already succeeded');
    for (const [id, attempt] of [['each__1', 2], ['each__2', 2], ['each__3', 1], ['each__4', 1]] as const) {
      s = changed(decide(s, completed(s, id, `r${id.slice(-1)}`, attempt), later(10))).state;
    }
    expect(s.steps.each).toMatchObject({ status: 'succeeded', output: ['r0', 'r1', 'r2', 'r3', 'r4'] });
    expect(inFlight(s)).toEqual(['sum']);
  });

  it("maps over an earlier step's structured output, each item's fields in its prompt", () => {
    const req = flowRequest(
      [
        { id: 'extract', prompt: 'List people', output: { type: 'object', properties: { people: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' } } } } } } },
        { id: 'greet', kind: 'map', needs: ['extract'], over: 'steps.extract.output.people', step: { prompt: 'Greet {{item.name}} ({{index}})' } },
      ],
      {},
    );
    expect(admit(req, new Map())).toMatchObject({ ok: true });
    const s0 = submit(req).state;
    const t = changed(decide(s0, completed(s0, 'extract', { people: [{ name: 'Ada' }, { name: 'Lin' }] }), later(1)));
    expect(commands(t).map((c) => c.call.messages[0]!.content)).toEqual(['Greet Ada (0)', 'Greet Lin (1)']);
  });

  it('an item denied by the budget ends the run budget_exhausted, naming the map and index', () => {
    const s0 = submit(mapRequest(3)).state;
    const denied = { ...failed(s0, 'each__2'), error: { code: 'budget_exceeded', message: 'run.maxUsd of $0.01 reached', retryable: false } };
    const t = changed(decide(s0, denied, later(1)));
    expect(t.state.status).toBe('budget_exhausted');
    expect(t.state.reason).toBe('step each__2 (item 2 of map each): run.maxUsd of $0.01 reached (guard: budget)');
  });

  it('an item template that references a missing field fails the run, naming the item', () => {
    const t = submit(mapRequest([{ name: 'a' }], { step: { prompt: 'x {{item.title}}' } }));
    expect(t.state.status).toBe('failed');
    expect(t.state.reason).toBe('step each__0: template references "item.title", which has no value');
  });

  it('agent items: each item is an agent loop of its own, its turns keyed by the item id', () => {
    const req = flowRequest(
      [{ id: 'each', kind: 'map', over: 'input.lines', concurrency: 2, step: { kind: 'agent', prompt: 'Check {{item}}', tools: ['lookup'] } }],
      { lines: ['a', 'b'] },
      { tools: { lookup: { description: 'look up', input: { type: 'object' } } } },
    );
    const t = submit(req);
    expect(commands(t).map((c) => [c.stepId, c.kind, c.call.messages.at(-1)?.content])).toEqual([['each__0', 'agent-turn', 'Check a'], ['each__1', 'agent-turn', 'Check b']]);
    let s = t.state;
    for (const id of ['each__0', 'each__1']) s = changed(decide(s, { ...completed(s, id, { action: 'final', output: `done ${id}` }), task: 'agent-turn', turn: 1 }, later(1))).state;
    expect(s.status).toBe('succeeded');
    expect(s.output).toEqual(['done each__0', 'done each__1']);
  });

  it('stores about 100 bytes per finished item: the state of a 1,000-item map is measured', () => {
    let s = submit(mapRequest(1000, { concurrency: 16, maxItems: 1000 }, { limits: { maxSteps: 2000, deadlineMs: 3_600_000 } })).state;
    const base = JSON.stringify(s).length;
    for (let i = 0; i < 999; i++) s = changed(decide(s, completed(s, `each__${i}`, { line: i, ok: true }), later(i))).state;
    const peak = JSON.stringify(s).length;
    const perItem = (peak - base) / 999;
    console.log(`1,000-item map: state ${base} bytes at start, ${peak} bytes with 999 items done (${perItem.toFixed(0)} bytes an item, outputs of ${JSON.stringify({ line: 999, ok: true }).length} bytes)`);
    expect(perItem).toBeLessThan(120);
    s = changed(decide(s, completed(s, 'each__999', { line: 999, ok: true }), later(1000))).state;
    expect((s.steps.each!.output as unknown[]).length).toBe(1000);
  });
});

describe('map steps and re-runs', () => {
  it('a re-run from the map runs every item again; one from a later step reuses the map\'s list', () => {
    let s = submit(mapRequest(3)).state;
    for (const i of [0, 1, 2]) s = changed(decide(s, completed(s, `each__${i}`, `o${i}`), later(i))).state;
    s = changed(decide(s, completed(s, 'sum', 'total'), later(5))).state;
    expect(s.status).toBe('succeeded');
    const rerun = (runId: string, stepId: string) =>
      changed(decide(undefined, { type: 'run.rerun', runId, source: s, request: { schemaVersion: SCHEMA_VERSION, runId, from: { runId: 'run-1', stepId } } }, later(10)));
    const fromMap = rerun('run-2', 'each');
    expect(commands(fromMap).map((c) => c.stepId)).toEqual(['each__0', 'each__1', 'each__2']);
    const fromSum = rerun('run-3', 'sum');
    expect(fromSum.state.steps.each).toMatchObject({ status: 'succeeded', output: ['o0', 'o1', 'o2'], reused: true });
    expect(commands(fromSum).map((c) => [c.stepId, c.call.messages[0]!.content])).toEqual([['sum', 'Sum ["o0","o1","o2"]']]);
  });
});
