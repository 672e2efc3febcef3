import { LocalStack } from '@pipewright/cli';
import { waitFor } from '@pipewright/devstack';
import { pipeline, PipewrightApiError, PipewrightClient, RunFailedError, tpl, type StreamedEvent } from '@pipewright/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';

// every answer for the topic "doomed" breaks its schema: with no attempt left for a re-ask, the step fails
const SIM = { scripts: [{ match: { contains: 'Facts about doomed' }, fault: 'schema-break' as const }] };
const SLOW = { ...SIM, faults: { perModel: { 'sim-slow': { latency: { fixedMs: 120_000 } } } } };
const Facts = z.object({ title: z.string(), points: z.array(z.string()) });
const brief = (model = 'sim-small') =>
  pipeline('sdk-client', { input: z.object({ topic: z.string() }), defaults: { model, retry: { maxAttempts: 1 } } })
    .llm('facts', { prompt: ({ input }) => tpl`Facts about ${input.topic}`, output: Facts })
    .llm('summary', { prompt: ({ steps }) => tpl`Summarise ${steps.facts.output.title}: ${steps.facts.output.points}`, output: z.object({ text: z.string(), words: z.number() }) });

/**
 * The SDK's client against a real stack (nats-server, simulator, planner, executor, budget, console as
 * processes): submit a pipeline written with the SDK, wait for its typed result, follow its events,
 * cancel and resume, and the API's refusals as typed errors.
 */
