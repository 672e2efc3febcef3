import { jetstreamManager } from '@nats-io/jetstream';
import { submitRun } from '@pipewright/cli';
import { consumers, SCHEMA_VERSION, streams, subjects, type CancelRequest } from '@pipewright/contracts';
import { waitFor } from '@pipewright/devstack';
import { publishJson } from '@pipewright/kit';
import { describe, expect, it } from 'vitest';
import { coreStack, ONLY, oneStepPipeline } from './support.js';

/**
 * Submissions and cancels are consumed apart (and by several planner replicas), so a cancel sent right
 * after its submit can be handled before the run exists. It must wait for the run, not be lost: here
 * the cancel is handled (and found no run) before the submission is even sent.
 */
describe('a cancel that overtakes its run’s submission', () => {
  const stack = coreStack('cancel-first', { services: ['planner', 'executor'], sim: { latency: { fixedMs: 2_000 } } });

  it('cancels the run as soon as it exists: a call it started meanwhile is aborted, never answered', { timeout: 120_000 }, async () => {
    const core = stack();
    const runId = 'cancel-first-1';
    const req: CancelRequest = { schemaVersion: SCHEMA_VERSION, runId, reason: 'changed my mind' };
    await publishJson(core.js, subjects.runCancel, req, { msgId: `cancel:${runId}` });
    // The planner has handled the cancel at least once, and found no run.
    const jsm = await jetstreamManager(core.nc);
    await waitFor('the planner to try the cancel', async () => {
      const info = await jsm.consumers.info(streams.runs.name, `${consumers.plannerRuns}-cancel`);
      return info.delivered.consumer_seq >= 2 ? true : undefined; // delivered again: it waited
    }, { timeoutMs: 30_000, intervalMs: 50 });

    await submitRun(core.js, oneStepPipeline('cancel-first'), { n: 1 }, { runId });
    const [end] = await core.events.allFinished([runId], 60_000);
    const counters = await core.stack.sim.counters();
    expect(end).toMatchObject({ runId, status: 'cancelled', reason: 'changed my mind' });
    // The cancel is applied at its next try after the submission (within a second); the step's call
    // (2 s) may have started by then, and is aborted: nothing answered, nothing billed.
    expect(counters.byKey[`${runId}:${ONLY}`]?.billed.answers ?? 0, 'model answers sent for the cancelled run').toBe(0);
  });
});
