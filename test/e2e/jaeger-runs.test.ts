import { LocalStack, submitRun, watchRun } from '@pipewright/cli';
import { jaegerAvailable, startJaeger, waitFor, type JaegerHandle } from '@pipewright/devstack';
import { startTracing, type Tracing } from '@pipewright/kit';
import { serveTool, type ToolHandle } from '@pipewright/tools';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { TOKENS } from '../approver/support/harness.js';
import { jaegerFindTraces, jaegerTrace, rootsOf, spanTree, type TraceSpan } from '../support/jaeger-query.js';
import { client } from '../support/run.js';

const available = jaegerAvailable();
if (!available) console.warn('Jaeger run tests skipped: no jaeger binary (run scripts/ensure-servers.sh jaeger, or set PW_JAEGER)');

const ERROR = 2;
const PRODUCER = 4;
/** Clock slack between processes on one machine (ns); spans are recorded at ms precision. */
const SLACK_NS = 250_000_000n;
const RETRY = { maxAttempts: 5, initialIntervalMs: 20, backoffCoefficient: 2, maxIntervalMs: 100, deadlineMs: 20_000 };
/** Its schema comes from the tool registry: the tool served below registers itself. */
const ORDER_TOOL = { description: 'Find an order by id' };

/**
 * Five runs through every service, read back from a real Jaeger: a DAG, faults with retries, an agent
 * with a tool, an approval decided over HTTP, and a budget hit. This process is a traced client (its
 * submit is the root of each run's trace) and serves the tool, as a tool service would.
 */
