import { schemaValidator } from '@pipewright/contracts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { command, keyOf, OBJECT_SCHEMA, startHarness, type Harness } from './harness.js';

/**
 * The output repair ladder through the real openai client against the simulator: direct →
 * tolerant-parse → re-ask → fallback-model → fail with the validation error. Whatever the rung, an
 * output that breaks its schema never comes out.
 */
describe('output repair ladder', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h?.stop());
  beforeEach(() => h.sim.resetCounters());

  const expectValid = (output: unknown) => expect(schemaValidator.validate(OBJECT_SCHEMA, output)).toEqual([]);

  it('takes a valid answer as it is (direct)', async () => {
    const cmd = command();
    const out = await h.run(cmd);
    expect(out).toMatchObject({ kind: 'succeeded', rung: 'direct', calls: 1, model: { model: 'sim-a' } });
    if (out.kind === 'succeeded') expectValid(out.output);
  });

  it('repairs JSON wrapped in a code fence with prose around it (tolerant-parse), without another call', async () => {
    h.sim.setConfig({ scripts: [{ match: { contains: 'fenced' }, fault: 'malformed-fenced' }] });
    const cmd = command({ prompt: 'fenced please' });
    const out = await h.run(cmd);
    expect(out).toMatchObject({ kind: 'succeeded', rung: 'tolerant-parse', calls: 1 });
    if (out.kind === 'succeeded') expectValid(out.output);
    expect(h.sim.counters().byOutcome['malformed']).toBe(1);
  });

  it('re-asks once with the validation error when the JSON is truncated, and takes the second answer (re-ask)', async () => {
    const cmd = command();
    h.sim.setConfig({ scripts: [{ match: { key: cmd.runId }, replies: [{ fault: 'malformed-truncated' }, { fault: 'ok' }] }] });
    const out = await h.run(cmd);
    expect(out).toMatchObject({ kind: 'succeeded', rung: 're-ask', calls: 2 });
    if (out.kind === 'succeeded') expectValid(out.output);
    expect(h.sim.counters().byKey[keyOf(cmd)]).toMatchObject({ calls: 2, attempts: [1, 2] });
  });

  it('moves to the fallback model when the re-ask still breaks the schema (fallback-model)', async () => {
    h.sim.setConfig({ scripts: [{ match: { model: 'sim-broken' }, fault: 'schema-break' }] });
    const cmd = command({ model: 'sim-broken', fallbacks: [{ provider: 'b', model: 'sim-good' }] });
    const out = await h.run(cmd);
    expect(out).toMatchObject({ kind: 'succeeded', rung: 'fallback-model', calls: 3, model: { provider: 'b', model: 'sim-good' } });
    if (out.kind === 'succeeded') expectValid(out.output);
    expect(h.sim.counters().byModel).toEqual({ 'sim-broken': 2, 'sim-good': 1 });
  });

  it('fails with the validation error when every model breaks the schema: nothing invalid is passed on', async () => {
    const cmd = command({ fallbacks: [{ provider: 'b', model: 'sim-other' }] });
    h.sim.setConfig({ scripts: [{ match: { key: cmd.runId }, fault: 'schema-break' }] });
    const out = await h.run(cmd);
    expect(out).toMatchObject({ kind: 'failed', error: { code: 'output_invalid', retryable: false }, calls: 4 });
    expect(out).not.toHaveProperty('output');
    if (out.kind === 'failed') expect(out.error.message).toMatch(/breaks its schema: .*title/);
  });

  it('fails on unrepairable text with no fallback after exactly one re-ask', async () => {
    const cmd = command({ retry: { maxAttempts: 5 } });
    h.sim.setConfig({ scripts: [{ match: { key: cmd.runId }, fault: 'malformed-truncated' }] });
    const out = await h.run(cmd);
    expect(out).toMatchObject({ kind: 'failed', error: { code: 'output_invalid', message: 'the output is not JSON' }, calls: 2 });
  });

  it('does not re-ask when the retry policy has no attempt left for it', async () => {
    const cmd = command({ retry: { maxAttempts: 1 } });
    h.sim.setConfig({ scripts: [{ match: { key: cmd.runId }, fault: 'schema-break' }] });
    expect(await h.run(cmd)).toMatchObject({ kind: 'failed', error: { code: 'output_invalid' }, calls: 1 });
  });

  it('passes text through untouched when the step declares no schema', async () => {
    h.sim.setConfig({ scripts: [{ match: { contains: 'prose' }, fault: 'malformed-truncated' }] });
    const out = await h.run(command({ prompt: 'prose', schema: null }));
    expect(out).toMatchObject({ kind: 'succeeded', rung: 'direct', output: expect.any(String) });
  });
});
