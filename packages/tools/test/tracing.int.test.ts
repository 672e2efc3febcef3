import type { NatsConnection } from '@nats-io/transport-node';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { callTool, serveTool, type ToolHandle } from '../src/index.js';
import { natsFixture, request } from './support.js';

/** The caller's W3C trace context crosses NATS headers; the tool's span is its child. */
describe('tool tracing', () => {
  let fx: Awaited<ReturnType<typeof natsFixture>>;
  let toolConn: NatsConnection;
  let caller: NatsConnection;
  let tool: ToolHandle;
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });

  beforeAll(async () => {
    // Registers the W3C propagator and the async-hooks context manager, as startTracing does in services.
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(provider);
    fx = await natsFixture();
    [toolConn, caller] = await Promise.all([fx.connect(), fx.connect()]);
    tool = await serveTool(toolConn, {
      name: 'weather',
      description: 'weather for a city',
      input: z.object({ city: z.string() }),
      handler: ({ city }, ctx) => {
        ctx.span.addEvent('looked up', { city });
        return Promise.resolve({ city, tempC: 21, traceId: trace.getActiveSpan()?.spanContext().traceId });
      },
    });
  });
  afterAll(async () => {
    await tool?.stop(1_000);
    await fx?.close();
    await provider.shutdown();
  });

  it('creates an execute_tool span in the caller\'s trace with the GenAI tool attributes', async () => {
    const tracer = trace.getTracer('test');
    const parent = tracer.startSpan('agent turn');
    const reply = await context.with(trace.setSpan(context.active(), parent), () => callTool(caller, request('weather', { city: 'Lyon' }, { callId: 't4', runId: 'run-trace' }), { timeoutMs: 5_000 }));
    parent.end();
    expect(reply).toMatchObject({ ok: true, result: { city: 'Lyon', traceId: parent.spanContext().traceId } });

    const span = exporter.getFinishedSpans().find((s) => s.name === 'execute_tool weather');
    expect(span).toBeDefined();
    expect(span!.spanContext().traceId).toBe(parent.spanContext().traceId);
    expect(span!.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    expect(span!.attributes).toMatchObject({
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'weather',
      'gen_ai.tool.call.id': 't4',
      'pw.run.id': 'run-trace',
      'messaging.system': 'nats',
    });
    expect(span!.events.map((e) => e.name)).toContain('looked up');
  });

  it('starts a new trace when the caller sends none, and marks error replies on the span', async () => {
    const reply = await callTool(caller, request('weather', { town: 'Lyon' }, { callId: 't5' }), { timeoutMs: 5_000 });
    expect(reply).toMatchObject({ ok: false, error: { code: 'invalid_arguments' } });
    const span = exporter.getFinishedSpans().find((s) => s.name === 'execute_tool weather' && s.attributes['gen_ai.tool.call.id'] === 't5');
    expect(span?.parentSpanContext).toBeUndefined();
    expect(span?.attributes['error.type']).toBe('invalid_arguments');
    expect(span?.status.code).toBe(2); // ERROR
  });
});
