import { describe, expect, it } from 'vitest';
import { admit, decide } from '../src/index.js';
import { completed, later } from './fixtures.js';
import { changed, commands, flowRequest, submit } from './flow-fixtures.js';

/** classify → (slow: a long step) and (stop: an end step when the class is "spam"). */
function endRequest(end: Record<string, unknown>) {
  return flowRequest(
    [
      { id: 'classify', prompt: 'Classify {{input.text}}', output: { type: 'object', properties: { label: { type: 'string' }, note: { type: 'string' } } } },
      { id: 'slow', needs: ['classify'], prompt: 'Write a long answer to {{input.text}}' },
      { id: 'other', prompt: 'Something else' },
      { id: 'stop', kind: 'end', needs: ['classify'], when: { path: 'steps.classify.output.label', equals: 'spam' }, ...end },
    ],
    { text: 'buy now' },
    { output: 'slow' },
  );
}

describe('end steps', () => {
  it('ends the run succeeded at once with the value at `result`; tasks still running are revoked and the run settles', () => {
    const req = endRequest({ result: 'steps.classify.output.note' });
    expect(admit(req, new Map())).toMatchObject({ ok: true });
    const s0 = submit(req).state;
    expect(commands(submit(req)).map((c) => c.stepId)).toEqual(['classify', 'other']);
    const t = changed(decide(s0, completed(s0, 'classify', { label: 'spam', note: 'dropped as spam' }), later(1)));
    expect(t.state.status).toBe('succeeded');
    expect(t.state.output).toBe('dropped as spam');
    expect(t.state.reason).toBe('ended by step stop');
    // `slow` became ready beside the end step: the end goes first, so it never starts; `other` was running and is revoked
    expect(commands(t)).toEqual([]);
    expect(t.state.steps.slow?.status).toBe('pending');
    expect(t.state.settling?.tasks).toEqual(['other=1']);
    expect(t.messages.filter((m) => m.append).map((m) => m.subject)).toEqual(['pw.events.run-1.step.revoked.other=1']);
    expect(t.decisions.map((d) => d.action)).toEqual(['complete-step', 'end', 'finish', 'settle']);
    expect(t.state.steps.stop).toMatchObject({ status: 'succeeded', output: 'dropped as spam' });
    expect(t.messages.some((m) => m.subject.endsWith('run.finished'))).toBe(false); // after the revoked tasks report
  });

  it('ends the run failed with its reason', () => {
    const s0 = submit(endRequest({ status: 'failed', reason: 'spam is not answered' })).state;
    const t = changed(decide(s0, completed(s0, 'classify', { label: 'spam' }), later(1)));
    expect(t.state.status).toBe('failed');
    expect(t.state.reason).toBe('step stop: spam is not answered');
    expect(t.state.output).toBeUndefined();
    expect(t.decisions.find((d) => d.action === 'end')?.reason).toBe('step stop ends the run: failed: spam is not answered');
  });

  it('an end step whose condition is false is skipped and the run goes on to its own end', () => {
    const s0 = submit(endRequest({})).state;
    let s = changed(decide(s0, completed(s0, 'classify', { label: 'ham' }), later(1))).state;
    expect(s.steps.stop).toMatchObject({ status: 'skipped' });
    s = changed(decide(s, completed(s, 'other', 'o'), later(2))).state;
    const done = changed(decide(s, completed(s, 'slow', 'the answer'), later(3)));
    expect(done.state).toMatchObject({ status: 'succeeded', output: 'the answer' });
  });

  it('an end without result succeeds with no output', () => {
    const t = submit(flowRequest([{ id: 'stop', kind: 'end' }, { id: 'a', prompt: 'A' }], {}));
    expect(t.state.status).toBe('succeeded');
    expect(t.state.output).toBeUndefined();
    expect(t.state.settling?.tasks).toBeUndefined();
    expect(commands(t)).toEqual([]);
  });
});
