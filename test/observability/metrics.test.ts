import { LocalStack, submitRun, watchRun } from '@pipewright/cli';
import { consumers, streams } from '@pipewright/contracts';
import { waitFor } from '@pipewright/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, runToEnd } from '../support/run.js';
import { scrape, series, total, value, type Sample } from './scrape.js';

const ok = { name: 'metrics-ok', defaults: { model: 'sim-small' }, budget: { maxUsd: 1 }, steps: [{ id: 'a', prompt: 'One' }, { id: 'b', needs: ['a'], prompt: 'Two' }] };
/** Denied at its first reservation: no call fits a budget this small. */
const broke = { name: 'metrics-broke', defaults: { model: 'sim-large' }, budget: { maxUsd: 0.000_000_1 }, steps: [{ id: 'only', prompt: 'Too dear' }] };
const gated = { name: 'metrics-gated', defaults: { model: 'sim-small' }, steps: [{ id: 'draft', prompt: 'Draft', approval: { always: true } }, { id: 'publish', needs: ['draft'], prompt: 'Publish' }] };

/**
 * What an operator alerts on, read from every service's /metrics after real runs through the whole
 * stack (four services, per-role bus auth): a run that succeeds, one stopped by its budget, and one
 * that waits for a person who approves it over the HTTP API.
 */
