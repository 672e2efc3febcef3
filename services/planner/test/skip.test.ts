import { describe, expect, it } from 'vitest';
import { admit, decide } from '../src/index.js';
import { completed, later } from './fixtures.js';
import { changed, commands, flowRequest, submit } from './flow-fixtures.js';

/** triage → (reply when not spam) → polish; notify when spam; output: polish. */
function triageRequest(output?: string) {
  return flowRequest(
    [
      { id: 'triage', prompt: 'Triage {{input.text}}', output: { type: 'object', properties: { spam: { type: 'boolean' }, score: { type: 'number' } } } },
      { id: 'reply', needs: ['triage'], when: { path: 'steps.triage.output.spam', equals: false }, prompt: 'Reply to {{input.text}}' },
      { id: 'notify', needs: ['triage'], when: { any: [{ path: 'steps.triage.output.spam', equals: true }, { path: 'steps.triage.output.score', gte: 0.9 }] }, prompt: 'Flag {{input.text}}' },
      { id: 'polish', needs: ['reply'], prompt: 'Polish {{steps.reply.output}}' },
    ],
    { text: 'hello' },
    output ? { output } : {},
  );
}

describe('when: conditions and skipping', () => {
  it('skips a step whose condition is false, and every step that needs it, in one transition, each with its reason', () => {
    const s0 = submit(triageRequest()).state;
    const t = changed(decide(s0, completed(s0, 'triage', { spam: true, score: 0.2 }), later(1)));
    expect(t.state.steps.reply).toMatchObject({ status: 'skipped', skipReason: 'when: {"path":"steps.triage.output.spam","equals":false} is false' });
    expect(t.state.steps.polish).toMatchObject({ status: 'skipped', skipReason: 'need reply was skipped' });
    expect(t.decisions.filter((d) => d.action === 'skip').map((d) => [d.stepIds, d.reason])).toEqual([
      [['reply'], 'step reply skipped: when: {"path":"steps.triage.output.spam","equals":false} is false'],
      [['polish'], 'step polish skipped: need reply was skipped'],
    ]);
    expect(commands(t).map((c) => c.stepId)).toEqual(['notify']);
    // a result naming a skipped step is no task's
    expect(decide(t.state, completed(t.state, 'reply', 'r'), later(2))).toMatchObject({ kind: 'unchanged', reason: 'step reply was skipped: it ran no task' });
    // the run succeeds once every step succeeded or was skipped; its output step was skipped: no output
    const done = changed(decide(t.state, completed(t.state, 'notify', 'flagged'), later(2)));
    expect(done.state.status).toBe('succeeded');
    expect(done.state.output).toBeUndefined();
    expect(done.state.reason).toBe('every step succeeded or was skipped (skipped: reply, polish); the output step polish was skipped, so the run has no output');
  });

  it('runs a step whose condition holds; `any` of several comparisons', () => {
    const s0 = submit(triageRequest('notify')).state;
    const t = changed(decide(s0, completed(s0, 'triage', { spam: false, score: 0.95 }), later(1)));
    expect(commands(t).map((c) => c.stepId)).toEqual(['reply', 'notify']);
    let s = changed(decide(t.state, completed(t.state, 'notify', 'n'), later(2))).state;
    s = changed(decide(s, completed(s, 'reply', 'r'), later(3))).state;
    const end = changed(decide(s, completed(s, 'polish', 'p'), later(4)));
    expect(end.state.status).toBe('succeeded');
    expect(end.state.reason).toBe('every step succeeded');
    expect(end.state.output).toBe('n');
  });

  it('a condition over the input is evaluated at start; a skipped first step skips its dependants before anything runs', () => {
    const req = flowRequest(
      [
        { id: 'a', when: { path: 'input.mode', in: ['full', 'deep'] }, prompt: 'A' },
        { id: 'b', needs: ['a'], prompt: 'B {{steps.a.output}}' },
        { id: 'c', prompt: 'C' },
      ],
      { mode: 'quick' },
      { output: 'c' },
    );
    expect(admit(req, new Map())).toMatchObject({ ok: true });
    const t = submit(req);
    expect(t.state.steps.a?.status).toBe('skipped');
    expect(t.state.steps.b).toMatchObject({ status: 'skipped', skipReason: 'need a was skipped' });
    expect(commands(t).map((c) => c.stepId)).toEqual(['c']);
    const done = changed(decide(t.state, completed(t.state, 'c', 'only c'), later(1)));
    expect(done.state).toMatchObject({ status: 'succeeded', output: 'only c' });
  });

  it('a run whose every step is skipped succeeds with no output', () => {
    const t = submit(flowRequest([{ id: 'a', when: { path: 'input.go', exists: true }, prompt: 'A' }], {}));
    expect(t.state.status).toBe('succeeded');
    expect(t.state.output).toBeUndefined();
    expect(t.messages.find((m) => m.subject.endsWith('run.finished'))?.payload).toMatchObject({ status: 'succeeded' });
  });

  it('a skipped map runs no item', () => {
    const t = submit(flowRequest([{ id: 'each', kind: 'map', over: 'input.lines', when: { path: 'input.on', equals: true }, step: { prompt: '{{item}}' } }], { lines: ['x'], on: false }));
    expect(t.state.status).toBe('succeeded');
    expect(commands(t)).toEqual([]);
    expect(t.state.steps.each?.status).toBe('skipped');
  });
});
