import { consumers, msgIds, SCHEMA_VERSION, SignalRequest, subjects, type Decision, type RunEvent, type SignalRequestInput } from '@pipewright/contracts';
import { submitRun } from '@pipewright/cli';
import { waitFor } from '@pipewright/devstack';
import { publishJson } from '@pipewright/kit';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pipewright, userEnv } from '../cli/support.js';
import { Api } from '../console/support.js';
import { coreStack, type EventLog } from '../core/support.js';
import { client } from '../support/run.js';
import { drained, nthFinished } from './run-control-support.js';

/**
 * `signal` steps on the local stack (nats-server, simulator, planner, executor, budget, console as
 * processes): a run waits for a named signal sent through the console's API (the webhook entry point)
 * or published on the bus by a client; a signal sent before the run reaches its step is kept and taken;
 * a wait with a timeout fails the run or goes on with `null`.
 */

/** draft → approve (waits for `approval`: `{ ok: boolean }`) → publish. The run's output is the signal's payload. */
const pipeline = (name: string, signal: Record<string, unknown> = {}, draftModel = 'sim-small') => ({
  name,
  defaults: { model: 'sim-small', maxOutputTokens: 32 },
  output: 'approve',
  steps: [
    { id: 'draft', prompt: 'Draft a note on {{input.topic}}', model: draftModel },
    { id: 'approve', kind: 'signal', needs: ['draft'], signal: 'approval', output: { type: 'object', properties: { ok: { type: 'boolean' }, note: { type: 'string' } }, required: ['ok'] }, ...signal },
    { id: 'publish', needs: ['approve'], prompt: 'Publish {{steps.draft.output}} (approval: {{steps.approve.output}})' },
  ],
});

/** Every decision of the run seen so far (carried on its events). */
const decisionsOf = (events: EventLog, runId: string): Decision[] => events.events(runId).flatMap((e: RunEvent) => ('decisions' in e && e.decisions ? e.decisions : []));
const decided = (events: EventLog, runId: string, action: string, n = 1) =>
  waitFor(`decision ${action} #${n} of ${runId}`, () => decisionsOf(events, runId).filter((d) => d.action === action)[n - 1], { timeoutMs: 60_000, intervalMs: 50 });

