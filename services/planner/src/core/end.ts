import type { EndStep } from '@pipewright/contracts';
import type { Builder } from './builder.js';
import { templateContext } from './dispatch.js';
import { valueAt } from './map-items.js';

/**
 * An `end` step whose condition held: the run ends at once, `succeeded` with the value at `result` as
 * its output (none without `result`, or when nothing is at that path), or `failed` with `reason`. Tasks
 * still running are revoked by `finish`, and the run settles as any run that ends does. Always says
 * false: the run does not go on.
 */
export function runEnd(b: Builder, step: EndStep): false {
  const s = b.state;
  const st = s.steps[step.id]!;
  if (step.status === 'succeeded') {
    const output = step.result === undefined ? undefined : valueAt(templateContext(s), step.result);
    const reason = step.reason ?? `ended by step ${step.id}`;
    s.steps[step.id] = { ...st, status: 'succeeded', attempt: st.attempt + 1, finishedAt: b.at, ...(output !== undefined ? { output } : {}) };
    b.decide('end', [step.id], `step ${step.id} ends the run: succeeded${step.result !== undefined ? ` with the value at ${step.result}${output === undefined ? ' (none there: no output)' : ''}` : ''}`);
    b.finish('succeeded', reason, [step.id], output);
    return false;
  }
  const reason = step.reason ?? `ended by step ${step.id}`;
  s.steps[step.id] = { ...st, status: 'failed', attempt: st.attempt + 1, finishedAt: b.at, error: { code: 'ended', message: reason, retryable: false } };
  b.decide('end', [step.id], `step ${step.id} ends the run: failed: ${reason}`);
  b.finish('failed', `step ${step.id}: ${reason}`, [step.id]);
  return false;
}
