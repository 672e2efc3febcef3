import { childRunId, requestDigest, RunRequest, SCHEMA_VERSION, type CancelRequest, type RunState, type StepCommand } from '@pipewright/contracts';
import { describe, expect, it } from 'vitest';
import { decide, type Transition } from '../src/index.js';
import { awaitsChild } from '../src/core/child.js';
import type { ChildFinished } from '../src/core/events.js';
import { completed, later, T0 } from './fixtures.js';

function changed(t: Transition): Extract<Transition, { kind: 'changed' }> {
  if (t.kind !== 'changed') throw new Error(`expected a change, got: ${t.reason}`);
  return t;
}
const commands = (t: Extract<Transition, { kind: 'changed' }>) => t.messages.filter((m) => m.subject.startsWith('pw.steps.')).map((m) => m.payload as StepCommand);
const submits = (t: Extract<Transition, { kind: 'changed' }>) => t.messages.filter((m) => m.subject === 'pw.runs.submit');

const childPipeline = {
  name: 'child',
  defaults: { model: 'sim-small' },
  limits: { deadlineMs: 7_200_000 },
  budget: { maxUsd: 5 },
  input: { type: 'object', properties: { facts: { type: 'object' }, title: { type: 'string' } } },
  steps: [{ id: 'summarise', prompt: 'Summarise {{input.facts}} as {{input.title}}' }],
};

/** research (llm) → sub (pipeline) → final (llm, uses the child's output). The parent: $1, 600 s. */
function request(sub: Record<string, unknown> = {}): RunRequest {
  return RunRequest.parse({
    schemaVersion: SCHEMA_VERSION,
    runId: 'run-p',
    tenant: 'acme',
    labels: { team: 'docs' },
    budget: { maxUsd: 1, maxTokens: 10_000 },
    pipeline: {
      name: 'parent',
      defaults: { model: 'sim-small' },
      limits: { deadlineMs: 600_000 },
      steps: [
        { id: 'research', prompt: 'Research' },
        { id: 'sub', kind: 'pipeline', needs: ['research'], pipeline: childPipeline, input: { facts: '{{steps.research.output}}', title: 'About {{steps.research.output.topic}}' }, ...sub },
        { id: 'final', needs: ['sub'], prompt: 'Final: {{steps.sub.output}}' },
      ],
    },
  });
}

function childStarted(sub?: Record<string, unknown>) {
  const s0 = changed(decide(undefined, { type: 'run.submitted', runId: 'run-p', request: request(sub) }, T0)).state;
  // research cost 0.25 USD and 15 tokens
  return changed(decide(s0, { ...completed(s0, 'research', { topic: 'tides', n: 3 }), costUsd: 0.25 }, later(60_000)));
}
const ended = (state: RunState, over: Partial<ChildFinished> = {}): ChildFinished => ({
  type: 'child.finished',
  runId: 'run-p',
  parent: { runId: 'run-p', stepId: 'sub', attempt: 1 },
  child: state.steps.sub!.child!.runId,
  status: 'succeeded',
  output: 'child summary',
  reason: 'every step succeeded',
  usage: { inputTokens: 100, outputTokens: 50, totalTokens: 150 },
  costUsd: 0.4,
  ...over,
});