describe('PipewrightClient on a real console', () => {
  let stack: LocalStack;
  let client: PipewrightClient;

  beforeAll(async () => {
    stack = await LocalStack.start({
      services: ['planner', 'executor', 'budget', 'console'],
      sim: SLOW,
    });
    client = new PipewrightClient({ baseUrl: stack.consoleUrl!.replace('/api/v1', ''), token: stack.consoleToken! });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('submits an SDK pipeline and returns its typed output; get shows the run', async () => {
    const p = brief();
    const runId = await client.submit(p, { topic: 'volcanoes' }, { labels: { suite: 'sdk' } });
    const out = await client.result(runId, { timeoutMs: 60_000 });
    // the simulator answers values valid against the step's schema
    expect(out).toEqual({ text: expect.any(String), words: expect.any(Number) });
    const detail = await client.get(runId);
    expect(detail).toMatchObject({ runId, status: 'succeeded', pipeline: 'sdk-client', labels: { suite: 'sdk' }, input: { topic: 'volcanoes' }, output: out });
    expect(detail.stepList.map((s) => [s.id, s.status])).toEqual([['facts', 'succeeded'], ['summary', 'succeeded']]);
    expect(Facts.safeParse(detail.stepList[0]?.output).success).toBe(true);
  });

  it('streams a run\'s events in order, ending after run.finished; resumes after lastEventId', async () => {
    const runId = await client.submit(brief(), { topic: 'glaciers' });
    const seen: StreamedEvent[] = [];
    for await (const e of client.events(runId)) seen.push(e);
    expect(seen[0]?.event.type).toBe('run.started');
    expect(seen.at(-1)?.event).toMatchObject({ type: 'run.finished', status: 'succeeded', runId });
    const ids = seen.map((e) => Number(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    const rest: StreamedEvent[] = [];
    for await (const e of client.events(runId, { lastEventId: seen[1]!.id! })) rest.push(e);
    expect(rest.map((e) => e.id)).toEqual(seen.slice(2).map((e) => e.id));
  });

  it('answers the same run for the same idempotency key, and a spec submits like a builder', async () => {
    const key = `sdk-key-${Date.now()}`;
    const spec = brief().toSpec();
    const a = await client.submit(spec, { topic: 'tides' }, { idempotencyKey: key });
    const b = await client.submit(spec, { topic: 'tides' }, { idempotencyKey: key });
    expect(b).toBe(a);
    await expect(client.submit(spec, { topic: 'other' }, { idempotencyKey: key })).rejects.toMatchObject({ status: 409, code: 'idempotency_conflict', differences: ['input.topic'] });
    expect(await client.result(a, { timeoutMs: 60_000 })).toMatchObject({ text: expect.any(String) });
  });

  it('rejects with RunFailedError (status and reason) when the run fails', async () => {
    const runId = await client.submit(brief(), { topic: 'doomed' });
    const err = await client.result(runId, { timeoutMs: 60_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunFailedError);
    expect(err).toMatchObject({ runId, status: 'failed', reason: expect.stringContaining('step facts failed: output_invalid') });
    expect((err as RunFailedError).run.stepList[0]).toMatchObject({ id: 'facts', status: 'failed' });
  });

  it('bounds result by its timeout; cancels a run that hangs, and resumes it once the provider answers', async () => {
    const runId = await client.submit(brief('sim-slow'), { topic: 'slow' });
    const started = Date.now();
    await expect(client.result(runId, { timeoutMs: 1_000 })).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(Date.now() - started).toBeLessThan(30_000);
    const aborted = new AbortController();
    const waiting = client.result(runId, { signal: aborted.signal }).catch((e: unknown) => e);
    aborted.abort(new Error('caller gave up'));
    expect(await waiting).toMatchObject({ message: 'caller gave up' });

    expect(await client.cancel(runId, 'the test cancels it')).toMatchObject({ runIds: [runId], count: 1 });
    await expect(client.result(runId, { timeoutMs: 60_000 })).rejects.toMatchObject({ status: 'cancelled' });
    // resumed while the provider still hangs, then cancelled again at once: a second cancel of the run
    // (its next life) is not taken for a copy of the first
    await client.resume(runId, { reason: 'try again' });
    await waitFor('the first resume to leave cancelled', async () => ((await client.get(runId)).status !== 'cancelled' ? true : undefined), { timeoutMs: 60_000, intervalMs: 100 });
    expect(await client.cancel(runId, 'still hanging')).toMatchObject({ count: 1 });
    await waitFor('the second cancel to end the resumed run', async () => ((await client.get(runId)).status === 'cancelled' ? true : undefined), { timeoutMs: 60_000, intervalMs: 100 });
    await stack.sim.setConfig(SIM); // the provider is mended
    const resumed = await client.resume(runId, { reason: 'provider mended' });
    expect(resumed).toMatchObject({ runId, resumeId: expect.any(String) });
    await waitFor('the resumed run to leave cancelled', async () => ((await client.get(runId)).status !== 'cancelled' ? true : undefined), { timeoutMs: 60_000, intervalMs: 100 });
    expect(await client.result(runId, { timeoutMs: 60_000 })).toMatchObject({ text: expect.any(String) });
  });

  it('turns API refusals into PipewrightApiError with the fields at fault', async () => {
    const bad = await client.submit({ name: 'bad', steps: [{ id: 'a', prompt: 'x', model: 'm', needs: ['nope'] }] }, {}).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(PipewrightApiError);
    expect(bad).toMatchObject({ status: 400, code: 'bad_request', issues: [expect.objectContaining({ path: 'pipeline.steps[0].needs[0]' })] });
    await expect(client.submit(brief(), { topic: 1 } as never)).rejects.toMatchObject({ status: 400, issues: [expect.objectContaining({ path: 'input.topic' })] });
    await expect(client.get('no-such-run')).rejects.toMatchObject({ status: 404, code: 'not_found' });
    await expect(client.events('no-such-run').next()).rejects.toMatchObject({ status: 404 });
    const reader = new PipewrightClient({ baseUrl: stack.consoleUrl!, token: stack.consoleReadToken! });
    await expect(reader.submit(brief(), { topic: 'x' })).rejects.toMatchObject({ status: 403, code: 'forbidden' });
    const stranger = new PipewrightClient({ baseUrl: stack.consoleUrl!, token: 'not-a-token-0123456789' });
    await expect(stranger.get('x')).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
  });

  // last: it starts a second console, which the stack's URL then points at
  it('waits by polling when the console refuses more event streams (503)', async () => {
    await stack.sim.setConfig(SLOW);
    await stack.startService('console', { PW_CONSOLE_MAX_STREAMS: '1' });
    const narrow = new PipewrightClient({ baseUrl: stack.consoleUrl!, token: stack.consoleToken! });
    const hanging = await narrow.submit(brief('sim-slow'), { topic: 'hold' });
    const holder = narrow.events(hanging);
    expect((await holder.next()).value).toMatchObject({ event: { type: 'run.started' } }); // holds the one stream
    const runId = await narrow.submit(brief(), { topic: 'polled' });
    await expect(narrow.events(runId).next()).rejects.toMatchObject({ status: 503, code: 'unavailable' });
    expect(await narrow.result(runId, { timeoutMs: 60_000 })).toMatchObject({ text: expect.any(String) });
    await holder.return(undefined);
    await narrow.cancel(hanging);
  });
});