describe('every service exposes the metrics an operator alerts on', () => {
  let stack: LocalStack;
  let c: Awaited<ReturnType<typeof client>>;
  const costs: number[] = [];

  const port = (service: string) => {
    const found = [...stack.opsPorts.entries()].find(([id]) => id.startsWith(`${service}-`));
    if (!found) throw new Error(`no ${service} process`);
    return found[1];
  };
  /** Scrapes until `check` holds (figures read at scrape time are cached for up to 5 s). */
  const scrapeUntil = (service: string, what: string, check: (s: Sample[]) => boolean) =>
    waitFor(`${service}: ${what}`, async () => {
      const s = await scrape(port(service));
      return check(s) ? s : undefined;
    }, { timeoutMs: 20_000, intervalMs: 250 });

  beforeAll(async () => {
    stack = await LocalStack.start();
    c = await client(stack.natsOptions());
  });
  afterAll(async () => {
    await c?.close();
    await stack?.stop();
  });

  it('counts a run that succeeded and one stopped by its budget', async () => {
    const [a, b] = await Promise.all([runToEnd(c.js, ok, {}, { runId: 'metrics-ok-1' }), runToEnd(c.js, broke, {}, { runId: 'metrics-broke-1' })]);
    expect(a.end).toMatchObject({ type: 'run.finished', status: 'succeeded' });
    expect(b.end).toMatchObject({ type: 'run.finished', status: 'budget_exhausted' });
    for (const r of [a, b]) if (r.end.type === 'run.finished') costs.push(r.end.costUsd);
  });

  it('shows a pending approval and its age while it waits, and the decision once it is made', async () => {
    const runId = 'metrics-gated-1';
    await submitRun(c.js, gated, {}, { runId });
    const end = watchRun(c.js, runId, () => undefined, { timeoutMs: 60_000 });
    end.catch(() => undefined); // awaited below; this only keeps an early failure from being unhandled
    const waiting = await scrapeUntil('approver', 'one approval pending', (s) => value(s, 'pw_approvals_pending') === 1);
    expect(value(waiting, 'pw_approval_oldest_pending_age_seconds')).toBeGreaterThan(0);
    const res = await fetch(`http://127.0.0.1:${stack.approverPort}/api/approvals/${encodeURIComponent(`${runId}:draft:1`)}/approve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.approverToken}`, 'content-type': 'application/json' },
      body: '{}',
      signal: AbortSignal.timeout(10_000),
    });
    expect(res.status).toBe(200);
    const finished = await end;
    expect(finished).toMatchObject({ type: 'run.finished', status: 'succeeded' });
    if (finished.type === 'run.finished') costs.push(finished.costUsd);
    const after = await scrapeUntil('approver', 'no approval pending', (s) => value(s, 'pw_approvals_pending') === 0);
    expect(value(after, 'pw_approval_oldest_pending_age_seconds')).toBe(0);
    expect(value(after, 'pw_approvals_decided_total', { decision: 'approved', channel: 'api' })).toBe(1);
    expect(value(after, 'pw_cas_conflicts_total', { store: 'approvals' })).toBeGreaterThanOrEqual(0);
    expect(value(after, 'pw_consumer_pending_messages', { stream: streams.approvals.name, consumer: consumers.approver })).toBe(0);
  });

  it('planner: runs by pipeline and status, their durations, steps by outcome, conflicts, republishes, its consumers drained', async () => {
    const s = await scrapeUntil('planner', 'its consumers drained', (x) => value(x, 'pw_consumer_pending_messages', { stream: streams.events.name, consumer: consumers.plannerEvents }) === 0);
    expect(value(s, 'pw_runs_total', { pipeline: 'metrics-ok', status: 'succeeded' })).toBe(1);
    expect(value(s, 'pw_runs_total', { pipeline: 'metrics-broke', status: 'budget_exhausted' })).toBe(1);
    expect(value(s, 'pw_runs_total', { pipeline: 'metrics-gated', status: 'succeeded' })).toBe(1);
    expect(total(s, 'pw_runs_total')).toBe(3);
    expect(value(s, 'pw_run_duration_seconds_count', { pipeline: 'metrics-ok', status: 'succeeded' })).toBe(1);
    const seconds = value(s, 'pw_run_duration_seconds_sum', { pipeline: 'metrics-ok', status: 'succeeded' })!;
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThan(60);
    expect(value(s, 'pw_run_duration_seconds_sum', { pipeline: 'metrics-gated', status: 'succeeded' })).toBeGreaterThan(0);
    expect(value(s, 'pw_steps_total', { kind: 'llm', outcome: 'succeeded' })).toBe(4);
    expect(value(s, 'pw_cas_conflicts_total', { store: 'runs' })).toBeGreaterThanOrEqual(0);
    expect(value(s, 'pw_outbox_republished_total')).toBe(0);
    for (const consumer of [consumers.plannerRuns, `${consumers.plannerRuns}-cancel`, consumers.plannerDeadlines])
      expect(value(s, 'pw_consumer_pending_messages', { stream: streams.runs.name, consumer })).toBe(0);
    expect(value(s, 'pw_consumer_ack_pending', { stream: streams.events.name, consumer: consumers.plannerEvents })).toBe(0);
    expect(value(s, 'pw_dlq_messages_total', { outcome: 'copied' })).toBe(0);
  });

  it('executor: model calls, breaker state per model (closed), nothing parked, its consumers drained', async () => {
    const stepsDurable = consumers.executor('default');
    const s = await scrapeUntil('executor', 'its step consumer drained', (x) => value(x, 'pw_consumer_ack_pending', { stream: streams.steps.name, consumer: stepsDurable }) === 0);
    expect(value(s, 'pw_consumer_pending_messages', { stream: streams.steps.name, consumer: stepsDurable })).toBe(0);
    expect(value(s, 'pw_consumer_pending_messages', { stream: streams.steps.name, consumer: consumers.executorTools('default') })).toBe(0);
    expect(value(s, 'pw_breaker_state', { model: 'sim-small' })).toBe(0);
    expect(value(s, 'pw_model_calls_total', { model: 'sim-small' })).toBeGreaterThanOrEqual(4);
    expect(value(s, 'pw_steps_parked_total')).toBe(0);
    expect(value(s, 'pw_tasks_skipped_total')).toBeGreaterThanOrEqual(0);
    expect(value(s, 'pw_step_duration_seconds_count', { outcome: 'succeeded' })).toBe(4);
    // The OpenTelemetry GenAI client metrics: one duration per call, input and output tokens per answered call.
    const calls = value(s, 'pw_model_calls_total', { model: 'sim-small' })!;
    const genAi = { gen_ai_operation_name: 'chat', gen_ai_provider_name: 'openai', gen_ai_request_model: 'sim-small' };
    expect(value(s, 'gen_ai_client_operation_duration_seconds_count', { ...genAi, error_type: '' })).toBe(calls);
    expect(value(s, 'gen_ai_client_operation_duration_seconds_sum', { ...genAi, error_type: '' })).toBeGreaterThan(0);
    expect(value(s, 'gen_ai_client_token_usage_count', { ...genAi, gen_ai_token_type: 'input' })).toBe(calls);
    expect(value(s, 'gen_ai_client_token_usage_sum', { ...genAi, gen_ai_token_type: 'output' })).toBeGreaterThan(0);
  });

  it('budget: USD reserved and committed (the runs cost), the denial by its limit, ledger writes and conflicts', async () => {
    const s = await scrapeUntil('budget', 'spend booked', (x) => value(x, 'pw_consumer_pending_messages', { stream: streams.events.name, consumer: consumers.budgetSpend }) === 0 && (value(x, 'pw_budget_committed_usd_total') ?? 0) > 0);
    const committed = value(s, 'pw_budget_committed_usd_total')!;
    const reserved = value(s, 'pw_budget_reserved_usd_total')!;
    const cost = costs.reduce((n, x) => n + x, 0);
    expect(cost).toBeGreaterThan(0);
    expect(committed).toBeCloseTo(cost, 8);
    // a reservation covers the prompt and the most output the call may produce
    expect(reserved).toBeGreaterThanOrEqual(committed);
    expect(value(s, 'pw_budget_denials_total', { limit: 'run.maxUsd' })).toBeGreaterThanOrEqual(1);
    expect(value(s, 'pw_budget_ledger_writes_total')).toBeGreaterThan(0);
    expect(value(s, 'pw_cas_conflicts_total', { store: 'budget-ledger' })).toBeGreaterThanOrEqual(0);
    expect(series(s, 'pw_budget_requests_total', { op: 'reserve', outcome: 'denied' }).length).toBe(1);
  });
});