describe('pipeline steps (child runs)', () => {
  it('submits the child run through the outbox: deterministic id, typed input, tenant and labels, budget and deadline capped, parent ref', () => {
    const t = childStarted();
    const [m, ...more] = submits(t);
    expect(more).toEqual([]);
    const req = m!.payload as RunRequest;
    const id = childRunId('run-p', 'sub', 1);
    expect(id).toBe('run-p-sub-a1');
    expect(req.runId).toBe(id);
    expect(m!.msgId).toMatch(/^submit:run-p-sub-a1:[0-9a-f]{16}$/);
    // a lone {{path}} keeps the value's JSON type; anything else renders to a string
    expect(req.input).toEqual({ facts: { topic: 'tides', n: 3 }, title: 'About tides' });
    expect(req.tenant).toBe('acme');
    expect(req.labels).toEqual({ team: 'docs' });
    expect(req.parent).toEqual({ runId: 'run-p', stepId: 'sub', attempt: 1 });
    // the child's own maxUsd 5 capped at what the parent has left (1 - 0.25); tokens: 10000 - 15
    expect(req.budget).toEqual({ maxUsd: 0.75, maxTokens: 9_985 });
    // the child's 2 h deadline capped at the 540 s the parent has left
    expect(req.pipeline.limits.deadlineMs).toBe(540_000);
    expect(RunRequest.safeParse(req).success).toBe(true);
    expect(t.state.steps.sub).toMatchObject({ status: 'dispatched', attempt: 1, child: { runId: id } });
    expect(t.decisions.find((d) => d.action === 'start-child')?.reason).toContain(`child run ${id}`);
    expect(commands(t)).toEqual([]);
  });

  it("the step's own budget is capped too, and a run with nothing left ends budget_exhausted instead of starting a child", () => {
    const t = childStarted({ budget: { maxUsd: 0.1 } });
    expect((submits(t)[0]!.payload as RunRequest).budget).toEqual({ maxUsd: 0.1, maxTokens: 9_985 });
    const s0 = changed(decide(undefined, { type: 'run.submitted', runId: 'run-p', request: request() }, T0)).state;
    const broke = changed(decide(s0, { ...completed(s0, 'research', { topic: 'x' }), costUsd: 1 }, later(1)));
    expect(submits(broke)).toEqual([]);
    expect(broke.state.status).toBe('budget_exhausted');
    expect(broke.state.reason).toContain('step sub: no budget left for its sub-pipeline');
  });

  it("a child that succeeds completes the step with its output; its usage and cost are added to the parent's", () => {
    const t = childStarted();
    const done = changed(decide(t.state, ended(t.state), later(90_000)));
    expect(done.state.steps.sub).toMatchObject({ status: 'succeeded', output: 'child summary', costUsd: 0.4, usage: { totalTokens: 150 } });
    expect(done.state.costUsd).toBe(0.65);
    expect(done.state.usage.totalTokens).toBe(165);
    expect(commands(done)[0]!.call.messages).toEqual([{ role: 'user', content: 'Final: child summary' }]);
    // the same end delivered again: counted once
    expect(decide(done.state, ended(t.state), later(90_001)).kind).toBe('unchanged');
  });

  it('a child that fails fails the parent, naming the step, the child and how it ended; its spending still counts', () => {
    const t = childStarted();
    const f = changed(decide(t.state, ended(t.state, { status: 'failed', reason: 'step summarise failed: provider_5xx', output: undefined, costUsd: 0.1 }), later(90_000)));
    expect(f.state.status).toBe('failed');
    expect(f.state.reason).toBe('sub-pipeline sub (run run-p-sub-a1) ended failed: step summarise failed: provider_5xx');
    expect(f.state.steps.sub).toMatchObject({ status: 'failed', error: { code: 'child_failed' } });
    expect(f.state.costUsd).toBe(0.35);
    expect(f.messages.find((m) => m.subject.endsWith('run.finished'))?.payload).toMatchObject({ status: 'failed', costUsd: 0.35 });
  });

  it('a rejected child fails the parent with its issues', () => {
    const t = childStarted();
    const r = changed(decide(t.state, ended(t.state, { status: 'rejected', reason: 'invalid pipeline or input', output: undefined, costUsd: 0, usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 }, issues: [{ path: 'input.title', message: 'must be string' }] }), later(61_000)));
    expect(r.state.status).toBe('failed');
    expect(r.state.reason).toBe('sub-pipeline sub (run run-p-sub-a1) was rejected: invalid pipeline or input: input.title: must be string');
  });

  it('the end of a child the step does not wait for (another attempt, another run) changes nothing but its spending', () => {
    const t = childStarted();
    const stale = decide(t.state, ended(t.state, { child: 'run-p-sub-a0', costUsd: 0, usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 } }), later(61_000));
    expect(stale.kind).toBe('changed'); // the key is remembered so that a copy is not counted twice
    const st = changed(stale).state;
    expect(st.steps.sub!.status).toBe('dispatched');
    expect(st.status).toBe('running');
  });

  it('a parent that is cancelled while its child runs cancels the child and settles until the child reports what it spent', () => {
    const t = childStarted();
    const c = changed(decide(t.state, { type: 'run.cancel', runId: 'run-p', reason: 'enough' }, later(70_000)));
    expect(c.state.status).toBe('cancelled');
    const cancel = c.messages.find((m) => m.subject === 'pw.runs.cancel');
    expect(cancel?.msgId).toBe('run-p:cancel-child:run-p-sub-a1');
    expect((cancel!.payload as CancelRequest)).toMatchObject({ runId: 'run-p-sub-a1', reason: expect.stringContaining('the parent run run-p ended cancelled: enough') });
    expect(c.state.settling?.tasks).toEqual(['child:run-p-sub-a1']);
    expect(Date.parse(c.state.settling!.until) - later(70_000).getTime()).toBe(120_000);
    expect(c.messages.some((m) => m.subject.endsWith('run.finished'))).toBe(false);
    // the child ends cancelled with what it spent: the parent publishes run.finished with it
    const settled = changed(decide(c.state, ended(t.state, { status: 'cancelled', reason: 'the parent ended', costUsd: 0.2 }), later(71_000)));
    expect(settled.state.settling).toBeUndefined();
    expect(settled.messages.find((m) => m.subject.endsWith('run.finished'))?.payload).toMatchObject({ status: 'cancelled', costUsd: 0.45 });
  });

  it('a child that never reports: the parent closes at its settle deadline, the child counted as unsettled', () => {
    const t = childStarted();
    const c = changed(decide(t.state, { type: 'run.cancel', runId: 'run-p', reason: 'enough' }, later(70_000)));
    const closed = changed(decide(c.state, { type: 'run.deadline', runId: 'run-p' }, new Date(Date.parse(c.state.settling!.until) + 1)));
    expect(closed.messages.find((m) => m.subject.endsWith('run.finished'))?.payload).toMatchObject({ status: 'cancelled', unsettled: 1 });
    // a late end still adds the spending (once)
    const late = changed(decide(closed.state, ended(t.state, { status: 'cancelled', costUsd: 0.2 }), later(500_000)));
    expect(late.state.costUsd).toBe(0.45);
  });

  it('a resumed parent whose child failed starts a new child (new id) as the next attempt', () => {
    const t = childStarted();
    const f = changed(decide(t.state, ended(t.state, { status: 'failed', reason: 'boom' }), later(90_000)));
    const r = changed(decide(f.state, { type: 'run.resume', runId: 'run-p', request: { schemaVersion: SCHEMA_VERSION, runId: 'run-p', resumeId: 'r1', reason: 'again' } }, later(100_000)));
    const req = submits(r)[0]!.payload as RunRequest;
    expect(req.runId).toBe('run-p-sub-a2');
    expect(req.parent).toEqual({ runId: 'run-p', stepId: 'sub', attempt: 2 });
    expect(r.state.steps.sub).toMatchObject({ status: 'dispatched', attempt: 2, child: { runId: 'run-p-sub-a2' } });
    // the first child's end delivered again now neither completes the second attempt nor counts twice
    expect(decide(r.state, ended(t.state, { child: 'run-p-sub-a1', status: 'succeeded' }), later(100_001))).toMatchObject({ kind: 'unchanged', reason: 'step sub does not wait for child run run-p-sub-a1' });
  });

  it('a child run knows its parent and names it on run.finished', () => {
    const t = childStarted();
    const req = submits(t)[0]!.payload as RunRequest;
    const c0 = changed(decide(undefined, { type: 'run.submitted', runId: req.runId!, request: RunRequest.parse(req) }, later(61_000)));
    expect(c0.state.parent).toEqual({ runId: 'run-p', stepId: 'sub', attempt: 1 });
    expect(c0.state.deadlineAt).toBe(new Date(later(61_000).getTime() + 540_000).toISOString());
    const c1 = changed(decide(c0.state, completed(c0.state, 'summarise', 'sum'), later(62_000)));
    expect(c1.messages.find((m) => m.subject.endsWith('run.finished'))?.payload).toMatchObject({ status: 'succeeded', output: 'sum', parent: { runId: 'run-p', stepId: 'sub', attempt: 1 } });
  });

  it('only the request the parent sent may start a run that reports to it (a forged parent ref is refused)', () => {
    const t = childStarted();
    const req = submits(t)[0]!.payload as RunRequest;
    const digest = requestDigest(req);
    const ref = { runId: 'run-p', stepId: 'sub', attempt: 1 };
    expect(t.state.steps.sub!.child).toEqual({ runId: 'run-p-sub-a1', digest, budget: { maxUsd: 0.75 } }); // its pipeline's own maxUsd is held; its tokens are not its own
    expect(awaitsChild(t.state, ref, 'run-p-sub-a1', digest)).toBe(true);
    // the predictable id with another request, another id, another attempt or step, or no such parent
    expect(awaitsChild(t.state, ref, 'run-p-sub-a1', requestDigest({ ...req, input: { forged: true } }))).toBe(false);
    expect(awaitsChild(t.state, ref, 'run-p-sub-a9', digest)).toBe(false);
    expect(awaitsChild(t.state, { ...ref, attempt: 2 }, 'run-p-sub-a1', digest)).toBe(false);
    expect(awaitsChild(t.state, { ...ref, stepId: 'research' }, 'run-p-sub-a1', digest)).toBe(false);
    expect(awaitsChild(undefined, ref, 'run-p-sub-a1', digest)).toBe(false);
  });

  it('child run ids fit a RunId for long parents and step ids', () => {
    const long = childRunId('r'.repeat(64), 's'.repeat(64), 12);
    expect(long).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    expect(long).not.toBe(childRunId('r'.repeat(64), 's'.repeat(64), 13));
    expect(childRunId('r'.repeat(64), 's'.repeat(64), 12)).toBe(long);
  });
});

