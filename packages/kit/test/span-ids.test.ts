import { trace } from '@opentelemetry/api';
import { derivedSpanId, startTracing, withSpanId } from '@pipewright/kit';
import { afterAll, describe, expect, it } from 'vitest';

describe('spans with chosen ids', () => {
  const tracing = startTracing({ serviceName: 'span-ids-test' });
  afterAll(() => tracing.shutdown());
  const tracer = trace.getTracer('span-ids-test');

  it('derives a stable 8-byte hex id from a key', () => {
    expect(derivedSpanId('run:r1')).toMatch(/^[0-9a-f]{16}$/);
    expect(derivedSpanId('run:r1')).toBe(derivedSpanId('run:r1'));
    expect(derivedSpanId('run:r2')).not.toBe(derivedSpanId('run:r1'));
  });

  it('gives the chosen id to the one span started inside withSpanId, random ids to the others', () => {
    const id = derivedSpanId('step:r1:a:1');
    const chosen = withSpanId(id, () => tracer.startSpan('chosen'));
    const after = tracer.startSpan('after');
    expect(chosen.spanContext().spanId).toBe(id);
    expect(after.spanContext().spanId).not.toBe(id);
    expect(after.spanContext().spanId).toMatch(/^[0-9a-f]{16}$/);
    chosen.end();
    after.end();
  });
});
