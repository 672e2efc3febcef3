import { LocalStack, SIM_PRICES, submitRun, watchRun, type RunEnd } from '@pipewright/cli';
import type { RunEvent } from '@pipewright/contracts';
import { waitFor } from '@pipewright/devstack';
import { openKvStores } from '@pipewright/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runApprovalsCommand } from '../../packages/cli/src/commands/approvals.js';
import { BudgetClient } from '../../services/executor/src/budget/index.js';
import { TOKENS } from '../approver/support/harness.js';
import { client, trailOf } from '../support/run.js';

/** The run's limit: room for one step's reservation (~$0.00202), not for a second one after it. */
const MAX_USD = 0.003;
/** Each step's answer: 800 characters, i.e. the whole 200-token output cap (~$0.002 on sim-large). */
const ANSWER = 'word '.repeat(160);

/** Two steps on sim-large; the second is denied by run.maxUsd and the run asks for more budget. */
const pipeline = {
  name: 'ask-budget',
  defaults: { model: 'sim-large', maxOutputTokens: 200 },
  budget: { maxUsd: MAX_USD, onExceeded: 'ask' },
  steps: [
    { id: 'draft', prompt: 'Draft' },
    { id: 'polish', needs: ['draft'], prompt: 'Polish' },
  ],
};

/**
 * `budget.onExceeded: ask` through the real services: planner, executor, budget service, approver and
 * the simulator. A model call denied by the run's limit does not end the run: the run waits for a
 * person in the approver, and the step runs again with the budget they approve.
 */
