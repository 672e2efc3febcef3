import { describe, expect, it } from 'vitest';
import { checkPipeline, DEFAULT_MAX_OUTPUT_TOKENS, type ValidationIssue } from '../src/index.js';

/** Limits that can never be met, refused at submit (pipeline-limits.ts): each rule refused with its path, and accepted when fine. */
const base = (extra: Record<string, unknown> = {}) => ({ name: 'limits', defaults: { model: 'sim-small' }, steps: [{ id: 'a', prompt: 'p' }], ...extra });

function issuesOf(raw: unknown, budget?: Record<string, number>): ValidationIssue[] {
  const r = checkPipeline(raw, ['pipeline'], 0, budget ? { budget, at: ['budget'] } : undefined);
  return r.ok ? [] : r.issues;
}
const paths = (raw: unknown, budget?: Record<string, number>) => issuesOf(raw, budget).map((i) => i.path);

describe('budget.maxTokens below an output cap', () => {
  it('refuses a budget below a step\'s own maxOutputTokens, saying every call reserves its cap', () => {
    const issues = issuesOf(base({ budget: { maxTokens: 500 }, steps: [{ id: 'a', prompt: 'p', maxOutputTokens: 800 }] }));
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toBe('pipeline.budget.maxTokens');
    expect(issues[0]!.message).toContain('below the output cap of step "a" (800 tokens: pipeline.steps[0].maxOutputTokens)');
    expect(issues[0]!.message).toContain('reserves its prompt plus its whole output cap');
  });
  it('applies the defaults\' cap, and the default cap of a metered call when none is set', () => {
    expect(issuesOf(base({ budget: { maxTokens: 500 }, defaults: { model: 'm', maxOutputTokens: 600 } }))[0]!.message).toContain('600 tokens: pipeline.defaults.maxOutputTokens');
    const dflt = issuesOf(base({ budget: { maxTokens: DEFAULT_MAX_OUTPUT_TOKENS - 1 } }));
    expect(dflt.map((i) => i.path)).toEqual(['pipeline.budget.maxTokens']);
    expect(dflt[0]!.message).toContain(`${DEFAULT_MAX_OUTPUT_TOKENS} tokens: the default cap`);
  });
  it('checks a map\'s item step and agent steps too', () => {
    const raw = base({
      budget: { maxTokens: 1000 },
      defaults: { model: 'm', maxOutputTokens: 100 },
      tools: { t: { description: 'd', input: { type: 'object' } } },
      steps: [
        { id: 'a', kind: 'agent', prompt: 'p', tools: ['t'], maxOutputTokens: 2000 },
        { id: 'm', kind: 'map', over: 'input.xs', step: { prompt: '{{item}}', maxOutputTokens: 3000 } },
      ],
    });
    const issues = issuesOf(raw);
    expect(issues.map((i) => i.message.match(/step "([^"]+)"/)?.[1])).toEqual(['a', 'm (each item)']);
    expect(issues[1]!.message).toContain('pipeline.steps[1].step.maxOutputTokens');
  });
  it('uses the request\'s budget over the pipeline\'s, and names the request\'s field', () => {
    const raw = base({ budget: { maxTokens: 100_000 }, defaults: { model: 'm', maxOutputTokens: 1000 } });
    expect(paths(raw)).toEqual([]);
    expect(paths(raw, { maxTokens: 999 })).toEqual(['budget.maxTokens']);
    expect(paths(base({ budget: { maxTokens: 10 }, defaults: { model: 'm', maxOutputTokens: 1000 } }), { maxTokens: 1000 })).toEqual([]);
  });
  it('accepts a budget at or above every cap, and no token budget at all', () => {
    expect(paths(base({ budget: { maxTokens: 800 }, steps: [{ id: 'a', prompt: 'p', maxOutputTokens: 800 }] }))).toEqual([]);
    expect(paths(base({ budget: { maxUsd: 0.01 } }))).toEqual([]);
  });
});

describe('limits.maxSteps below the steps that always run', () => {
  const steps = [
    { id: 'a', prompt: 'p' },
    { id: 'b', prompt: 'p', needs: ['a'] },
    { id: 'c', prompt: 'p', needs: ['a'], when: { path: 'input.deep', equals: true } },
    { id: 'd', prompt: 'p', needs: ['c'] },
  ];
  it('refuses at limits.maxSteps, counting model steps with no when: and no conditional ancestor', () => {
    const issues = issuesOf(base({ steps, limits: { maxSteps: 1 } }));
    expect(issues.map((i) => i.path)).toEqual(['pipeline.limits.maxSteps']);
    expect(issues[0]!.message).toContain('below the 2 model steps that run in every run (a, b)');
  });
  it('accepts when the unconditional steps fit (conditional ones may be skipped)', () => {
    expect(paths(base({ steps, limits: { maxSteps: 2 } }))).toEqual([]);
  });
  it('leaves it alone when an end step that always runs may stop the run first', () => {
    expect(paths(base({ steps: [...steps, { id: 'stop', kind: 'end', needs: ['a'] }], limits: { maxSteps: 1 } }))).toEqual([]);
  });
});

describe('timeouts longer than the run\'s deadline', () => {
  const limits = { maxSteps: 10, deadlineMs: 60_000 };
  it('refuses an approval timeout (defaults, step, map item), an ask timeout and a signal timeout, each at its path', () => {
    const raw = base({
      limits,
      defaults: { model: 'm', approval: { always: true, timeoutMs: 60_001 } },
      budget: { onExceeded: 'ask', askTimeoutMs: 120_000 },
      steps: [
        { id: 'a', prompt: 'p', approval: { timeoutMs: 90_000 } },
        { id: 'w', kind: 'signal', timeoutMs: 3_600_000 },
        { id: 'm', kind: 'map', over: 'input.xs', step: { prompt: '{{item}}', approval: { always: true, timeoutMs: 61_000 } } },
      ],
    });
    const issues = issuesOf(raw);
    expect(issues.map((i) => i.path).sort()).toEqual(
      ['pipeline.budget.askTimeoutMs', 'pipeline.defaults.approval.timeoutMs', 'pipeline.steps[0].approval.timeoutMs', 'pipeline.steps[1].timeoutMs', 'pipeline.steps[2].step.approval.timeoutMs'].sort(),
    );
    expect(issues.find((i) => i.path === 'pipeline.steps[1].timeoutMs')!.message).toBe(
      "the signal timeout of 3600000 ms is longer than the run's deadline (limits.deadlineMs 60000 ms): the run ends first, so the timeout can never act",
    );
  });
  it('accepts timeouts within the deadline', () => {
    const raw = base({ limits, defaults: { model: 'm', approval: { always: true, timeoutMs: 60_000 } }, budget: { onExceeded: 'ask', askTimeoutMs: 30_000 }, steps: [{ id: 'a', prompt: 'p' }, { id: 'w', kind: 'signal', timeoutMs: 59_000 }] });
    expect(paths(raw)).toEqual([]);
  });
});

describe('a sub-pipeline step\'s budget above its parent\'s', () => {
  const child = { name: 'child', defaults: { model: 'm', maxOutputTokens: 100 }, steps: [{ id: 'x', prompt: 'p' }] };
  const parent = (budget: Record<string, number>) => base({ budget: { maxUsd: 1, maxTokens: 10_000 }, defaults: { model: 'm', maxOutputTokens: 100 }, steps: [{ id: 'sub', kind: 'pipeline', pipeline: child, budget }] });
  it('refuses maxUsd and maxTokens above the parent\'s, at the step\'s field', () => {
    const issues = issuesOf(parent({ maxUsd: 2, maxTokens: 20_000 }));
    expect(issues.map((i) => i.path)).toEqual(['pipeline.steps[0].budget.maxTokens', 'pipeline.steps[0].budget.maxUsd']);
    expect(issues[1]!.message).toContain("above the run's maxUsd of 1 (pipeline.budget.maxUsd)");
  });
  it('compares with the request\'s budget when it overrides the pipeline\'s', () => {
    expect(paths(parent({ maxUsd: 0.5 }), { maxUsd: 0.25 })).toEqual(['pipeline.steps[0].budget.maxUsd']);
  });
  it('accepts a budget within the parent\'s, and checks the child against the step\'s budget', () => {
    expect(paths(parent({ maxUsd: 0.5, maxTokens: 5_000 }))).toEqual([]);
    // The step's budget is the child's run budget: a child step capped above it can never run.
    expect(paths(parent({ maxTokens: 50 }))).toEqual(['pipeline.steps[0].budget.maxTokens']);
  });
});
