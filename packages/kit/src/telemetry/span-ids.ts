import { createHash } from 'node:crypto';
import { RandomIdGenerator, type IdGenerator } from '@opentelemetry/sdk-trace';

/**
 * A span whose start and end happen in different processes (a run, a step: hours apart, across crashes)
 * is recorded once, at its end, by whoever sees it end. Its id is derived from what it stands for, so
 * every process can parent to it from the start.
 */
export function derivedSpanId(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

let chosen: string | undefined;

/** Random ids, except for the one span started inside `withSpanId`. */
export class ChosenIdGenerator implements IdGenerator {
  private readonly random = new RandomIdGenerator();
  generateTraceId(): string {
    return this.random.generateTraceId();
  }
  generateSpanId(): string {
    const id = chosen;
    chosen = undefined;
    return id ?? this.random.generateSpanId();
  }
}

/**
 * Runs `start` (which starts one span, synchronously) with its span id set to `spanId`. The SDK asks
 * for the id inside `startSpan`, so nothing else can start a span in between.
 */
export function withSpanId<T>(spanId: string, start: () => T): T {
  chosen = spanId;
  try {
    return start();
  } finally {
    chosen = undefined;
  }
}
