import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { LocalStack, REPO_ROOT, submitRun } from '@pipewright/cli';
import { RunRequest, SCHEMA_VERSION, subjects } from '@pipewright/contracts';
import { waitFor } from '@pipewright/devstack';
import { publishJson } from '@pipewright/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventLog } from '../resilience/support.js';
import { client } from '../support/run.js';

const exec = promisify(execFile);
const CLI = `${REPO_ROOT}packages/cli/dist/bin/pipewright.js`;

/**
 * `pipewright runs cancel`, as a user types it, against a running stack: by run id, and by label. The
 * model answers slowly, so the runs are mid-call when they are cancelled: the call is aborted (the
 * step's result says `revoked`) and the run ends `cancelled`.
 */
describe('pipewright runs cancel', () => {
  let stack: LocalStack;
  let c: Awaited<ReturnType<typeof client>>;
  let events: EventLog;
  const pipeline = { name: 'slow', defaults: { model: 'sim-small' }, steps: [{ id: 'think', prompt: 'Think hard about {{input.q}}' }] };

  beforeAll(async () => {
    stack = await LocalStack.start({ sim: { latency: { fixedMs: 60_000 } } });
    c = await client(stack.natsOptions());
    events = await EventLog.start(stack.natsOptions());
  });
  afterAll(async () => {
    await events?.close();
    await c?.close();
    await stack?.stop();
  });

  // `runs cancel` goes through the console's runs API (docs/cli.md).
  const cli = (...args: string[]) => exec(process.execPath, [CLI, ...args], { env: { ...process.env, ...stack.clientEnv('client'), PW_CONSOLE_URL: stack.consoleUrl ?? '', PW_CONSOLE_TOKEN: stack.consoleToken ?? '' }, timeout: 60_000 });
  const started = (runId: string) => events.events(runId).some((e) => e.type === 'step.started');

  it('cancels one run by id: its call is aborted and the run ends cancelled', async () => {
    const runId = await submitRun(c.js, pipeline, { q: 'one' });
    await waitFor('the step to start', () => (started(runId) ? true : undefined), { timeoutMs: 30_000 });
    const out = await cli('runs', 'cancel', runId, '--reason', 'changed my mind');
    expect(out.stdout).toContain(`cancel of run ${runId} requested`);
    const end = await waitFor('the run to end', () => events.finished(runId), { timeoutMs: 30_000 });
    expect(end).toMatchObject({ status: 'cancelled', reason: expect.stringContaining('changed my mind') });
    expect(events.events(runId).find((e) => e.type === 'step.failed')).toMatchObject({ error: { code: 'revoked' } });
  });

  it('cancels every unfinished run with a label, and only those', async () => {
    const submit = async (i: number, batch: string) => {
      const runId = `label-${batch}-${i}`;
      const request = RunRequest.parse({ schemaVersion: SCHEMA_VERSION, runId, pipeline, input: { q: `${batch} ${i}` }, labels: { batch } });
      await publishJson(c.js, subjects.runSubmit, request, { msgId: `submit:${runId}` });
      return runId;
    };
    const nightly = await Promise.all([0, 1, 2].map((i) => submit(i, 'nightly')));
    const other = await submit(0, 'adhoc');
    await waitFor('every run to have started its step', () => ([...nightly, other].every(started) ? true : undefined), { timeoutMs: 30_000 });
    const out = await cli('runs', 'cancel', '--label', 'batch=nightly');
    expect(out.stdout).toContain('cancel requested for 3 run(s)');
    const ends = await waitFor('the labelled runs to end', () => (nightly.every((id) => events.finished(id)) ? nightly.map((id) => events.finished(id)!) : undefined), { timeoutMs: 30_000 });
    expect(ends.map((e) => e.status)).toEqual(['cancelled', 'cancelled', 'cancelled']);
    expect(events.finished(other)).toBeUndefined();
    await cli('runs', 'cancel', other);
    await waitFor('the other run to end', () => events.finished(other), { timeoutMs: 30_000 });
  });

  it('refuses a call with neither a run id nor a label, with a clear message', async () => {
    await expect(cli('runs', 'cancel')).rejects.toMatchObject({ stderr: expect.stringContaining('give a run id or --label key=value') });
  });
});
