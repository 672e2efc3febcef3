import { LocalStack } from '@pipewright/cli';
import { jaegerAvailable, startJaeger, waitFor, type JaegerHandle } from '@pipewright/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jaegerFindTraces, jaegerServices, jaegerTrace, rootsOf } from '../support/jaeger-query.js';
import { client, runToEnd } from '../support/run.js';

const available = jaegerAvailable();
if (!available) console.warn('tracing tests skipped: no jaeger binary (run scripts/ensure-servers.sh jaeger, or set PW_JAEGER)');

/** A run is one trace across every service, exported over OTLP HTTP to a real Jaeger and read back from its query API. */
describe.skipIf(!available)('tracing (Jaeger)', () => {
  let jaeger: JaegerHandle;
  let stack: LocalStack;
  let c: Awaited<ReturnType<typeof client>>;

  beforeAll(async () => {
    jaeger = await startJaeger();
    stack = await LocalStack.start({ services: ['planner', 'executor', 'budget'], env: { OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpHttpUrl } });
    c = await client(stack.natsOptions());
  });
  afterAll(async () => {
    await c?.close();
    await stack?.stop();
    await jaeger?.stop();
  });

  it('puts every span of a run, from submit to the last step, in one trace with GenAI attributes', async () => {
    const { runId, end } = await runToEnd(c.js, {
      name: 'traced',
      defaults: { model: 'sim-small' },
      budget: { maxUsd: 1 },
      steps: [{ id: 'one', prompt: 'first' }, { id: 'two', needs: ['one'], prompt: 'then {{steps.one.output}}' }],
    }, {});
    expect(end).toMatchObject({ status: 'succeeded' });
    // spans are exported in batches every 500 ms; wait until Jaeger holds the model spans of both steps
    // and the planner's handling of step two's result
    const traceIds = await waitFor(`a trace of run ${runId} in Jaeger`, async () => {
      const ids = await jaegerFindTraces(jaeger.queryUrl, 'pipewright-planner', { 'pw.run.id': runId });
      return ids.length > 0 ? ids : undefined;
    }, { timeoutMs: 15_000, intervalMs: 200 });
    expect(traceIds).toHaveLength(1);
    const traceId = traceIds[0]!;
    const trace = await waitFor('both chat spans, both results and the end of the run in the trace', async () => {
      const spans = await jaegerTrace(jaeger.queryUrl, traceId);
      const count = (name: string) => spans.filter((s) => s.name === name).length;
      return count('chat sim-small') === 2 && count('process step.completed') === 2 && count('process step.completed spend') === 2 && count('send run.finished') === 1 ? spans : undefined;
    }, { timeoutMs: 15_000, intervalMs: 200 });

    expect(new Set(trace.map((s) => s.service))).toEqual(new Set(['pipewright-planner', 'pipewright-executor', 'pipewright-budget']));
    expect(await jaegerServices(jaeger.queryUrl)).toEqual(expect.arrayContaining(['pipewright-planner', 'pipewright-executor', 'pipewright-budget']));
    // the root is the planner's handling of the submission; every other span has a parent in the trace
    expect(rootsOf(trace).map((s) => s.name)).toEqual(['process pw.runs.submit']);
    const chat = trace.find((s) => s.name === 'chat sim-small' && s.attributes['pw.step.id'] === 'one')!;
    expect(chat.kind).toBe(3); // CLIENT
    expect(chat.attributes).toMatchObject({ 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'sim-small', 'gen_ai.provider.name': 'openai' });
    expect(chat.attributes['gen_ai.usage.input_tokens']).toBeGreaterThan(0);
    expect(chat.attributes['gen_ai.usage.output_tokens']).toBeGreaterThan(0);
    // the budget is on the model-call span (reservation, cost), not spans of its own: a grant makes none
    expect(chat.attributes['pw.budget.reservation.id']).toEqual(expect.any(String));
    expect(chat.attributes['pw.budget.reserved_usd']).toBeGreaterThan(0);
    expect(chat.attributes['pw.cost.usd']).toBeGreaterThan(0);
    expect(trace.filter((s) => s.name.startsWith('budget ') || s.name.startsWith('process pw.budget.')).map((s) => s.name)).toEqual([]);
    // consumer spans say what they handled: the step the executor ran, the event the planner took in
    const step = trace.find((s) => s.name === 'process step one')!;
    expect(step.kind).toBe(5); // CONSUMER
    expect(step.attributes).toMatchObject({ 'messaging.system': 'nats', 'messaging.operation.type': 'process', 'messaging.destination.name': 'pw.steps.default.dispatch', 'pw.step.outcome': 'succeeded', 'pw.repair.rung': 'direct' });
    expect(step.attributes['pw.cost.usd']).toBe(chat.parentSpanId === step.spanId ? chat.attributes['pw.cost.usd'] : step.attributes['pw.cost.usd']);
    expect(trace.find((s) => s.name === 'chat sim-small' && s.attributes['pw.step.id'] === 'one')!.parentSpanId).toBe(step.spanId);
    expect(trace.filter((s) => s.service === 'pipewright-planner' && s.name === 'process step.completed')).toHaveLength(2);
    expect(trace.some((s) => s.name === 'process pw.events.step')).toBe(false);
    // every publish is a PRODUCER span, the parent of the consumer spans of its message
    const byId = new Map(trace.map((s) => [s.spanId, s]));
    const sender = byId.get(step.parentSpanId)!;
    expect(sender).toMatchObject({ name: 'send pw.steps.default.dispatch', kind: 4, service: 'pipewright-planner' });
    expect(sender.attributes).toMatchObject({ 'messaging.system': 'nats', 'messaging.operation.type': 'send', 'messaging.destination.name': 'pw.steps.default.dispatch' });
    for (const s of trace.filter((x) => x.name === 'process step.completed')) expect(byId.get(s.parentSpanId)).toMatchObject({ name: 'send step.completed', kind: 4, service: 'pipewright-executor' });
    // a succeeded run has no ERROR span: the deadline timer held back with a delayed nak is a planned wait
    expect(trace.filter((s) => s.status.code === 2).map((s) => `${s.name}: ${s.status.message}`)).toEqual([]);
    const timer = trace.find((s) => s.name === 'process pw.runs.deadline')!;
    expect(timer.attributes).toMatchObject({ 'pw.message.outcome': 'wait', 'pw.message.outcome.reason': 'deadline not reached' });
    // planner decisions are span events with their reason
    const decisions = trace.flatMap((s) => s.events).filter((e) => e.name.startsWith('decision '));
    expect(decisions.map((d) => d.name)).toEqual(expect.arrayContaining(['decision start', 'decision dispatch', 'decision finish']));
    expect(decisions.every((d) => typeof d.attributes['pw.decision.reason'] === 'string')).toBe(true);
    console.log(`[tracing] a 2-step run: ${trace.length} spans (${trace.filter((s) => s.service === 'pipewright-budget').length} of the budget): ${[...trace].sort((a, b) => (a.startNs < b.startNs ? -1 : 1)).map((s) => s.name).join(', ')}`);
  });
});
