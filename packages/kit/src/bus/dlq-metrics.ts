import { Counter, type Registry } from 'prom-client';
import { dlqStats } from './dlq.js';

/**
 * `pw_dlq_messages_total{outcome}`: refused messages this process copied to the DLQ (`copied`, of which
 * `truncated` were cut to fit max_payload) or could not copy (`failed`, also logged as errors).
 */
export function registerDlqCounter(registry: Registry): void {
  new Counter({
    name: 'pw_dlq_messages_total',
    help: 'Refused messages copied to the DLQ (copied; truncated: cut to fit max_payload) or that could not be copied (failed)',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      this.reset();
      for (const outcome of ['copied', 'truncated', 'failed'] as const) this.inc({ outcome }, dlqStats[outcome]);
    },
  });
}