describe('a run and its sub-pipelines share its budget', () => {
  const both = (steps: unknown[]) =>
    RunRequest.parse({ schemaVersion: SCHEMA_VERSION, runId: 'run-p', budget: { maxUsd: 1, maxTokens: 10_000 }, pipeline: { name: 'parent', defaults: { model: 'sim-small' }, steps } });
  const childReq = (t: Extract<Transition, { kind: 'changed' }>, i = 0) => submits(t)[i]!.payload as RunRequest;

  it('the run\'s own calls beside a running child get its limits less what the child was given', () => {
    const t = changed(decide(undefined, { type: 'run.submitted', runId: 'run-p', request: both([{ id: 'own', prompt: 'Own work' }, { id: 'sub', kind: 'pipeline', pipeline: childPipeline, budget: { maxUsd: 0.4, maxTokens: 3_000 } }]) }, T0));
    expect(childReq(t).budget).toEqual({ maxUsd: 0.4, maxTokens: 3_000 });
    expect(commands(t)).toHaveLength(1);
    expect(commands(t)[0]!.budget).toMatchObject({ maxUsd: 0.6, maxTokens: 7_000 });
    expect(t.state.steps.sub!.child!.budget).toEqual({ maxUsd: 0.4, maxTokens: 3_000 });
  });

  it('a second child gets what is left after the first child\'s own limits; nothing left ends the run budget_exhausted', () => {
    const t = changed(decide(undefined, { type: 'run.submitted', runId: 'run-p', request: both([{ id: 'a', kind: 'pipeline', pipeline: childPipeline, budget: { maxUsd: 0.4 } }, { id: 'b', kind: 'pipeline', pipeline: childPipeline }]) }, T0));
    expect([childReq(t, 0).budget?.maxUsd, childReq(t, 1).budget?.maxUsd]).toEqual([0.4, 0.6]);
    // each child's pipeline has its own maxUsd (5): the first holds all the run has, the second gets nothing
    const none = decide(undefined, { type: 'run.submitted', runId: 'run-p', request: both([{ id: 'a', kind: 'pipeline', pipeline: childPipeline }, { id: 'b', kind: 'pipeline', pipeline: childPipeline }]) }, T0);
    expect(changed(none).state).toMatchObject({ status: 'budget_exhausted', reason: expect.stringContaining('running sub-pipelines hold 1') });
  });

  it('a child with no limit of its own may use what the run has left, which is not held from the work beside it', () => {
    const free = { ...childPipeline, budget: {} };
    const t = changed(decide(undefined, { type: 'run.submitted', runId: 'run-p', request: both([{ id: 'own', prompt: 'Own work' }, { id: 'sub', kind: 'pipeline', pipeline: free }]) }, T0));
    expect(childReq(t).budget).toEqual({ maxUsd: 1, maxTokens: 10_000 });
    expect(commands(t)[0]!.budget).toMatchObject({ maxUsd: 1, maxTokens: 10_000 });
    expect(t.state.steps.sub!.child!.budget).toBeUndefined();
  });

  it('once a child ended, what it spent is held from the run\'s own later calls (its calls were booked under its own id)', () => {
    const { state } = childStarted();
    const t = changed(decide(state, ended(state), later(120_000)));
    expect(t.state.childSpend).toEqual({ costUsd: 0.4, tokens: 150 });
    // the run spent 0.25 itself (booked on its ledger) and 0.4 through the child: its own calls may book up to 0.6 in all
    expect(commands(t)[0]).toMatchObject({ stepId: 'final', budget: { maxUsd: 0.6, maxTokens: 10_000 - 150 } });
    expect(t.state.costUsd).toBe(0.65);
  });
});
