import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { LocalStack, submitRun } from '@pipewright/cli';
import { schemaValidator, type RunEvent } from '@pipewright/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventLog } from './support.js';

const ITEM = { type: 'object', properties: { name: { type: 'string' }, count: { type: 'integer', minimum: 1 } }, required: ['name', 'count'] };
const RETRY = { maxAttempts: 3, initialIntervalMs: 10, maxIntervalMs: 50 };

/**
 * Malformed model output end to end: it is repaired (tolerant parse, re-ask, fallback model) and the
 * result says which rung did it, or the step fails with the validation error. What reaches the next
 * step — its prompt, the run's output — is always valid against the schema.
 */
describe('malformed model output never reaches the next step', () => {
  let stack: LocalStack;
  let events: EventLog;
  let nc: NatsConnection;

  beforeAll(async () => {
    stack = await LocalStack.start({ services: ['planner', 'executor'] });
    events = await EventLog.start(stack.natsOptions());
    nc = await connect(stack.natsOptions());
  });
  afterAll(async () => {
    await nc?.drain();
    await events?.close();
    await stack?.stop();
  });

  const completed = (runId: string) => events.events(runId).filter((e): e is Extract<RunEvent, { type: 'step.completed' }> => e.type === 'step.completed');

  it('repairs a fenced answer, a truncated one and a schema-breaking one, each on its own rung', async () => {
    const runId = 'repair-ok';
    await stack.sim.setConfig({
      scripts: [
        { match: { key: `${runId}:fenced` }, fault: 'malformed-fenced' },
        { match: { key: `${runId}:truncated` }, replies: [{ fault: 'malformed-truncated' }, { fault: 'ok' }] },
        { match: { model: 'sim-breaks' }, fault: 'schema-break' },
      ],
    });
    const pipeline = {
      name: 'repair',
      defaults: { model: 'sim-small', retry: RETRY },
      steps: [
        { id: 'fenced', prompt: 'An item', output: ITEM },
        { id: 'truncated', needs: ['fenced'], prompt: 'Another like {{steps.fenced.output.name}}', output: ITEM },
        { id: 'broken', needs: ['truncated'], model: 'sim-breaks', fallbacks: ['sim-small'], prompt: 'A third after {{steps.truncated.output.name}}', output: ITEM },
      ],
    };
    await submitRun(jetstream(nc), pipeline, {}, { runId });
    const [end] = await events.allFinished([runId], 20_000);
    expect(end).toMatchObject({ status: 'succeeded' });
    const byStep = Object.fromEntries(completed(runId).map((e) => [e.stepId, e]));
    expect(byStep['fenced']).toMatchObject({ rung: 'tolerant-parse', calls: 1 });
    expect(byStep['truncated']).toMatchObject({ rung: 're-ask', calls: 2 });
    expect(byStep['broken']).toMatchObject({ rung: 'fallback-model', calls: 3, model: { model: 'sim-small' } });
    for (const e of completed(runId)) expect(schemaValidator.validate(ITEM, e.output), e.stepId).toEqual([]);
    expect(schemaValidator.validate(ITEM, end!.output)).toEqual([]);
  });

  it('fails the step with the validation error when nothing can repair it, and dispatches nothing after it', async () => {
    const runId = 'repair-fail';
    await stack.sim.setConfig({ scripts: [{ match: { key: `${runId}:first` }, fault: 'schema-break' }] });
    const pipeline = {
      name: 'repair-fail',
      defaults: { model: 'sim-small', retry: RETRY },
      steps: [
        { id: 'first', prompt: 'An item', output: ITEM, fallbacks: ['sim-other'] },
        { id: 'second', needs: ['first'], prompt: 'Use {{steps.first.output.name}}' },
      ],
    };
    await submitRun(jetstream(nc), pipeline, {}, { runId });
    const [end] = await events.allFinished([runId], 20_000);
    expect(end).toMatchObject({ status: 'failed', reason: expect.stringContaining('output_invalid') });
    const failed = events.events(runId).filter((e) => e.type === 'step.failed');
    expect(failed).toEqual([expect.objectContaining({ stepId: 'first', error: expect.objectContaining({ code: 'output_invalid', message: expect.stringMatching(/breaks its schema: .*name/) }) })]);
    expect(completed(runId)).toEqual([]);
    expect(events.events(runId).some((e) => e.type === 'step.dispatched' && e.stepId === 'second')).toBe(false);
    expect((await stack.sim.counters()).byKey[`${runId}:first`]?.calls).toBe(4);
  });
});
