import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStack, submitRun } from '@pipewright/cli';
import { RerunAccepted, ResumeAccepted, RunDetail, RunEvent } from '@pipewright/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client } from '../support/run.js';
import { chain } from '../e2e/run-control-support.js';
import { listedAs, pipewright, userEnv } from './support.js';

/**
 * Operating runs with the CLI, as processes against a local stack with its console: a failed run
 * (submit --watch exits 1) resumed with --watch (exit 0), a budget-exhausted run resumed with a higher
 * limit, what cannot be resumed (exit 1), a re-run from the last step reusing the earlier outputs, and
 * `watch` of a resumed run following it through its first end to its last.
 */
describe('pipewright runs resume|rerun (processes against a local stack)', () => {
  let stack: LocalStack;
  let c: Awaited<ReturnType<typeof client>>;
  let env: Record<string, string>;
  let dir: string;

  beforeAll(async () => {
    stack = await LocalStack.start();
    c = await client(stack.natsOptions('client'));
    env = userEnv(stack);
    dir = mkdtempSync(join(tmpdir(), 'pw-cli-operate-'));
  });
  afterAll(async () => {
    await c?.close();
    await stack?.stop();
  });

  it('a failed run: submit --watch exits 1; resume --watch runs the failed steps again and exits 0', async () => {
    const runId = 'cli-resume-failed';
    await stack.sim.setConfig({ scripts: [{ match: { key: `${runId}:s2` }, fault: 'schema-break' }] });
    const file = join(dir, 'chain.json');
    writeFileSync(file, JSON.stringify(chain('cli-resume')));
    const failed = await pipewright(['submit', file, '--input', '{"topic":"tides"}', '--run-id', runId, '--watch'], env);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/step s2 +FAILED +output_invalid/);
    expect(failed.stdout).toMatch(/run cli-resume-failed FAILED in \d+ ms/);
    await listedAs(stack, [runId], ['failed']);

    await stack.sim.setConfig({}); // the provider is mended
    const resumed = await pipewright(['runs', 'resume', runId, '--reason', 'provider fixed', '--watch', '--timeout', '60s'], env);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/^resume of run cli-resume-failed requested \(resume \S+\)\n/);
    // The watch starts at this resume: the first run's end is not printed again.
    expect(resumed.stdout).toMatch(/run cli-resume-failed RESUMED from failed: provider fixed; running again: s2, s3[\s\S]*run cli-resume-failed OK in/);
    expect(resumed.stdout).not.toContain('FAILED');

    // `watch` of the whole run goes past its first end (a resume followed) to its last.
    const watched = await pipewright(['watch', runId], env);
    expect(watched.code).toBe(0);
    expect(watched.stdout).toMatch(/FAILED in[\s\S]*RESUMED from failed[\s\S]*OK in/);
    const show = RunDetail.parse(JSON.parse((await pipewright(['runs', 'show', runId, '--json'], env)).stdout));
    expect(show).toMatchObject({ status: 'succeeded', steps: { total: 3, succeeded: 3 } });
    expect(show.decisions.some((d) => d.on === 'run.resume')).toBe(true);

    const again = await pipewright(['runs', 'resume', runId], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^pipewright: error: not_resumable: run cli-resume-failed is succeeded/);
  });

  it('a budget-exhausted run resumed with a higher --max-usd (--json: the API body) succeeds', async () => {
    const runId = 'cli-resume-budget';
    const steps = chain('cli-budget').steps.map((s) => (s.id === 's2' ? { ...s, maxOutputTokens: 4_000 } : s));
    await submitRun(c.js, { ...chain('cli-budget'), budget: { maxUsd: 0.001 }, steps }, { topic: 'reefs' }, { runId });
    const [stopped] = await listedAs(stack, [runId], ['budget_exhausted']);
    const r = await pipewright(['runs', 'resume', runId, '--max-usd', '0.01', '--deadline-ms', '10m', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(ResumeAccepted.parse(JSON.parse(r.stdout))).toMatchObject({ runId });
    const [done] = await listedAs(stack, [runId], ['succeeded']);
    expect(done!.costUsd).toBeGreaterThan(stopped!.costUsd);
    expect(done!.costUsd).toBeLessThanOrEqual(0.01);
  });

  it('re-runs from the last step: a new run reusing the outputs before it; --json --watch streams its events', async () => {
    const source = await submitRun(c.js, chain('cli-rerun'), { topic: 'volcanoes' });
    await listedAs(stack, [source], ['succeeded']);
    const r = await pipewright(['runs', 'rerun', source, '--from', 's3', '--run-id', 'cli-rerun-1', '--watch', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const events = r.stdout.trimEnd().split('\n').map((l) => RunEvent.parse(JSON.parse(l)));
    expect(events[0]).toMatchObject({ type: 'run.started', runId: 'cli-rerun-1', rerunOf: { runId: source, stepId: 's3', reused: ['s1', 's2'] } });
    expect(events.filter((e) => e.type === 'step.dispatched').map((e) => (e.type === 'step.dispatched' ? e.stepId : ''))).toEqual(['s3']);
    expect(events.at(-1)).toMatchObject({ type: 'run.finished', status: 'succeeded' });

    const show = RunDetail.parse(JSON.parse((await pipewright(['runs', 'show', 'cli-rerun-1', '--json'], env)).stdout));
    expect(show.rerunOf).toEqual({ runId: source, stepId: 's3' });
    expect(show.stepList.filter((s) => s.reused).map((s) => s.id)).toEqual(['s1', 's2']);
    expect((await pipewright(['runs', 'show', 'cli-rerun-1'], env)).stdout).toMatch(/re-run of \S+ from step s3[\s\S]*s1 +llm +succeeded[^\n]*\(reused from the source run\)/);

    const text = await pipewright(['runs', 'rerun', source, '--from', 's2'], env);
    expect(text.code, text.stderr).toBe(0);
    const accepted = /^re-run (\S+) of run \S+ from step s2 requested\n$/.exec(text.stdout);
    expect(accepted).not.toBeNull();
    await listedAs(stack, [accepted![1]!], ['succeeded']);
    const taken = await pipewright(['runs', 'rerun', source, '--from', 's3', '--run-id', 'cli-rerun-1', '--json'], env);
    expect(taken.code).toBe(1);
    expect(JSON.parse(taken.stdout)).toEqual({ error: { code: 'conflict', message: 'conflict: run cli-rerun-1 exists already' } });
    const json = await pipewright(['runs', 'rerun', source, '--from', 's3', '--json'], env);
    expect(RerunAccepted.parse(JSON.parse(json.stdout))).toMatchObject({ rerunOf: { runId: source, stepId: 's3' } });
    const unknownStep = await pipewright(['runs', 'rerun', source, '--from', 'nope'], env);
    expect(unknownStep.code).toBe(1);
  });
});
