import { LocalStack } from '@pipewright/cli';
import { waitFor } from '@pipewright/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOtlpReceiver } from '../support/otlp-receiver.js';
import { client, runToEnd } from '../support/run.js';

/** A run is one trace across every service, exported over OTLP HTTP. */
describe('tracing', () => {
  let otlp: Awaited<ReturnType<typeof startOtlpReceiver>>;
  let stack: LocalStack;
  let c: Awaited<ReturnType<typeof client>>;

  beforeAll(async () => {
    otlp = await startOtlpReceiver();
    stack = await LocalStack.start({ services: ['planner', 'executor'], env: { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint } });
    c = await client(stack.natsOptions());
  });
  afterAll(async () => {
    await c?.close();
    await stack?.stop();
    await otlp?.close();
  });

  it('puts every span of a run, from submit to the last step, in one trace with GenAI attributes', async () => {
    const { runId, end } = await runToEnd(c.js, {
      name: 'traced',
      defaults: { model: 'sim-small' },
      steps: [{ id: 'one', prompt: 'first' }, { id: 'two', needs: ['one'], prompt: 'then {{steps.one.output}}' }],
    }, {});
    expect(end).toMatchObject({ status: 'succeeded' });
    // spans are exported in batches every 500 ms; wait for the model spans of both steps
    const runSpans = await waitFor('both chat spans to be exported', () => {
      const mine = otlp.spans.filter((s) => s.attributes['pw.run.id'] === runId);
      return mine.filter((s) => s.name === 'chat sim-small').length >= 2 && mine.some((s) => s.attributes['pw.step.id'] === 'two' && s.service.includes('planner')) ? mine : undefined;
    }, { timeoutMs: 15_000, intervalMs: 100 });

    expect(new Set(runSpans.map((s) => s.traceId)).size).toBe(1);
    expect(new Set(runSpans.map((s) => s.service))).toEqual(new Set(['pipewright-planner', 'pipewright-executor']));
    const traceId = runSpans[0]!.traceId;
    const trace = otlp.spans.filter((s) => s.traceId === traceId);
    // the root is the planner's handling of the submission; every other span has a parent in the trace
    const ids = new Set(trace.map((s) => s.spanId));
    const roots = trace.filter((s) => !s.parentSpanId || !ids.has(s.parentSpanId));
    expect(roots.map((s) => s.name)).toEqual(['process pw.runs.submit']);
    const chat = trace.find((s) => s.name === 'chat sim-small')!;
    expect(chat.kind).toBe(3); // CLIENT
    expect(chat.attributes).toMatchObject({ 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'sim-small', 'gen_ai.provider.name': 'openai' });
    expect(chat.attributes['gen_ai.usage.input_tokens']).toBeGreaterThan(0);
    expect(chat.attributes['gen_ai.usage.output_tokens']).toBeGreaterThan(0);
    const consumer = trace.find((s) => s.name === 'process pw.steps.default.dispatch')!;
    expect(consumer.attributes).toMatchObject({ 'messaging.system': 'nats', 'messaging.operation.type': 'process' });
    // planner decisions are span events with their reason
    const decisions = trace.flatMap((s) => s.events).filter((e) => e.name.startsWith('decision '));
    expect(decisions.map((d) => d.name)).toEqual(expect.arrayContaining(['decision start', 'decision dispatch', 'decision finish']));
    expect(decisions.every((d) => typeof d.attributes['pw.decision.reason'] === 'string')).toBe(true);
  });
});