describe('signal steps', () => {
  const stack = coreStack('signal', {
    services: ['planner', 'executor', 'budget', 'console'],
    // a draft that takes a while: long enough for a signal to arrive before the run reaches its wait
    sim: { faults: { perModel: { 'sim-steady': { latency: { fixedMs: 2_500 } } } } },
  });

  it('a run waits; a signal sent through the console API is refused while its payload is invalid, then taken; the run goes on', async () => {
    const core = stack();
    const api = Api.of(core.stack);
    const runId = 'sig-api';
    await submitRun(core.js, pipeline('sig-api'), { topic: 'tides' }, { runId });
    const wait = await decided(core.events, runId, 'wait-signal');
    expect(wait.stepIds).toEqual(['approve']);
    // the run's page shows what the step waits for
    const detail = await api.get<{ stepList: { id: string; status: string; signal?: { name: string } }[] }>(`/runs/${runId}`);
    expect(detail.body.stepList.find((st) => st.id === 'approve')).toMatchObject({ status: 'dispatched', signal: { name: 'approval' } });

    // bad calls: unknown run, bad name, a read token, a payload over 64 KiB
    expect((await api.post('/runs/nobody/signals/approval', { payload: { ok: true } })).status).toBe(404);
    expect((await api.post(`/runs/${runId}/signals/not.a.name`, { payload: { ok: true } })).body).toMatchObject({ error: { code: 'bad_request', issues: [{ path: 'name' }] } });
    expect((await api.call('POST', `/runs/${runId}/signals/approval`, { token: api.readToken, body: { payload: { ok: true } } })).status).toBe(403);
    const big = await api.post(`/runs/${runId}/signals/approval`, { payload: { ok: true, note: 'x'.repeat(70_000) } });
    expect(big.body).toMatchObject({ error: { code: 'bad_request', issues: [{ path: 'payload' }] } });

    // a payload the step's schema refuses: the planner says why and the step waits on
    const bad = await api.post<{ signalId: string }>(`/runs/${runId}/signals/approval`, { payload: { ok: 'yes' } });
    expect(bad.status).toBe(202);
    const refused = await decided(core.events, runId, 'refuse-signal');
    expect(refused.reason).toContain(`signal approval (${bad.body.signalId}) from`);
    expect(refused.reason).toMatch(/payload.*ok/);

    // the webhook call, retried with the same Idempotency-Key: one signal
    const headers = { 'idempotency-key': 'ticket-4711-approved' };
    const ok = await api.post<{ runId: string; name: string; signalId: string }>(`/runs/${runId}/signals/approval`, { payload: { ok: true, note: 'ship it' } }, headers);
    expect(ok.status).toBe(202);
    expect(ok.body).toMatchObject({ runId, name: 'approval', signalId: expect.any(String) });
    const again = await api.post<{ signalId: string }>(`/runs/${runId}/signals/approval`, { payload: { ok: true, note: 'ship it' } }, headers);
    expect(again.body.signalId).toBe(ok.body.signalId);

    const end = await nthFinished(core.events, runId, 1);
    expect(end).toMatchObject({ status: 'succeeded', output: { ok: true, note: 'ship it' } });
    const took = decisionsOf(core.events, runId).filter((d) => d.action === 'complete-step' && d.stepIds[0] === 'approve');
    expect(took).toHaveLength(1);
    expect(took[0]!.reason).toContain(`received signal approval (${ok.body.signalId}) from`);
    // an ended run takes no signal
    expect((await api.post(`/runs/${runId}/signals/approval`, { payload: { ok: true } })).body).toMatchObject({ error: { code: 'conflict' } });
  });

  it('a signal published on the bus by a client (pw.runs.signal) completes the wait', async () => {
    const core = stack();
    const runId = 'sig-bus';
    const c = await client(core.stack.natsOptions('client'));
    try {
      const send = async (over: Partial<SignalRequestInput>) => {
        const req = SignalRequest.parse({ schemaVersion: SCHEMA_VERSION, runId, name: 'approval', payload: { ok: true }, by: 'billing-system', signalId: 'bus-1', ...over });
        await publishJson(c.js, subjects.runSignal, req, { msgId: msgIds.signal(runId, req.signalId) });
      };
      await submitRun(core.js, pipeline('sig-bus'), { topic: 'reefs' }, { runId });
      await decided(core.events, runId, 'wait-signal');
      await send({ payload: { ok: false, note: 'declined' } });
      const end = await nthFinished(core.events, runId, 1);
      expect(end).toMatchObject({ status: 'succeeded', output: { ok: false, note: 'declined' } });
      expect(decisionsOf(core.events, runId).find((d) => d.action === 'complete-step' && d.stepIds[0] === 'approve')?.reason).toBe('step approve received signal approval (bus-1) from billing-system');
    } finally {
      await c.close();
    }
  });

  it('`pipewright runs signal` (a process, through the console) sends a payload from a file; an unknown run is exit 3', async () => {
    const core = stack();
    const runId = 'sig-cli';
    const env = userEnv(core.stack);
    await submitRun(core.js, pipeline('sig-cli'), { topic: 'kelp' }, { runId });
    await decided(core.events, runId, 'wait-signal');
    const file = join(mkdtempSync(join(tmpdir(), 'pw-signal-')), 'approval.json');
    writeFileSync(file, JSON.stringify({ ok: true, note: 'from a file' }));
    const sent = await pipewright(['runs', 'signal', runId, 'approval', '--payload', `@${file}`, '--id', 'cli-1'], env);
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stdout).toBe(`signal approval sent to run ${runId} (signal cli-1)\n`);
    expect(await nthFinished(core.events, runId, 1)).toMatchObject({ status: 'succeeded', output: { ok: true, note: 'from a file' } });
    const unknown = await pipewright(['runs', 'signal', 'no-such-run', 'approval', '--json'], env);
    expect(unknown.code).toBe(3);
    expect(JSON.parse(unknown.stdout)).toMatchObject({ error: { code: 'not_found' } });
  });

  it('a signal sent before the run reaches its step is kept on the run and taken when the step starts; a copy of its signalId changes nothing', async () => {
    const core = stack();
    const api = Api.of(core.stack);
    const runId = 'sig-early';
    const c = await client(core.stack.natsOptions('client'));
    await submitRun(core.js, pipeline('sig-early', {}, 'sim-steady'), { topic: 'dunes' }, { runId });
    // the draft takes 2.5 s: the signal goes in while it runs (the run exists once run.started is out)
    await waitFor('run.started', () => core.events.events(runId).find((e) => e.type === 'run.started'), { timeoutMs: 30_000, intervalMs: 50 });
    const sent = await api.post<{ signalId: string }>(`/runs/${runId}/signals/approval`, { payload: { ok: true, note: 'pre-approved' }, signalId: 'early-1' });
    expect(sent.status).toBe(202);
    const kept = await decided(core.events, runId, 'keep-signal');
    expect(kept.reason).toContain('signal approval (early-1)');
    // the same signal id again, past JetStream's duplicate window (another msg id), with another payload
    const copy = SignalRequest.parse({ schemaVersion: SCHEMA_VERSION, runId, name: 'approval', payload: { ok: false, note: 'copy' }, signalId: 'early-1' });
    await publishJson(c.js, subjects.runSignal, copy, { msgId: `${msgIds.signal(runId, 'early-1')}:late-copy` });
    await c.close();
    await drained(core.nc, consumers.plannerSignals);
    expect(decisionsOf(core.events, runId).filter((d) => d.action === 'keep-signal')).toHaveLength(1);
    const end = await nthFinished(core.events, runId, 1);
    expect(end).toMatchObject({ status: 'succeeded', output: { ok: true, note: 'pre-approved' } });
    const actions = decisionsOf(core.events, runId).map((d) => d.action);
    expect(actions).toContain('take-signal');
    expect(actions).not.toContain('wait-signal');
  });

  it('with timeoutMs and onTimeout fail, an unanswered wait fails the run; with continue, the step goes on with null', async () => {
    const core = stack();
    const failId = 'sig-timeout-fail';
    const goId = 'sig-timeout-continue';
    await submitRun(core.js, pipeline('sig-timeout-fail', { timeoutMs: 1_500 }), { topic: 'a' }, { runId: failId });
    await submitRun(core.js, pipeline('sig-timeout-continue', { timeoutMs: 1_500, onTimeout: 'continue' }), { topic: 'b' }, { runId: goId });
    const failed = await nthFinished(core.events, failId, 1);
    expect(failed).toMatchObject({ status: 'failed', reason: 'signal approval not received within 1500 ms (guard: timeoutMs)' });
    const wait = decisionsOf(core.events, failId).find((d) => d.action === 'wait-signal')!;
    const finish = decisionsOf(core.events, failId).find((d) => d.action === 'finish')!;
    expect(Date.parse(finish.at) - Date.parse(wait.at)).toBeGreaterThanOrEqual(1_500);
    const went = await nthFinished(core.events, goId, 1);
    expect(went.status).toBe('succeeded');
    expect(went.output).toBeNull();
    expect(decisionsOf(core.events, goId).find((d) => d.action === 'complete-step' && d.stepIds[0] === 'approve')?.reason).toContain('goes on with a null output (onTimeout: continue)');
  });
});
