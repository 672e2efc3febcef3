import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStack, submitRun } from '@pipewright/cli';
import { freePort } from '@pipewright/devstack';
import { CancelAccepted, RunDetail, RunEvent, RunListPage, type RunSummary } from '@pipewright/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client } from '../support/run.js';
import { ANSI, listedAs, pipewright, userEnv } from './support.js';

const FAST = { name: 'cli-fast', defaults: { model: 'sim-small' }, steps: [{ id: 'answer', prompt: 'Answer briefly: {{input.q}}' }] };
const OTHER = { name: 'cli-other', defaults: { model: 'sim-small' }, steps: [{ id: 'first', prompt: 'One: {{input.q}}' }, { id: 'second', needs: ['first'], prompt: 'Two after {{steps.first.output}}' }] };
/** Its model answers after two minutes: a run that is still going whenever a test looks. */
const SLOW = { name: 'cli-slow', defaults: { model: 'sim-slow' }, steps: [{ id: 'think', prompt: 'Think about {{input.q}}' }] };

/**
 * The CLI as a process, as a user runs it, against a real local stack with its console: listing with
 * filters and paging, show, watch (an unknown run, a timeout), cancel by id and by label, usage errors,
 * --version, --json, and no colour codes into a pipe.
 */
describe('pipewright runs, watch, submit (processes against a local stack)', () => {
  let stack: LocalStack;
  let c: Awaited<ReturnType<typeof client>>;
  let env: Record<string, string>;
  const batch: string[] = [];
  let dir: string;

  beforeAll(async () => {
    stack = await LocalStack.start({ sim: { faults: { perModel: { 'sim-slow': { latency: { fixedMs: 120_000 } } } } } });
    c = await client(stack.natsOptions('client'));
    env = userEnv(stack);
    dir = mkdtempSync(join(tmpdir(), 'pw-cli-test-'));
  });
  afterAll(async () => {
    await c?.close();
    await stack?.stop();
  });

  it('submit (over the bus) prints the run id, with --json as a document, and --watch exits 0 on success', async () => {
    const file = join(dir, 'fast.json');
    writeFileSync(file, JSON.stringify(FAST));
    const json = await pipewright(['submit', file, '--input', '{"q":"one"}', '--label', 'batch=b1', '--json'], env);
    expect(json).toMatchObject({ code: 0, stderr: '' });
    const { runId } = JSON.parse(json.stdout) as { runId: string };
    batch.push(runId);
    const watched = await pipewright(['submit', file, '--input', '{"q":"two"}', '--label', 'batch=b1', '--watch'], env);
    expect(watched.code, watched.stderr).toBe(0);
    expect(watched.stdout).toMatch(/^submitted run (\S+)\n/);
    expect(watched.stdout).toMatch(/run \S+ OK in \d+ ms/);
    batch.push(/^submitted run (\S+)/.exec(watched.stdout)![1]!);
  });

  it('lists with filters, page by page through the cursor: every run once, newest first, no gaps', async () => {
    for (let i = 0; i < 5; i++) batch.push(await submitRun(c.js, FAST, { q: `b1 ${i}` }, { labels: { batch: 'b1' } }));
    const others = [await submitRun(c.js, OTHER, { q: 'x' }, { labels: { batch: 'b2' } }), await submitRun(c.js, OTHER, { q: 'y' }, { labels: { batch: 'b2' } })];
    await listedAs(stack, [...batch, ...others], ['succeeded']);

    const pages: RunListPage[] = [];
    let cursor: string | undefined;
    do {
      const r = await pipewright(['runs', 'list', '--label', 'batch=b1', '--limit', '3', '--json', ...(cursor ? ['--cursor', cursor] : [])], env);
      expect(r.code, r.stderr).toBe(0);
      const page = RunListPage.parse(JSON.parse(r.stdout));
      pages.push(page);
      cursor = page.nextCursor;
    } while (cursor !== undefined && pages.length < 10);
    const paged = pages.flatMap((p) => p.runs);
    expect(pages[0]!.runs).toHaveLength(3);
    expect(paged.map((r) => r.runId).sort()).toEqual([...batch].sort()); // each once: no duplicate, no gap
    expect(paged.map((r) => r.createdAt)).toEqual(paged.map((r) => r.createdAt).sort().reverse());

    const all = await pipewright(['runs', 'list', '--label', 'batch=b1', '--limit', '2', '--all', '--json'], env);
    expect(RunListPage.parse(JSON.parse(all.stdout)).runs.map((r) => r.runId)).toEqual(paged.map((r) => r.runId));

    const byPipeline = RunListPage.parse(JSON.parse((await pipewright(['runs', 'list', '--pipeline', 'cli-other', '--status', 'succeeded,failed', '--json'], env)).stdout));
    expect(byPipeline.runs.map((r) => r.runId).sort()).toEqual([...others].sort());
    const none = await pipewright(['runs', 'list', '--label', 'batch=b1', '--status', 'failed'], env);
    expect(none).toMatchObject({ code: 0, stdout: 'no runs\n' });
    const since = await pipewright(['runs', 'list', '--label', 'batch=b1', '--since', '1h', '--until', new Date(Date.now() + 60_000).toISOString(), '--json'], env);
    expect(RunListPage.parse(JSON.parse(since.stdout)).runs).toHaveLength(batch.length);
  });

  it('lists as a table for people; the next cursor goes to stderr; no colour codes into a pipe', async () => {
    const r = await pipewright(['runs', 'list', '--label', 'batch=b1', '--limit', '3'], env);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^RUN +STATUS +PIPELINE +STEPS +COST +CREATED +LABELS$/);
    expect(lines.slice(1)).toHaveLength(3);
    for (const line of lines.slice(1)) expect(line).toMatch(/^\S+ +succeeded +cli-fast +1\/1 +\$\d/);
    expect(r.stderr).toMatch(/^more runs: --cursor \S+ \(or --all\)\n$/);
    expect(r.stdout + r.stderr).not.toMatch(ANSI);
    // The check can fail: forced colours do reach a pipe.
    expect((await pipewright(['runs', 'list', '--label', 'batch=b1', '--limit', '1'], { ...env, FORCE_COLOR: '1' })).stdout).toMatch(ANSI);
  });

  it('shows a run with its steps’ outputs, its result and its cost', async () => {
    const id = batch[0]!;
    const json = await pipewright(['runs', 'show', id, '--json'], env);
    expect(json.code, json.stderr).toBe(0);
    const run = RunDetail.parse(JSON.parse(json.stdout));
    expect(run).toMatchObject({ runId: id, status: 'succeeded', pipeline: 'cli-fast', labels: { batch: 'b1' } });
    expect(run.costUsd).toBeGreaterThan(0);
    expect(run.stepList).toEqual([expect.objectContaining({ id: 'answer', status: 'succeeded', model: expect.objectContaining({ model: 'sim-small' }), output: expect.anything() })]);
    const text = await pipewright(['runs', 'show', id], env);
    expect(text.stdout).toContain(`run ${id}  succeeded  pipeline cli-fast`);
    expect(text.stdout).toMatch(/cost \$0\.\d+ +tokens \d+ in \+ \d+ out = \d+/);
    expect(text.stdout).toMatch(/ {2}answer +llm +succeeded +attempt 1 model sim-small {2}tokens \d+\+\d+ {2}\$0\.\d+/);
    expect(text.stdout).toMatch(/\n {6}output \S/);
    expect(text.stdout).toMatch(/decisions:\n {2}#0 [\d:.]+ on run\.submitted: start /);
    expect(text.stdout).not.toMatch(ANSI);
  });

  it('an unknown run: show and watch say so and exit 3; watch does not hang', async () => {
    const show = await pipewright(['runs', 'show', 'r-nope'], env);
    expect(show).toMatchObject({ code: 3, stdout: '', stderr: 'pipewright: error: no run r-nope\n' });
    const watch = await pipewright(['watch', 'r-nope'], env);
    expect(watch.code).toBe(3);
    expect(watch.stderr).toMatch(/^pipewright: error: no run r-nope \(no event of it within 5\.0 s\)\n$/);
    expect(watch.ms).toBeLessThan(30_000); // 5 s of silence plus starting a process on a loaded machine
    for (const op of [['runs', 'cancel', 'r-nope'], ['runs', 'resume', 'r-nope'], ['runs', 'rerun', 'r-nope', '--from', 'answer']]) {
      expect(await pipewright(op, env), op.join(' ')).toMatchObject({ code: 3, stderr: 'pipewright: error: no run r-nope\n' });
    }
    expect(JSON.parse((await pipewright(['runs', 'show', 'r-nope', '--json'], env)).stdout)).toEqual({ error: { code: 'not_found', message: 'no run r-nope' } });
  });

  it('watch replays a finished run (exit 0), streams JSON lines, and gives up after --timeout (exit 5)', async () => {
    const done = await pipewright(['watch', batch[0]!], env);
    expect(done.code).toBe(0);
    expect(done.stdout).toMatch(/run \S+ started: cli-fast[\s\S]*step answer +completed +model sim-small[\s\S]*run \S+ OK in/);
    const lines = (await pipewright(['watch', batch[0]!, '--json'], env)).stdout.trimEnd().split('\n');
    const events = lines.map((l) => RunEvent.parse(JSON.parse(l)));
    expect(events[0]!.type).toBe('run.started');
    expect(events.at(-1)).toMatchObject({ type: 'run.finished', status: 'succeeded' });

    const slow = await submitRun(c.js, SLOW, { q: 'forever' });
    const timedOut = await pipewright(['watch', slow, '--timeout', '3s'], env);
    expect(timedOut.code).toBe(5);
    expect(timedOut.stdout).toContain(`run ${slow} started: cli-slow`);
    expect(timedOut.stderr).toMatch(new RegExp(`^pipewright: error: run ${slow} has not finished after 3\\.0 s \\(last event: \\S+ at `));
    await pipewright(['runs', 'cancel', slow], env);
  });

  it('cancels one run by id and every unfinished run by label; a finished run cannot be cancelled (exit 1)', async () => {
    const one = await submitRun(c.js, SLOW, { q: 'one' });
    const labelled = [await submitRun(c.js, SLOW, { q: 'a' }, { labels: { batch: 'slow' } }), await submitRun(c.js, SLOW, { q: 'b' }, { labels: { batch: 'slow' } })];
    await listedAs(stack, [one, ...labelled], ['running']);
    const byId = await pipewright(['runs', 'cancel', one, '--reason', 'changed my mind'], env);
    expect(byId).toMatchObject({ code: 0, stdout: `cancel of run ${one} requested\n` });
    const byLabel = await pipewright(['runs', 'cancel', '--label', 'batch=slow', '--json'], env);
    expect(byLabel.code, byLabel.stderr).toBe(0);
    expect(CancelAccepted.parse(JSON.parse(byLabel.stdout))).toMatchObject({ count: 2, runIds: expect.arrayContaining(labelled) });
    const ended = await listedAs(stack, [one, ...labelled], ['cancelled']);
    expect(ended.find((r: RunSummary) => r.runId === one)?.reason).toContain('changed my mind');
    const again = await pipewright(['runs', 'cancel', one], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^pipewright: error: conflict: run \S+ already ended: cancelled\n$/);
    expect((await pipewright(['runs', 'cancel', '--label', 'batch=slow'], env)).stdout).toBe('no unfinished run has these labels\n');
  });

  it('batch progress by label', async () => {
    const r = await pipewright(['runs', 'batch', '--label', 'batch=b1', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ labels: { batch: 'b1' }, total: batch.length, counts: { succeeded: batch.length, failed: 0 }, failures: [] });
    expect((await pipewright(['runs', 'batch', '--label', 'batch=b1'], env)).stdout).toContain(`batch batch=b1: ${batch.length} runs, ${batch.length} finished (100.0 %)`);
  });

  it('usage errors exit 2 before anything is sent; a read-only token may not operate (exit 4); --version', async () => {
    expect(await pipewright(['runs', 'list', '--limit', 'abc'], env)).toMatchObject({ code: 2, stdout: '', stderr: "pipewright: error: option '--limit <n>': not a positive integer\n" });
    expect((await pipewright(['runs', 'list', '--status', 'finished'], env)).code).toBe(2);
    const readOnly = await pipewright(['runs', 'cancel', batch[0]!], userEnv(stack, stack.consoleReadToken));
    expect(readOnly.code).toBe(4);
    expect(readOnly.stderr).toMatch(/^pipewright: error: forbidden/);
    const nowhere = `http://127.0.0.1:${await freePort()}`; // free a moment ago: nothing listens there
    const unreachable = await pipewright(['runs', 'list'], { ...env, PW_CONSOLE_URL: nowhere });
    expect(unreachable).toMatchObject({ code: 4, stderr: expect.stringContaining(`pipewright: error: cannot reach the console at ${nowhere}: ECONNREFUSED`) });
    const version = await pipewright(['--version'], {});
    expect(version).toMatchObject({ code: 0, stdout: expect.stringMatching(/^\d+\.\d+\.\d+\n$/) });
  });
});