describe('budget.onExceeded: ask, end to end', () => {
  let stack: LocalStack;
  let c: Awaited<ReturnType<typeof client>>;
  let budget: BudgetClient;
  const price = SIM_PRICES['sim-large'];
  const usd = (u: { inputTokens: number; outputTokens: number }) => (u.inputTokens * price.input + u.outputTokens * price.output) / 1e6;

  beforeAll(async () => {
    stack = await LocalStack.start({
      services: ['planner', 'executor', 'budget', 'approver'],
      env: { PW_APPROVER_TOKENS: Object.entries(TOKENS).map(([n, t]) => `${n}:${t}`).join(','), PW_APPROVER_SWEEP_INTERVAL_MS: '50' },
    });
    c = await client(stack.natsOptions());
    budget = new BudgetClient(c.nc);
  });
  afterAll(async () => {
    await c?.close();
    await stack?.stop();
  });

  async function api(method: string, path: string, body?: unknown, token: string = TOKENS.alice): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await fetch(`http://127.0.0.1:${stack.approverPort ?? 0}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(10_000),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }

  /** Submits the run, waits (bounded) until it asks for budget, and checks what it asks. */
  async function untilItAsks(runId: string): Promise<{ approvalId: string; events: RunEvent[]; end: Promise<RunEnd> }> {
    await stack.sim.setConfig({ scripts: [{ match: { key: `${runId}:` }, reply: { content: ANSWER } }] });
    await submitRun(c.js, pipeline, {}, { runId });
    const events: RunEvent[] = [];
    const end = watchRun(c.js, runId, (e) => events.push(e), { timeoutMs: 60_000 });
    end.catch(() => undefined); // awaited by the test; this only keeps an early failure from being unhandled
    const approvalId = `${runId}:polish:1:budget`;
    const request = await waitFor(`approval ${approvalId} pending in the approver`, async () => {
      const r = await api('GET', `/api/approvals/${encodeURIComponent(approvalId)}`);
      const approval = r.json['approval'] as { status?: string; request?: Record<string, unknown> } | undefined;
      return r.status === 200 && approval?.status === 'pending' ? approval.request : undefined;
    }, { timeoutMs: 30_000, intervalMs: 50 });
    expect(request).toMatchObject({
      runId,
      stepId: 'polish',
      action: { kind: 'budget', arguments: { maxUsd: 2 * MAX_USD } },
      argumentsSchema: { properties: { maxUsd: { exclusiveMinimum: MAX_USD } }, required: ['maxUsd'] },
      budget: { exceeded: 'maxUsd', current: { maxUsd: MAX_USD } },
      reason: expect.stringContaining('budget run.maxUsd'),
      onTimeout: 'reject',
    });
    const spent = (request['budget'] as { spentUsd: number }).spentUsd;
    expect(spent).toBeGreaterThan(0.0015); // the draft's answer was paid for
    expect(request['costSoFarUsd']).toBe(spent);
    // the run waits for the person; the step's model call was refused before it was made
    const stores = await openKvStores(c.nc);
    const state = (await stores.runs.get(runId))?.value;
    expect(state).toMatchObject({ status: 'waiting_approval', budget: { maxUsd: MAX_USD }, steps: { draft: { status: 'succeeded' }, polish: { status: 'dispatched', approval: { approvalId, kind: 'budget' } } } });
    expect((await stack.sim.counters()).byKey[`${runId}:polish`]).toBeUndefined();
    expect(events.some((e) => e.type === 'run.finished')).toBe(false);
    return { approvalId, events, end };
  }

  it('approve: the run gets twice its limit, the step runs again, and the run succeeds past the original limit', async () => {
    const runId = 'ask-approve';
    const { approvalId, events, end } = await untilItAsks(runId);
    // the CLI shows what is asked: the limit now, the spend, the proposal
    const lines: string[] = [];
    expect(await runApprovalsCommand(['show', approvalId], () => ({ url: `http://127.0.0.1:${stack.approverPort ?? 0}`, token: TOKENS.bob }), (l) => lines.push(l))).toBe(0);
    expect(lines.join('\n')).toContain(`action: more budget for step polish`);
    expect(lines.join('\n')).toContain(`run limit now: maxUsd $${MAX_USD} (maxUsd reached)`);
    expect(lines.join('\n')).toContain(`proposed: maxUsd $${2 * MAX_USD}`);

    expect((await api('POST', `/api/approvals/${encodeURIComponent(approvalId)}/approve`, { comment: 'worth it' })).status).toBe(200);
    const done = await end;
    expect(done).toMatchObject({ type: 'run.finished', status: 'succeeded' });
    if (done.type !== 'run.finished') throw new Error('unreachable');
    expect(done.costUsd).toBeGreaterThan(MAX_USD);
    expect(done.costUsd).toBeLessThanOrEqual(2 * MAX_USD);
    expect(done.costUsd).toBeCloseTo(usd(done.usage), 8);
    expect(events.filter((e) => e.type === 'step.dispatched' && e.stepId === 'polish').map((e) => (e.type === 'step.dispatched' ? e.attempt : 0))).toEqual([1, 2]);
    // attempt 1 was denied before any call; attempt 2 made the one call, under its own key (`:a2`)
    expect((await stack.sim.counters()).byKey[`${runId}:polish:a2`]?.calls).toBe(1);
    // the budget service now holds the run to the raised limit, and counted what the run reports
    const status = await budget.status('run', runId);
    if (status.kind !== 'status') throw new Error(status.reason);
    expect(status.limitUsd).toBe(2 * MAX_USD);
    expect(status.committedUsd).toBeCloseTo(done.costUsd, 8);
    const trail = await trailOf(c.js, runId);
    expect(trail.map((d) => d.action)).toEqual(expect.arrayContaining(['request-approval', 'approval-approved', 'raise-budget']));
    expect(trail.find((d) => d.action === 'raise-budget')?.reason).toBe(`run limits maxUsd $${MAX_USD} → maxUsd $${2 * MAX_USD}: approval ${approvalId} approved by alice via api: worth it`);
  });

  it('edit: an amount not above the limit is refused by the approver; the edited amount becomes the run limit', async () => {
    const runId = 'ask-edit';
    const { approvalId, end } = await untilItAsks(runId);
    const path = `/api/approvals/${encodeURIComponent(approvalId)}/edit`;
    const bad = await api('POST', path, { arguments: { maxUsd: 0.002 } }, TOKENS.bob);
    expect(bad).toMatchObject({ status: 422, json: { issues: [{ path: 'arguments.maxUsd', message: `must be > ${MAX_USD}` }] } });
    expect((await api('POST', path, { arguments: { maxUsd: 0.01 } }, TOKENS.bob)).status).toBe(200);
    const done = await end;
    expect(done).toMatchObject({ type: 'run.finished', status: 'succeeded' });
    if (done.type !== 'run.finished') throw new Error('unreachable');
    expect(done.costUsd).toBeGreaterThan(MAX_USD);
    const status = await budget.status('run', runId);
    if (status.kind !== 'status') throw new Error(status.reason);
    expect(status.limitUsd).toBe(0.01);
    expect((await openKvStores(c.nc).then((s) => s.runs.get(runId)))?.value.budget).toEqual({ maxUsd: 0.01 });
  });

  it('reject: the run ends budget_exhausted with its partial result, naming who refused', async () => {
    const runId = 'ask-reject';
    const { approvalId, end } = await untilItAsks(runId);
    expect((await api('POST', `/api/approvals/${encodeURIComponent(approvalId)}/reject`, { reason: 'over the quarter budget' }, TOKENS.bob)).status).toBe(200);
    const done = await end;
    expect(done).toMatchObject({
      type: 'run.finished',
      status: 'budget_exhausted',
      reason: expect.stringContaining(`more budget refused: approval ${approvalId} rejected by bob via api: over the quarter budget`),
      partial: { draft: expect.stringContaining('word word') },
    });
    if (done.type !== 'run.finished') throw new Error('unreachable');
    expect(done.costUsd).toBeLessThanOrEqual(MAX_USD);
    expect((await stack.sim.counters()).byKey[`${runId}:polish`]).toBeUndefined();
  });
});
