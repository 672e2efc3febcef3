import { context, propagation, trace, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider, type SpanProcessor } from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { ChosenIdGenerator } from './span-ids.js';

export interface TracingOptions {
  serviceName: string;
  serviceVersion?: string;
  /** Base OTLP HTTP endpoint (`http://jaeger:4318`); traces go to `<endpoint>/v1/traces`. */
  endpoint?: string;
  /** Full traces URL; wins over `endpoint`. */
  tracesUrl?: string;
}

export interface Tracing {
  tracer: Tracer;
  /** Flushes what is buffered (bounded by the exporter's timeout) and stops. */
  shutdown(): Promise<void>;
}

/**
 * Registers a tracer provider with the W3C trace-context propagator. Spans are always recorded, so trace
 * ids reach logs and NATS headers; they are exported only when an OTLP endpoint is configured.
 */
export function startTracing(opts: TracingOptions): Tracing {
  const url = opts.tracesUrl ?? (opts.endpoint ? `${opts.endpoint.replace(/\/$/, '')}/v1/traces` : undefined);
  const spanProcessors: SpanProcessor[] = [];
  if (url) spanProcessors.push(new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url }), scheduledDelayMillis: 500 }));
  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: opts.serviceName,
      [ATTR_SERVICE_VERSION]: opts.serviceVersion ?? '0.1.0',
    }),
    spanProcessors,
    idGenerator: new ChosenIdGenerator(),
  });
  registerGlobally(provider);
  return {
    tracer: trace.getTracer(`pipewright.${opts.serviceName}`),
    shutdown: () => provider.shutdown(),
  };
}

/**
 * What `NodeTracerProvider.register()` did before SDK 3 (which has one `TracerProvider` and no
 * `register`): async-local-storage context (the active span follows awaits), W3C trace context and
 * baggage propagation (what `traceparent` in NATS headers relies on), and the global provider. As
 * before, only the first registration in a process takes effect.
 */
function registerGlobally(provider: TracerProvider): void {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
  trace.setGlobalTracerProvider(provider);
}
