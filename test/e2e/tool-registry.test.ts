import { submitRun } from '@pipewright/cli';
import { consumers, RunRequest, SCHEMA_VERSION, subjects, type RunRequestInput, type ToolList } from '@pipewright/contracts';
import { openKvStores, publishJson, ToolRegistry } from '@pipewright/kit';
import { describe, expect, it } from 'vitest';
import { pipewright } from '../cli/support.js';
import { Api } from '../console/support.js';
import { coreStack } from '../core/support.js';
import { drained, eventOf, nthFinished } from './run-control-support.js';

/**
 * Tools that declare themselves: the example tools (examples/tools, `serveTool` in a process of their own)
 * write their registry entries as they start; the planner resolves a pipeline's tools from the registry
 * when the run is submitted, and refuses what cannot work (an unregistered tool, a schema that is not the
 * registered one, a token budget below an output cap) with `run.rejected` naming the field.
 */
describe('the tool registry and the limits checked at submit, on the local stack', () => {
  const stack = coreStack('tool-registry', { services: ['planner', 'executor', 'console', 'example-tools'] });
  const REPLY = { type: 'object', properties: { reply: { type: 'string' } }, required: ['reply'] };
  const agent = (name: string, extra: Record<string, unknown> = {}) => ({
    name,
    defaults: { model: 'sim-small', maxOutputTokens: 256 },
    steps: [{ id: 'resolve', kind: 'agent', prompt: 'Where is order {{input.orderId}}?', tools: ['lookup-order'], output: REPLY, maxIterations: 4 }],
    ...extra,
  });
  /** Published as any NATS client may, without the CLI's local check: the planner must refuse on its own. */
  const publishRaw = (runId: string, request: Omit<RunRequestInput, 'schemaVersion' | 'runId'>) =>
    publishJson(stack().js, subjects.runSubmit, RunRequest.parse({ schemaVersion: SCHEMA_VERSION, runId, ...request }), { msgId: `raw:${runId}` });

  it('runs an agent that only names its tool: the schema comes from the registration, and the tool is called', async () => {
    const core = stack();
    const registered = await (await ToolRegistry.open(core.nc)).get('lookup-order');
    if (!registered || 'invalid' in registered) throw new Error(`lookup-order is not registered: ${JSON.stringify(registered)}`);
    expect(registered).toMatchObject({ name: 'lookup-order', version: '1.0.0', input: { required: ['orderId'] } });

    const runId = 'registry-ok';
    await core.stack.sim.setConfig({
      scripts: [
        { match: { key: `${runId}:resolve:t1` }, reply: { toolCalls: [{ name: 'lookup-order', arguments: { orderId: 'o-1001' } }] } },
        { match: { key: `${runId}:resolve:t2` }, reply: { json: { reply: 'Order o-1001 has shipped.' } } },
      ],
    });
    const pipeline = agent('registry-ok');
    await submitRun(core.js, pipeline, { orderId: 'o-1001' }, { runId });
    const end = await nthFinished(core.events, runId, 1);
    expect(end).toMatchObject({ status: 'succeeded', output: { reply: 'Order o-1001 has shipped.' } });
    // The tool ran (in the example tools' process), and its real result was fed back to the model.
    const toolRuns = core.events.events(runId).filter((e) => e.type === 'step.completed' && e.task === 'tool');
    expect(toolRuns.map((e) => (e.type === 'step.completed' ? e.model.model : ''))).toEqual(['lookup-order']);
    const run = (await (await openKvStores(core.nc)).runs.get(runId))?.value;
    expect(run?.steps['resolve']?.agent?.history.find((m) => m.role === 'tool')?.content).toContain('"totalCents":4990');
    // The run keeps the resolved tool: nothing later depends on the registry.
    expect(run?.pipeline.tools['lookup-order']).toEqual({ description: registered.description, input: registered.input });

    // The same request again, under another msg id: the same run (its digest is the request's as submitted).
    await publishJson(core.js, subjects.runSubmit, RunRequest.parse({ schemaVersion: SCHEMA_VERSION, runId, pipeline, input: { orderId: 'o-1001' } }), { msgId: `again:${runId}` });
    await drained(core.nc, consumers.plannerRuns);
    expect(core.events.events(runId).filter((e) => e.type === 'run.rejected' || e.type === 'run.started').map((e) => e.type)).toEqual(['run.started']);
    // Through the console too: the stored run (tools resolved) is the same request, not a conflict.
    const viaApi = await Api.of(core.stack).post('/runs', { runId, pipeline, input: { orderId: 'o-1001' } });
    expect(viaApi).toMatchObject({ status: 200, body: { runId, created: false } });
  });

  it('refuses a pipeline that names a tool nobody registered and gives no schema, at the naming field', async () => {
    const runId = 'registry-unknown';
    const pipeline = agent('registry-unknown', { steps: [{ id: 'resolve', kind: 'agent', prompt: 'Help', tools: ['lookup-order', 'wire-money'], output: REPLY }] });
    await submitRun(stack().js, pipeline, {}, { runId });
    const rejected = await eventOf(stack().events, runId, 'run.rejected');
    expect(rejected.issues).toEqual([
      { path: 'pipeline.steps[0].tools[1]', message: 'tool "wire-money" is not registered (no running tool has registered under this name) and the pipeline does not give its schema' },
    ]);
    expect(stack().events.events(runId).some((e) => e.type === 'run.started')).toBe(false);
  });

  it('refuses a schema that differs from the registered one, naming the registered version', async () => {
    const runId = 'registry-mismatch';
    const tools = { 'lookup-order': { description: 'Find an order', input: { type: 'object', properties: { id: { type: 'integer' } }, required: ['id'] } } };
    await submitRun(stack().js, agent('registry-mismatch', { tools }), { orderId: 'o-1' }, { runId });
    const rejected = await eventOf(stack().events, runId, 'run.rejected');
    expect(rejected.issues).toHaveLength(1);
    expect(rejected.issues[0]).toMatchObject({ path: 'pipeline.tools.lookup-order.input', message: expect.stringContaining('differs from the input schema tool "lookup-order" registered (version 1.0.0') });
  });

  it('refuses at submit a token budget below an output cap: the pipeline\'s and the request\'s, each at its field', async () => {
    const pipeline = agent('capped', { budget: { maxTokens: 200 } });
    await publishRaw('capped-pipeline', { pipeline, input: { orderId: 'o-1' } });
    const byPipeline = await eventOf(stack().events, 'capped-pipeline', 'run.rejected');
    expect(byPipeline.issues).toEqual([{ path: 'pipeline.budget.maxTokens', message: expect.stringContaining('200 tokens is below the output cap of step "resolve" (256 tokens: pipeline.defaults.maxOutputTokens)') }]);
    expect(byPipeline.issues[0]!.message).toContain('reserves its prompt plus its whole output cap');

    await publishRaw('capped-request', { pipeline: agent('capped'), input: { orderId: 'o-1' }, budget: { maxTokens: 100 } });
    const byRequest = await eventOf(stack().events, 'capped-request', 'run.rejected');
    expect(byRequest.issues.map((i) => i.path)).toEqual(['budget.maxTokens']);
    // No model call was made for either.
    const counters = await stack().stack.sim.counters();
    expect(Object.keys(counters.byKey).filter((k) => k.startsWith('capped-'))).toEqual([]);
  });

  it('lists the registry over the console API (read token) and with `pipewright tools list` (the client identity)', async () => {
    const core = stack();
    const api = Api.of(core.stack);
    expect((await api.get('/tools', null)).status).toBe(401);
    const listed = await api.get<ToolList>('/tools', api.readToken);
    expect(listed.status).toBe(200);
    expect(listed.body.tools.map((t) => t.name)).toEqual(['lookup-order', 'refund']);
    expect(listed.body.invalid).toEqual([]);
    const refund = listed.body.tools[1]!;
    const cli = await pipewright(['tools', 'list'], core.stack.clientEnv('client'));
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(new RegExp(`^refund +1\\.0\\.0 +${refund.registeredAt.replace(/\./g, '\\.')} +${refund.inputDigest.slice(0, 12)} +Refunds`, 'm'));
    const asJson = await pipewright(['tools', 'list', '--json'], core.stack.clientEnv('client'));
    expect(JSON.parse(asJson.stdout)).toEqual(listed.body);
  });
});
