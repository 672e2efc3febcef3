import { BatchStats, RunDetail, RunSummary } from '@pipewright/contracts';
import { describe, expect, it } from 'vitest';
import { styleFor } from '../src/cli/io.js';
import { renderBatch, renderRunTable } from '../src/render/list.js';
import { renderRun } from '../src/render/run.js';

const plain = styleFor(false);
const summary = RunSummary.parse({
  runId: 'r-1',
  status: 'failed',
  pipeline: 'support-desk',
  tenant: 'acme',
  labels: { batch: 'nightly' },
  createdAt: '2026-11-24T10:00:00.000Z',
  updatedAt: '2026-11-24T10:00:03.000Z',
  finishedAt: '2026-11-24T10:00:03.500Z',
  steps: { total: 3, succeeded: 2 },
  costUsd: 0.0012,
  totalTokens: 420,
  reason: 'step reply failed: bad answer',
});

const detail = RunDetail.parse({
  ...summary,
  input: { question: 'where is my order?' },
  partial: { classify: { intent: 'order' } },
  usage: { inputTokens: 300, outputTokens: 120, totalTokens: 420 },
  budget: { maxUsd: 0.5 },
  stepList: [
    { id: 'classify', kind: 'llm', needs: [], status: 'succeeded', attempt: 1, model: { provider: 'default', model: 'sim-small' }, usage: { inputTokens: 100, outputTokens: 20, totalTokens: 120 }, costUsd: 0.0002, calls: 1, latencyMs: 812, output: { intent: 'order' } },
    { id: 'lookup', kind: 'tool', needs: ['classify'], status: 'succeeded', attempt: 1, model: { provider: 'tool', model: 'lookup-order' }, latencyMs: 12, output: { status: 'shipped', big: 'x'.repeat(500) } },
    { id: 'reply', kind: 'llm', needs: ['lookup'], status: 'failed', attempt: 2, model: { provider: 'default', model: 'sim-large' }, error: { code: 'schema', message: 'bad answer', retryable: false } },
  ],
  decisions: [{ runId: 'r-1', seq: 1, at: '2026-11-24T10:00:00.010Z', on: 'run.submitted', action: 'dispatch', stepIds: ['classify'], reason: 'no needs' }],
  approvals: [{ approvalId: 'ap-1', stepId: 'reply', reason: 'refund over $100', requestedAt: '2026-11-24T10:00:02.000Z', status: 'approved', decidedBy: 'bob', decidedAt: '2026-11-24T10:00:02.500Z' }],
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  traceUrl: 'http://jaeger:16686/trace/4bf92f3577b34da6a3ce929d0e0e4736',
});

