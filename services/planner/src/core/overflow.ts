import type { RunState } from '@pipewright/contracts';
import { Builder, type Transition } from './builder.js';

/**
 * The transition the applier stores instead of one whose state would be larger than the store takes:
 * the run ends `failed` from where it was, naming the guard, rather than the event being retried into
 * the dead-letter queue while the run never ends. (Outputs, histories and outbox payloads are claim-
 * checked, so only a run with very many steps or huge inline values gets here.)
 */
export function overflow(current: RunState, bytes: number, limitBytes: number, now: Date): Transition {
  const b = new Builder(current, now, 'state-limit');
  b.finish('failed', `the run's state would be ${bytes} bytes, more than the ${limitBytes} bytes a run may store (guard: PW_RUN_STATE_MAX_BYTES)`);
  return b.done();
}
