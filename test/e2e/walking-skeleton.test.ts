import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { LocalStack, REPO_ROOT, readPipelineFile, watchRun } from '@pipewright/cli';
import { openKvStores } from '@pipewright/kit';
import { findBinary } from '@pipewright/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, isAlive, runToEnd, taskEntry, trailOf } from '../support/run.js';

/**
 * The walking skeleton end to end: nats-server, the simulator, and planner, executor, budget and
 * approver as separate processes, driven over the bus like a user would.
 */
describe('a pipeline runs end to end through planner and executor', () => {
  let stack: LocalStack;
  let c: Awaited<ReturnType<typeof client>>;

  beforeAll(async () => {
    stack = await LocalStack.start();
    c = await client(stack.natsOptions());
  });
  afterAll(async () => {
    await c?.close();
    await stack?.stop();
  });

  it('runs a 3-step DAG to success and checkpoints outputs and the decision trail', async () => {
    const pipeline = {
      name: 'three-step',
      defaults: { model: 'sim-small' },
      input: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      steps: [
        { id: 'facts', prompt: 'Facts about {{input.city}}', output: { type: 'object', properties: { population: { type: 'integer', minimum: 1 }, river: { type: 'string' } }, required: ['population', 'river'] } },
        { id: 'history', prompt: 'History of {{input.city}}' },
        { id: 'summary', needs: ['facts', 'history'], prompt: '{{input.city}} on the {{steps.facts.output.river}}: {{steps.history.output}}', output: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] } },
      ],
    };
    const { runId, end, events } = await runToEnd(c.js, pipeline, { city: 'Lyon' });
    expect(end).toMatchObject({ type: 'run.finished', status: 'succeeded' });
    if (end.type !== 'run.finished') throw new Error('unreachable');
    expect(end.output).toEqual({ text: expect.any(String) });
    expect(end.usage.totalTokens).toBeGreaterThan(0);

    // summary was dispatched only after both of its needs completed
    const order = events.map((e) => ('stepId' in e ? `${e.type}:${e.stepId}` : e.type));
    const summaryDispatch = order.indexOf('step.dispatched:summary');
    expect(summaryDispatch).toBeGreaterThan(order.indexOf('step.completed:facts'));
    expect(summaryDispatch).toBeGreaterThan(order.indexOf('step.completed:history'));

    const stores = await openKvStores(c.nc);
    const run = await stores.runs.get(runId);
    expect(run?.value.status).toBe('succeeded');
    const facts = await taskEntry(c.nc, runId, 'facts=1');
    if (facts?.type !== 'step.completed') throw new Error(`facts has no result: ${facts?.type}`);
    expect(facts.output).toEqual({ population: expect.any(Number), river: expect.any(String) });
    expect(run?.value.steps['facts']?.output).toEqual(facts.output);
    // the rendered prompt of `summary` used the checkpointed output of `facts`
    const counters = await stack.sim.counters();
    expect(counters.byKey[`${runId}:summary`]?.calls).toBe(1);
    expect(counters.byKey[`${runId}:facts`]?.calls).toBe(1);

    const trail = await trailOf(c.js, runId);
    expect(trail.map((d) => d.seq)).toEqual(trail.map((_, i) => i));
    expect(trail[0]).toMatchObject({ on: 'run.submitted', action: 'start' });
    expect(trail.filter((d) => d.action === 'dispatch').flatMap((d) => d.stepIds).sort()).toEqual(['facts', 'history', 'summary']);
    expect(trail.at(-1)).toMatchObject({ action: 'finish', reason: expect.stringContaining('succeeded') });
  });

  it('runs the example pipeline, valid against the committed JSON Schema, from a raw publish', async () => {
    const request = {
      schemaVersion: 1,
      runId: 'raw-publish-1',
      pipeline: readPipelineFile(`${REPO_ROOT}examples/pipelines/research-brief.yaml`),
      input: { topic: 'volcanoes', audience: 'engineers' },
    };
    const schema = JSON.parse(readFileSync(`${REPO_ROOT}packages/contracts/schemas/run-request.json`, 'utf8')) as Record<string, unknown>;
    const ajv = new Ajv2020({ strict: false });
    expect(ajv.validate(schema, request), JSON.stringify(ajv.errors)).toBe(true);
    const nats = findBinary('nats');
    if (nats) {
      // exactly what a user types: `nats pub pw.runs.submit "$(cat request.json)"`
      execFileSync(nats, ['--server', stack.natsUrl, '--nkey', stack.auth!.seedFile('client'), 'pub', '--no-templates', 'pw.runs.submit', JSON.stringify(request)], { stdio: 'pipe', timeout: 10_000 });
    } else {
      c.nc.publish('pw.runs.submit', JSON.stringify(request));
    }
    const end = await watchRun(c.js, 'raw-publish-1', () => undefined, { timeoutMs: 30_000 });
    expect(end).toMatchObject({ type: 'run.finished', status: 'succeeded' });
  });

  it('rejects invalid requests with the field named, copies them to the DLQ, and every service stays up', async () => {
    const bad = [
      { raw: 'not json', runId: undefined, path: '(root)' },
      { raw: JSON.stringify({ schemaVersion: 1, runId: 'bad-field', pipeline: { name: 'x', steps: [{ id: 'a', prompt: 'p', modle: 'm' }] } }), runId: 'bad-field', path: 'pipeline.steps[0].modle' },
      { raw: JSON.stringify({ schemaVersion: 1, runId: 'bad-cycle', pipeline: { name: 'x', defaults: { model: 'm' }, steps: [{ id: 'a', prompt: 'p', needs: ['b'] }, { id: 'b', prompt: 'p', needs: ['a'] }] } }), runId: 'bad-cycle', path: 'pipeline.steps[0].needs' },
      { raw: JSON.stringify({ schemaVersion: 1, runId: 'bad-ref', pipeline: { name: 'x', defaults: { model: 'm' }, steps: [{ id: 'a', prompt: 'p {{steps.zz.output}}' }] } }), runId: 'bad-ref', path: 'pipeline.steps[0].prompt' },
      { raw: JSON.stringify({ schemaVersion: 1, runId: 'bad-input', pipeline: { name: 'x', defaults: { model: 'm' }, steps: [{ id: 'a', prompt: 'p {{input.q}}' }] }, input: {} }), runId: 'bad-input', path: 'input.q' },
      { raw: JSON.stringify({ schemaVersion: 99, runId: 'bad-version', pipeline: {} }), runId: 'bad-version', path: 'schemaVersion' },
    ];
    const dlqBefore = (await (await c.js.streams.get('PW_DLQ')).info()).state.messages;
    for (const b of bad) await c.js.publish('pw.runs.submit', b.raw);
    for (const b of bad.filter((x) => x.runId)) {
      const end = await watchRun(c.js, b.runId!, () => undefined, { timeoutMs: 10_000 });
      expect(end.type, b.runId).toBe('run.rejected');
      if (end.type !== 'run.rejected') continue;
      expect(end.issues.map((i) => i.path), b.runId).toContain(b.path);
    }
    const stores = await openKvStores(c.nc);
    for (const b of bad.filter((x) => x.runId)) expect(await stores.runs.get(b.runId!)).toBeUndefined();
    const dlqAfter = (await (await c.js.streams.get('PW_DLQ')).info()).state.messages;
    expect(dlqAfter - dlqBefore).toBe(bad.length);
    // every service is still up and serving: a good run goes through
    for (const name of ['planner', 'executor', 'budget', 'approver'] as const) for (const p of stack.processes(name)) expect(isAlive(p.pid), name).toBe(true);
    const { end } = await runToEnd(c.js, { name: 'after-bad', defaults: { model: 'sim-small' }, steps: [{ id: 'a', prompt: 'still alive?' }] }, {});
    expect(end).toMatchObject({ type: 'run.finished', status: 'succeeded' });
  });
});
