import type { Tracer } from '@opentelemetry/api';
import type { Logger } from '@pipewright/kit';
import type { ReceiptStore } from '../receipts/types.js';
import type { Limiter } from './limiter.js';
import type { CompiledSchema } from './schema.js';
import type { ToolContext } from './spec.js';

/** Extra lease on a receipt claim beyond the handler's timeout, so a slow reply is not taken over. */
export const LEASE_MARGIN_MS = 5_000;

export interface CallDeps {
  readonly name: string;
  readonly input: CompiledSchema<unknown>;
  readonly output: CompiledSchema<unknown> | undefined;
  readonly handler: (args: unknown, ctx: ToolContext) => Promise<unknown>;
  readonly limiter: Limiter;
  readonly dedupe: ReceiptStore | undefined;
  readonly timeoutMs: number;
  readonly tracer: Tracer;
  readonly log: Logger | undefined;
  /** Aborted when shutdown's grace runs out. */
  readonly stopSignal: AbortSignal;
  readonly maxPayloadBytes: () => number;
}
