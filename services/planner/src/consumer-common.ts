import type { Span } from '@opentelemetry/api';
import type { MessageContext } from '@pipewright/kit';
import type { ApplyResult } from './apply.js';

/**
 * The run as this message left it, on the message's span: its status and what it has cost so far, so
 * the span that ends a run carries the run's totals (there is no span as long as the run).
 */
export function recordRun(span: Span, r: ApplyResult): void {
  if (r.kind !== 'applied') return;
  span.setAttributes({
    'pw.run.status': r.state.status,
    'pw.run.cost_usd': r.state.costUsd,
    'pw.run.usage.input_tokens': r.state.usage.inputTokens,
    'pw.run.usage.output_tokens': r.state.usage.outputTokens,
  });
}

/** Names an event by where it is stored: what an outbox entry records as the event it answers. */
export function keyOf(stream: string, ctx: MessageContext): string {
  return `${stream}:${ctx.seq}`;
}

/** 100 ms doubling to 5 s: a cancel that overtook its submission usually finds the run at once. */
export function cancelRetryMs(deliveryCount: number): number {
  return Math.min(5_000, 100 * 2 ** Math.min(10, deliveryCount - 1));
}