describe.skipIf(!available)('runs as Jaeger shows them', () => {
  let jaeger: JaegerHandle;
  let tracing: Tracing;
  let stack: LocalStack;
  let c: Awaited<ReturnType<typeof client>>;
  let tool: ToolHandle;

  beforeAll(async () => {
    jaeger = await startJaeger();
    tracing = startTracing({ serviceName: 'pw-test-client', endpoint: jaeger.otlpHttpUrl });
    stack = await LocalStack.start({
      services: ['planner', 'executor', 'budget', 'approver'],
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpHttpUrl, PW_APPROVER_TOKENS: `alice:${TOKENS.alice}` },
    });
    c = await client(stack.natsOptions());
    tool = await serveTool(c.nc, {
      name: 'lookup-order',
      description: ORDER_TOOL.description,
      version: '1.0.0',
      input: z.object({ orderId: z.string() }),
      handler: ({ orderId }) => Promise.resolve({ id: orderId, status: 'shipped' }),
    });
    await tool.registered;
  });
  afterAll(async () => {
    await tool?.stop();
    await c?.close();
    await stack?.stop();
    await tracing?.shutdown();
    await jaeger?.stop();
  });

  /** Submits a run (from a traced client span), waits for its end, then for its trace to hold `complete`. */
  async function tracedRun(runId: string, pipeline: { name: string }, complete: (t: TraceSpan[]) => boolean, during?: () => Promise<void>): Promise<{ status: string; trace: TraceSpan[] }> {
    await tracing.tracer.startActiveSpan(`submit ${runId}`, async (span) => {
      await submitRun(c.js, pipeline, {}, { runId });
      span.end();
    });
    const ended = watchRun(c.js, runId, () => undefined, { timeoutMs: 30_000 });
    await during?.();
    const end = (await ended) as { status: string };
    const [traceId, ...others] = await waitFor(`the trace of ${runId}`, async () => {
      const ids = await jaegerFindTraces(jaeger.queryUrl, 'pipewright-planner', { 'pw.run.id': runId });
      return ids.length > 0 ? ids : undefined;
    }, { timeoutMs: 15_000, intervalMs: 200 });
    expect(others).toEqual([]); // one trace per run
    const trace = await waitFor(`every span of ${runId}`, async () => {
      const t = await jaegerTrace(jaeger.queryUrl, traceId!);
      return t.some((s) => s.name === 'send run.finished') && t.some((s) => s.name === `run ${pipeline.name}`) && complete(t) ? t : undefined;
    }, { timeoutMs: 15_000, intervalMs: 250 });
    // one root (the client's submit) and no orphans; nothing failed that did not fail
    expect(rootsOf(trace).map((s) => s.name)).toEqual([`submit ${runId}`]);
    // one run span, recorded by the planner that ended the run, under the submitter's span
    const [run, ...moreRuns] = trace.filter((s) => s.name === `run ${pipeline.name}`);
    expect(moreRuns).toEqual([]);
    expect(parentOf(trace, run!)).toMatchObject({ name: 'send pw.runs.submit', service: 'pw-test-client' });
    expect(parentOf(trace, parentOf(trace, run!)!)!.name).toBe(`submit ${runId}`);
    expect(run!.attributes).toMatchObject({ 'pw.run.id': runId, 'pw.run.status': end.status });
    return { status: end.status, trace };
  }

  const named = (t: TraceSpan[], name: string) => t.filter((s) => s.name === name);
  const parentOf = (t: TraceSpan[], s: TraceSpan) => t.find((p) => p.spanId === s.parentSpanId);
  const errors = (t: TraceSpan[]) => t.filter((s) => s.status.code === ERROR).map((s) => s.name);

  it('a DAG: a run span from submission to its end, a span per step from dispatch to completion, its model call under it with cost, no ERROR', async () => {
    const runId = 'jaeger-dag';
    const { status, trace } = await tracedRun(runId, {
      name: 'dag',
      defaults: { model: 'sim-small' },
      budget: { maxUsd: 1 },
      steps: [
        { id: 'outline', prompt: 'Outline' },
        { id: 'facts', needs: ['outline'], prompt: 'Facts for {{steps.outline.output}}' },
        { id: 'quotes', needs: ['outline'], prompt: 'Quotes for {{steps.outline.output}}' },
        { id: 'article', needs: ['facts', 'quotes'], prompt: 'Write {{steps.facts.output}} {{steps.quotes.output}}' },
      ],
    }, (t) => named(t, 'process step.completed').length === 4 && named(t, 'process step.completed spend').length === 4);
    expect(status).toBe('succeeded');
    expect(errors(trace)).toEqual([]);
    // the run span: from the submission to the terminal event, every service's span inside it
    const run = named(trace, 'run dag')[0]!;
    const services = trace.filter((s) => s.service.startsWith('pipewright-'));
    expect(run.startNs).toBeLessThanOrEqual(named(trace, 'process pw.runs.submit')[0]!.endNs);
    expect(run.startNs).toBeGreaterThanOrEqual(named(trace, `submit ${runId}`)[0]!.startNs - SLACK_NS);
    expect(services.every((s) => s.endNs <= run.endNs + SLACK_NS)).toBe(true);
    for (const id of ['outline', 'facts', 'quotes', 'article']) {
      // one step span under the run span, from dispatch to completion
      const [stepSpan, ...moreSteps] = named(trace, `step ${id}`);
      expect(moreSteps).toEqual([]);
      expect(stepSpan).toMatchObject({ service: 'pipewright-planner' });
      expect(parentOf(trace, stepSpan!)).toBe(run);
      expect(stepSpan!.attributes).toMatchObject({ 'pw.step.id': id, 'pw.step.outcome': 'succeeded', 'pw.step.attempt': 1 });
      const [step, ...more] = named(trace, `process step ${id}`);
      expect(more).toEqual([]);
      const dispatch = parentOf(trace, step!)!;
      expect(dispatch).toMatchObject({ name: 'send pw.steps.default.dispatch', kind: PRODUCER, service: 'pipewright-planner' });
      // the dispatch, and so the executor's handling and its calls, hang under the step span: depth does not grow with the DAG
      expect(parentOf(trace, dispatch)).toBe(stepSpan);
      expect(stepSpan!.startNs).toBeLessThanOrEqual(dispatch.startNs + SLACK_NS);
      expect(stepSpan!.endNs).toBeGreaterThanOrEqual(step!.endNs - SLACK_NS);
      // and links to what released it: the run's start for the first step, a result for the others
      if (id !== 'outline') expect(dispatch.links.map((l) => trace.find((s) => s.spanId === l.spanId)?.name)).toEqual(['process step.completed']);
      const chats = trace.filter((s) => s.name === 'chat sim-small' && s.parentSpanId === step!.spanId);
      expect(chats).toHaveLength(1);
      expect(chats[0]!.attributes['pw.cost.usd']).toBeGreaterThan(0);
      expect(step!.attributes['pw.cost.usd']).toBe(chats[0]!.attributes['pw.cost.usd']);
      expect(stepSpan!.attributes['pw.cost.usd']).toBe(chats[0]!.attributes['pw.cost.usd']);
    }
    // the run span carries its totals: the cost is the sum of its calls'; so does the span that ended it
    const finished = named(trace, 'send run.finished')[0]!;
    const last = trace.find((s) => s.spanId === finished.links[0]?.spanId)!;
    expect(last.name).toBe('process step.completed');
    expect(last.attributes['pw.run.status']).toBe('succeeded');
    const callsUsd = named(trace, 'chat sim-small').reduce((n, s) => n + Number(s.attributes['pw.cost.usd']), 0);
    expect(Number(last.attributes['pw.run.cost_usd'])).toBeCloseTo(callsUsd, 9);
    expect(Number(run.attributes['pw.run.cost_usd'])).toBeCloseTo(callsUsd, 9);
    expect(run.status.code).not.toBe(ERROR);
    // a grant is recorded on the chat span: the budget service makes no span of it
    expect(trace.filter((s) => s.service === 'pipewright-budget' && !s.name.endsWith(' spend'))).toEqual([]);
    console.log(`[jaeger-runs] a 4-step run: ${trace.length} spans; by name: ${JSON.stringify(countBy(trace))}\n${spanTree(trace)}`);
  });

  it('faults with retries: every failed call is an ERROR chat span under one step span that succeeds', async () => {
    const runId = 'jaeger-faults';
    await stack.sim.setConfig({ scripts: [{ match: { key: `${runId}:flaky` }, replies: [{ fault: '500' }, { fault: '503' }, { content: 'fine now' }] }] });
    const { status, trace } = await tracedRun(runId, { name: 'faults', defaults: { model: 'sim-small', retry: RETRY }, steps: [{ id: 'flaky', prompt: 'Try' }] }, (t) => named(t, 'process step.completed').length === 1);
    expect(status).toBe('succeeded');
    const step = named(trace, 'process step flaky')[0]!;
    const chats = trace.filter((s) => s.name === 'chat sim-small' && s.parentSpanId === step.spanId);
    expect(chats.map((s) => s.attributes['pw.call.attempt'])).toEqual(expect.arrayContaining([1, 2, 3]));
    expect(chats.filter((s) => s.status.code === ERROR).map((s) => s.attributes['error.type'])).toHaveLength(2);
    expect(step.status.code).not.toBe(ERROR);
    expect(step.attributes).toMatchObject({ 'pw.step.outcome': 'succeeded', 'pw.step.calls': 3 });
    expect(parentOf(trace, parentOf(trace, step)!)).toMatchObject({ name: 'step flaky', attributes: expect.objectContaining({ 'pw.step.outcome': 'succeeded', 'pw.step.calls': 3 }) });
    // the failed calls are the only errors of the run
    expect(errors(trace)).toEqual(['chat sim-small', 'chat sim-small']);
  });

  it('an agent with a tool: a span per turn, the tool call in the trace', async () => {
    const runId = 'jaeger-agent';
    await stack.sim.setConfig({
      scripts: [
        { match: { key: `${runId}:support:t1` }, reply: { toolCalls: [{ name: 'lookup-order', arguments: { orderId: 'o-1' } }] } },
        { match: { key: `${runId}:support:t2` }, reply: { json: { reply: 'shipped' } } },
      ],
    });
    const { status, trace } = await tracedRun(runId, {
      name: 'agent',
      defaults: { model: 'sim-small' },
      tools: { 'lookup-order': ORDER_TOOL },
      steps: [{ id: 'support', kind: 'agent', prompt: 'Where is o-1?', tools: ['lookup-order'], output: { type: 'object', properties: { reply: { type: 'string' } }, required: ['reply'] } }],
    }, (t) => named(t, 'execute_tool lookup-order').length === 1 && named(t, 'process step support turn 2').length === 1);
    expect(status).toBe('succeeded');
    expect(errors(trace)).toEqual([]);
    expect(named(trace, 'process step support turn 1')).toHaveLength(1);
    expect(named(trace, 'execute_tool lookup-order')[0]!.attributes).toMatchObject({ 'gen_ai.tool.name': 'lookup-order' });
  });

  it('an approval decided over HTTP: the wait is a span saying who decided', async () => {
    const runId = 'jaeger-approval';
    const approve = async () => {
      const id = `${runId}:draft:1`;
      await waitFor('the approval request', async () => ((await api('GET', `/api/approvals/${encodeURIComponent(id)}`)).status === 200 ? true : undefined), { timeoutMs: 15_000, intervalMs: 100 });
      expect((await api('POST', `/api/approvals/${encodeURIComponent(id)}/approve`, {})).status).toBe(200);
    };
    const { status, trace } = await tracedRun(runId, {
      name: 'approval',
      defaults: { model: 'sim-small' },
      steps: [{ id: 'draft', prompt: 'Draft', approval: { always: true } }, { id: 'publish', needs: ['draft'], prompt: 'Publish {{steps.draft.output}}' }],
    }, (t) => named(t, 'approval draft').length === 1 && named(t, 'process step publish').length === 1, approve);
    expect(status).toBe('succeeded');
    expect(errors(trace)).toEqual([]);
    // the budget's only spans are the bookings of the results' spend (one per result, none per call)
    expect(trace.filter((s) => s.service === 'pipewright-budget' && s.name !== 'process step.completed spend').map((s) => s.name)).toEqual([]);
    const wait = named(trace, 'approval draft')[0]!;
    expect(wait).toMatchObject({ service: 'pipewright-approver' });
    expect(wait.attributes).toMatchObject({ 'pw.approval.decision': 'approved', 'pw.approval.decided_by': 'alice', 'pw.approval.via': 'api' });
    expect(wait.attributes['pw.approval.wait_ms']).toBeGreaterThanOrEqual(0);
    // the HTTP request that decided is a trace of its own, linked from the wait
    const [link, ...moreLinks] = wait.links;
    expect(moreLinks).toEqual([]);
    const request = await waitFor('the decision request in Jaeger', async () => (await jaegerTrace(jaeger.queryUrl, link!.traceId)).find((s) => s.spanId === link!.spanId), { timeoutMs: 10_000, intervalMs: 200 });
    expect(request).toMatchObject({ name: 'POST /api/approvals/{id}/approve', kind: 2, service: 'pipewright-approver' });
    expect(request.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.response.status_code': 200 });
    const decided = named(trace, 'process approval.decided')[0]!;
    expect(parentOf(trace, parentOf(trace, decided)!)).toBe(wait);
    console.log(`[jaeger-runs] an approval run:\n${spanTree(trace)}`);
  });

  it('a budget hit: the denial is a span of its own, under the step it stopped', async () => {
    const runId = 'jaeger-budget';
    const { status, trace } = await tracedRun(runId, { name: 'poor', defaults: { model: 'sim-large' }, budget: { maxUsd: 0.000001 }, steps: [{ id: 'costly', prompt: 'Spend' }] }, (t) => named(t, 'budget reserve denied').length === 1);
    expect(status).toBe('budget_exhausted');
    const denied = named(trace, 'budget reserve denied')[0]!;
    expect(denied.attributes).toMatchObject({ 'pw.budget.outcome': 'denied', 'pw.budget.limit': 'run.maxUsd' });
    expect(parentOf(trace, denied)!.name).toBe('process step costly');
    expect(named(trace, 'chat sim-large')).toEqual([]); // no call was made
    expect(named(trace, 'run poor')[0]!.attributes).toMatchObject({ 'pw.run.status': 'budget_exhausted' });
    expect(parentOf(trace, named(trace, 'step costly')[0]!)!.name).toBe('run poor');
  });

  async function api(method: string, path: string, body?: unknown): Promise<{ status: number }> {
    const res = await fetch(`http://127.0.0.1:${stack.approverPort ?? 0}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKENS.alice}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(10_000),
    });
    await res.arrayBuffer();
    return { status: res.status };
  }
});

function countBy(trace: TraceSpan[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of trace) out[s.name] = (out[s.name] ?? 0) + 1;
  return out;
}