describe('runs show', () => {
  const text = renderRun(detail, plain);

  it('shows the run’s state, reason, labels, cost against its budget and trace', () => {
    expect(text).toContain('run r-1  failed  pipeline support-desk  tenant acme');
    expect(text).toContain('finished 2026-11-24 10:00:03Z (3.5 s)');
    expect(text).toContain('reason: step reply failed: bad answer');
    expect(text).toContain('labels: batch=nightly');
    expect(text).toContain('cost $0.0012  tokens 300 in + 120 out = 420  (budget max $0.50)');
    expect(text).toContain('trace 4bf92f3577b34da6a3ce929d0e0e4736  http://jaeger:16686/trace/');
  });

  it('shows each step with its state, attempts, model or tool, tokens, cost and output or error', () => {
    expect(text).toContain('steps (2/3 succeeded):');
    expect(text).toMatch(/ {2}classify +llm +succeeded +attempt 1 model sim-small {2}tokens 100\+20 {2}\$0\.0002 {2}calls 1 {2}812 ms\n {6}output \{"intent":"order"\}/);
    expect(text).toMatch(/ {2}lookup +tool +succeeded +attempt 1 tool lookup-order {2}12 ms {2}needs classify\n/);
    expect(text).not.toMatch(/lookup.*tokens/);
    expect(text).toMatch(/output \{"status":"shipped","big":"x+… \(\d+ more characters; --json shows all\)/);
    expect(text).toMatch(/reply +llm +failed +attempt 2 model sim-large[^\n]*\n {6}error schema: bad answer/);
  });

  it('shows the partial result, the approvals and the decision trail', () => {
    expect(text).toContain('partial: {"classify":{"intent":"order"}}');
    expect(text).toContain('ap-1  step reply  approved by bob at 2026-11-24 10:00:02Z: refund over $100');
    expect(text).toContain('#1 10:00:00.010 on run.submitted: dispatch classify (no needs)');
  });
});

describe('runs show: steps that call no model themselves', () => {
  it('shows a map\'s items, a skip with its reason, a signal wait and a child run', () => {
    const flow = RunDetail.parse({
      ...detail,
      status: 'running',
      stepList: [
        { id: 'lines', kind: 'map', needs: [], status: 'dispatched', attempt: 1, items: { total: 40, succeeded: 31, running: 8, failed: 0 } },
        { id: 'escalate', kind: 'llm', needs: ['lines'], status: 'skipped', attempt: 0, skipReason: 'when: steps.triage.output.priority equals "high" is false' },
        { id: 'go', kind: 'signal', needs: [], status: 'dispatched', attempt: 1, signal: { name: 'go-ahead', since: '2026-11-24T10:00:01.000Z', until: '2026-11-24T11:00:01.000Z' } },
        { id: 'sub', kind: 'pipeline', needs: [], status: 'dispatched', attempt: 1, child: { runId: 'r-1-sub-a1' } },
      ],
    });
    const t = renderRun(flow, plain);
    expect(t).toMatch(/lines +map +dispatched[^\n]*\n {6}items 31\/40 succeeded, 8 running, 0 failed/);
    expect(t).toMatch(/escalate +llm +skipped[^\n]*\n {6}skipped: when: steps\.triage\.output\.priority equals "high" is false/);
    expect(t).toContain('waiting for signal go-ahead since 2026-11-24 10:00:01Z until 2026-11-24 11:00:01Z');
    expect(t).toMatch(/sub +pipeline dispatched[^\n]*\n {6}child run r-1-sub-a1/);
  });
});

describe('runs list and batch', () => {
  it('a table whose columns fit the page', () => {
    const other = RunSummary.parse({ ...summary, runId: 'r-22-longer-id', status: 'succeeded', pipeline: 'p', labels: {}, steps: { total: 3, succeeded: 3 } });
    const lines = renderRunTable([summary, other], plain).split('\n');
    expect(lines[0]).toBe('RUN             STATUS     PIPELINE      STEPS  COST     CREATED               LABELS');
    expect(lines[1]).toBe('r-1             failed     support-desk  2/3    $0.0012  2026-11-24 10:00:00Z  batch=nightly');
    expect(lines[2]).toBe('r-22-longer-id  succeeded  p             3/3    $0.0012  2026-11-24 10:00:00Z');
  });

  it('batch progress: counts, share finished, throughput, cost and failures', () => {
    const b = BatchStats.parse({ labels: { batch: 'nightly' }, total: 4, counts: { queued: 0, running: 1, waiting_approval: 0, paused: 0, succeeded: 2, failed: 1, cancelled: 0, budget_exhausted: 0, timed_out: 0 }, throughputPerMin: 2.5, costUsd: 0.01, totalTokens: 1_234, firstCreatedAt: '2026-11-24T10:00:00.000Z', failures: [summary] });
    const text = renderBatch(b, plain);
    expect(text).toContain('batch batch=nightly: 4 runs, 3 finished (75.0 %)');
    expect(text).toContain('running 1  succeeded 2  failed 1');
    expect(text).toContain('throughput 2.5 runs/min (last 5 min)  cost $0.01  tokens 1,234');
    expect(text).toContain('failures (newest 1):\n  r-1  failed  step reply failed: bad answer');
  });
});
