import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { LocalStack } from '@pipewright/cli';
import type { RunListPage} from '@pipewright/contracts';
import { RunDetail, subjects } from '@pipewright/contracts';
import { waitFor } from '@pipewright/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client } from '../support/run.js';
import { Api, readSse, WebhookReceiver } from './support.js';

const SECRET = 'whsec-console-test-0123456789';
const pipeline = (name: string, model = 'sim-small', extra: Record<string, unknown> = {}) => ({
  name,
  defaults: { model },
  input: { type: 'object', properties: { topic: { type: 'string' } }, required: ['topic'] },
  steps: [
    { id: 'facts', prompt: 'Facts about {{input.topic}}', ...extra },
    { id: 'summary', needs: ['facts'], prompt: 'Summarise {{steps.facts.output}}', ...extra },
  ],
});

/**
 * The console's runs API on a real local stack (nats-server, simulator, planner, executor, budget,
 * console as processes), called over HTTP as any client would.
 */
describe('console runs API', () => {
  let stack: LocalStack;
  let api: Api;
  let admin: Awaited<ReturnType<typeof client>>;
  let jsm: JetStreamManager;
  let hooks: WebhookReceiver;
  let broken: WebhookReceiver;

  beforeAll(async () => {
    hooks = await WebhookReceiver.start(SECRET, 2);
    broken = await WebhookReceiver.start(SECRET, 1_000);
    stack = await LocalStack.start({
      services: ['planner', 'executor', 'budget', 'console'],
      sim: { faults: { perModel: { 'sim-slow': { latency: { fixedMs: 120_000 } }, 'sim-fail': { rate500: 1 } } } },
      env: {
        PW_CONSOLE_WEBHOOKS: JSON.stringify([
          { url: hooks.url, secret: SECRET, labels: { hook: 'yes' } },
          { url: broken.url, secret: SECRET, labels: { hook: 'broken' }, statuses: ['succeeded'] },
        ]),
        PW_CONSOLE_WEBHOOK_MAX_ATTEMPTS: '4',
        PW_CONSOLE_WEBHOOK_BASE_DELAY_MS: '50',
        PW_CONSOLE_WEBHOOK_MAX_DELAY_MS: '200',
      },
    });
    api = Api.of(stack);
    admin = await client(stack.natsOptions('admin'));
    jsm = await jetstreamManager(admin.nc);
  });
  afterAll(async () => {
    await admin?.close();
    await stack?.stop();
    await hooks?.close();
    await broken?.close();
  });

  it('refuses requests without a valid token (401) and read tokens on operate routes (403); serves the OpenAPI document to anyone', async () => {
    for (const token of [null, 'wrong-token-0123456789abcdef', '']) {
      const r = await api.get('/runs', token);
      expect(r.status).toBe(401);
      expect(r.body).toMatchObject({ error: { code: 'unauthorized' } });
    }
    expect((await api.get('/runs', null)).headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await api.get('/runs', api.readToken)).status).toBe(200);
    expect((await api.get('/runs', api.operateToken)).status).toBe(200);
    const submitAsReader = await api.call('POST', '/runs', { token: api.readToken, body: { pipeline: pipeline('p'), input: { topic: 'x' } } });
    expect(submitAsReader.status).toBe(403);
    expect(submitAsReader.body).toMatchObject({ error: { code: 'forbidden' } });
    for (const path of ['/runs/cancel', '/runs/r1/cancel', '/runs/r1/resume', '/runs/r1/rerun']) expect((await api.call('POST', path, { token: api.readToken, body: {} })).status).toBe(403);
    for (const path of ['/runs/r1', '/runs/r1/events', '/events', '/batches?label=a=b']) expect((await api.get(path, null)).status).toBe(401);
    const doc = await api.get<{ openapi: string; paths: Record<string, unknown> }>('/openapi.json', null);
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.1.0');
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/runs', '/runs/{runId}', '/runs/{runId}/events', '/events', '/batches']));
    const nowhere = await api.get('/nowhere');
    expect(nowhere.status).toBe(404);
    expect(nowhere.body).toMatchObject({ error: { code: 'not_found' } });
  });

  it('submits with an Idempotency-Key: same body 200 with the first run, another body 409 naming the difference; concurrent submits make one run', async () => {
    const body = { pipeline: pipeline('idem'), input: { topic: 'volcanoes' }, labels: { batch: 'idem' } };
    const first = await api.post<{ runId: string; created: boolean }>('/runs', body, { 'idempotency-key': 'key-1' });
    expect(first.status).toBe(202);
    expect(first.body.created).toBe(true);
    const again = await api.post('/runs', body, { 'idempotency-key': 'key-1' });
    expect(again).toMatchObject({ status: 200, body: { runId: first.body.runId, created: false } });
    const other = await api.post('/runs', { ...body, input: { topic: 'glaciers' } }, { 'idempotency-key': 'key-1' });
    expect(other.status).toBe(409);
    expect(other.body).toMatchObject({ error: { code: 'idempotency_conflict', differences: ['input.topic'] } });

    const racing = await Promise.all(Array.from({ length: 6 }, () => api.post<{ runId: string; created: boolean }>('/runs', body, { 'idempotency-key': 'key-race' })));
    expect(racing.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 202]);
    expect(new Set(racing.map((r) => r.body.runId)).size).toBe(1);
    const runId = racing[0]!.body.runId;
    await api.until(runId, ['succeeded']);
    const page = await api.get<RunListPage>('/runs?label=batch=idem&limit=100');
    expect(page.body.runs.map((r) => r.runId).sort()).toEqual([first.body.runId, runId].sort());

    // an explicit run id that exists: the same request is that run, another one a conflict
    const explicit = { ...body, runId: 'console-explicit-1' };
    expect((await api.post('/runs', explicit)).status).toBe(202);
    await api.until('console-explicit-1', ['succeeded']);
    expect(await api.post('/runs', explicit)).toMatchObject({ status: 200, body: { runId: 'console-explicit-1', created: false } });
    const clash = await api.post('/runs', { ...explicit, input: { topic: 'other' } });
    expect(clash.status).toBe(409);
    expect(clash.body).toMatchObject({ error: { code: 'conflict', differences: ['input.topic'] } });
  });

  it('refuses invalid submissions with the field paths, bodies too deep or too large, bad keys', async () => {
    const bad = await api.post<{ error: { issues: { path: string }[] } }>('/runs', { pipeline: pipeline('bad'), input: {} });
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues.map((i) => i.path)).toContain('input.topic');
    const noSteps = await api.post<{ error: { issues: { path: string }[] } }>('/runs', { pipeline: { name: 'x', steps: [{ id: 'a', needs: ['b'], prompt: 'p', model: 'm' }] }, input: {} });
    expect(noSteps.status).toBe(400);
    expect(noSteps.body.error.issues.length).toBeGreaterThan(0);
    const deep = await api.call('POST', '/runs', { raw: `${'['.repeat(100)}${']'.repeat(100)}` });
    expect(deep.status).toBe(400);
    expect(JSON.stringify(deep.body)).toMatch(/too deep/);
    expect((await api.call('POST', '/runs', { raw: '{not json' })).status).toBe(400);
    const huge = await api.call('POST', '/runs', { raw: JSON.stringify({ pipeline: pipeline('big'), input: { topic: 'x'.repeat(2 * 1024 * 1024) } }) });
    expect(huge.status).toBe(413);
    expect(huge.body).toMatchObject({ error: { code: 'payload_too_large' } });
    expect((await api.post('/runs', { pipeline: pipeline('k'), input: { topic: 'x' } }, { 'idempotency-key': 'x'.repeat(300) })).status).toBe(400);
  });

  it('gets a run: steps with outputs, cost, usage, the decision trail, the trace id; 404 for an unknown run', async () => {
    // the caller's trace: the run joins it
    const traceId = 'c0ffee'.padEnd(32, '0');
    const sub = await api.post<{ runId: string }>('/runs', { pipeline: pipeline('detail'), input: { topic: 'rivers' }, labels: { batch: 'detail' } }, { traceparent: `00-${traceId}-${'1'.repeat(16)}-01` });
    await api.until(sub.body.runId, ['succeeded']);
    const r = await api.get<RunDetail>(`/runs/${sub.body.runId}`);
    expect(r.status).toBe(200);
    const d = RunDetail.parse(r.body);
    expect(d).toMatchObject({ status: 'succeeded', pipeline: 'detail', input: { topic: 'rivers' }, labels: { batch: 'detail' }, steps: { total: 2, succeeded: 2 } });
    expect(d.stepList.map((s) => [s.id, s.status, typeof s.output])).toEqual([
      ['facts', 'succeeded', 'string'],
      ['summary', 'succeeded', 'string'],
    ]);
    expect(d.costUsd).toBeGreaterThan(0);
    expect(d.usage.totalTokens).toBeGreaterThan(0);
    expect(d.output).toBe(d.stepList[1]!.output);
    expect(d.decisions.map((x) => x.action)).toEqual(expect.arrayContaining(['start', 'dispatch', 'complete-step', 'finish']));
    expect(d.traceId).toBe(traceId);
    expect((await api.get('/runs/no-such-run')).status).toBe(404);
    expect((await api.get('/runs/bad.id')).status).toBe(400);
  });

  it("shows a map's items by where they are while it runs and once it is done, and a skipped step with its reason", async () => {
    const mapPipeline = (name: string, model: string) => ({
      name,
      defaults: { model },
      input: { type: 'object', properties: { topics: { type: 'array', items: { type: 'string' } }, deep: { type: 'boolean' } } },
      output: 'each',
      steps: [
        { id: 'each', kind: 'map', over: 'input.topics', concurrency: 2, step: { prompt: 'Facts about {{item}}' } },
        { id: 'deeper', needs: ['each'], when: { path: 'input.deep', equals: true }, prompt: 'More on {{steps.each.output}}' },
      ],
    });
    const done = await api.post<{ runId: string }>('/runs', { pipeline: mapPipeline('map-detail', 'sim-small'), input: { topics: ['a', 'b', 'c'], deep: false } });
    await api.until(done.body.runId, ['succeeded']);
    const d = RunDetail.parse((await api.get<RunDetail>(`/runs/${done.body.runId}`)).body);
    expect(d.stepList.map((v) => v.id)).toEqual(['each', 'deeper']);
    expect(d.stepList[0]).toMatchObject({ kind: 'map', status: 'succeeded', items: { total: 3, succeeded: 3, running: 0, failed: 0 } });
    expect(d.stepList[0]!.output).toHaveLength(3);
    expect(d.output).toEqual(d.stepList[0]!.output);
    expect(d.stepList[1]).toMatchObject({ status: 'skipped', skipReason: expect.stringContaining('input.deep') });
    // a map whose items hang at the model: two running (its concurrency), one pending
    const slow = await api.post<{ runId: string }>('/runs', { pipeline: mapPipeline('map-slow', 'sim-slow'), input: { topics: ['a', 'b', 'c'] } });
    const running = await waitFor(
      'the slow map to show its items running',
      async () => {
        const r = RunDetail.parse((await api.get<RunDetail>(`/runs/${slow.body.runId}`)).body);
        return r.stepList[0]?.items?.running === 2 ? r : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    expect(running.stepList[0]).toMatchObject({ status: 'dispatched', items: { total: 3, succeeded: 0, running: 2, failed: 0 } });
    expect((await api.post(`/runs/${slow.body.runId}/cancel`, {})).status).toBe(202);
    await api.until(slow.body.runId, ['cancelled']);
  });

  it('lists with filters (status, pipeline, label, time) and pages with a cursor without duplicates or gaps; bad parameters are 400 naming them', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await api.post<{ runId: string }>('/runs', { pipeline: pipeline('paging'), input: { topic: `t${i}` }, labels: { batch: 'paging', n: String(i) } })).body.runId);
    for (const id of ids) await api.until(id, ['succeeded']);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await api.get<RunListPage>(`/runs?label=batch=paging&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      seen.push(...page.body.runs.map((r) => r.runId));
      cursor = page.body.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBeGreaterThan(2);
    expect(seen).toEqual([...ids].reverse());
    expect((await api.get<RunListPage>('/runs?pipeline=paging&status=succeeded&limit=500')).body.runs).toHaveLength(7);
    expect((await api.get<RunListPage>('/runs?label=batch=paging&label=n=3')).body.runs.map((r) => r.runId)).toEqual([ids[3]]);
    expect((await api.get<RunListPage>('/runs?pipeline=paging&status=failed')).body.runs).toEqual([]);
    const all = (await api.get<RunListPage>('/runs?label=batch=paging&limit=500')).body.runs;
    const mid = all[3]!.createdAt;
    const since = (await api.get<RunListPage>(`/runs?label=batch=paging&since=${encodeURIComponent(mid)}`)).body.runs;
    expect(since.every((r) => r.createdAt >= mid)).toBe(true);
    const until = (await api.get<RunListPage>(`/runs?label=batch=paging&until=${encodeURIComponent(mid)}`)).body.runs;
    expect(until.every((r) => r.createdAt < mid)).toBe(true);
    expect(since.length + until.length).toBe(7);

    const bad = async (q: string) => {
      const r = await api.get<{ error: { code: string; issues: { path: string }[] } }>(`/runs?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.body.error.code).toBe('bad_request');
      return r.body.error.issues.map((i) => i.path);
    };
    expect(await bad('limit=abc')).toEqual(['limit']);
    expect(await bad('limit=0')).toEqual(['limit']);
    expect(await bad('limit=501')).toEqual(['limit']);
    expect(await bad('status=bogus')).toEqual(['status']);
    expect(await bad('label=nokey')).toEqual(['label']);
    expect(await bad('cursor=!!')).toEqual(['cursor']);
    expect(await bad('since=yesterday')).toEqual(['since']);
    expect(await bad('limit=1&limit=2')).toEqual(['limit']);
    expect(await bad('colour=red')).toEqual(['colour']);
  });

  it('cancels a run (409 once it has ended, 404 unknown) and every unfinished run of a label', async () => {
    const slow = (i: number) => api.post<{ runId: string }>('/runs', { pipeline: pipeline('slow', 'sim-slow'), input: { topic: `s${i}` }, labels: { batch: 'slow' } });
    const one = (await slow(0)).body.runId;
    await api.until(one, ['running']);
    const c = await api.post(`/runs/${one}/cancel`, { reason: 'test says stop' });
    expect(c).toMatchObject({ status: 202, body: { runIds: [one], count: 1 } });
    await api.until(one, ['cancelled']);
    expect((await api.post(`/runs/${one}/cancel`)).body).toMatchObject({ error: { code: 'conflict' } });
    expect((await api.post('/runs/nobody/cancel')).status).toBe(404);

    const many = [(await slow(1)).body.runId, (await slow(2)).body.runId, (await slow(3)).body.runId];
    for (const id of many) await api.until(id, ['running']);
    const byLabel = await api.post<{ runIds: string[]; count: number }>('/runs/cancel', { labels: { batch: 'slow' } });
    expect(byLabel.status).toBe(202);
    expect(byLabel.body.runIds.sort()).toEqual([...many].sort());
    for (const id of many) await api.until(id, ['cancelled']);
    expect((await api.post('/runs/cancel', { labels: {} })).status).toBe(400);
    const batch = await api.get<{ total: number; counts: Record<string, number> }>('/batches?label=batch=slow');
    expect(batch.body).toMatchObject({ total: 4, counts: { cancelled: 4, running: 0 } });
    expect((await api.get('/batches')).status).toBe(400);
  });

  it('resumes a stopped run (409 not_resumable for one that succeeded) and re-runs from a step (400 for an unknown step)', async () => {
    const cancelled = (await api.get<RunListPage>('/runs?label=batch=slow&status=cancelled&limit=1')).body.runs[0]!.runId;
    const done = (await api.get<RunListPage>('/runs?label=batch=paging&limit=1')).body.runs[0]!.runId;
    expect((await api.post(`/runs/${done}/resume`)).body).toMatchObject({ error: { code: 'not_resumable' } });
    expect((await api.post('/runs/nobody/resume')).status).toBe(404);
    const resumed = await api.post<{ runId: string; resumeId: string }>(`/runs/${cancelled}/resume`, { limits: { deadlineMs: 60_000 }, reason: 'try again' });
    expect(resumed.status).toBe(202);
    // Until the planner applies resumes (planner engineer's work), the request is checked on the bus;
    // once it does, the run's own run.resumed is the proof.
    await expectRequestOrEvent(jsm, subjects.runResume, cancelled, 'run.resumed', (m, kind) =>
      expect(m).toMatchObject(kind === 'request' ? { runId: cancelled, resumeId: resumed.body.resumeId, limits: { deadlineMs: 60_000 }, reason: 'try again' } : { runId: cancelled, resumeId: resumed.body.resumeId, from: 'cancelled' }),
    );

    expect((await api.post(`/runs/${done}/rerun`, { fromStep: 'nope' })).body).toMatchObject({ error: { code: 'bad_request', issues: [{ path: 'fromStep' }] } });
    expect((await api.post('/runs/nobody/rerun', { fromStep: 'facts' })).status).toBe(404);
    const rerun = await api.post<{ runId: string; rerunOf: unknown }>(`/runs/${done}/rerun`, { fromStep: 'summary', labels: { batch: 'rerun' } });
    expect(rerun.status).toBe(202);
    expect(rerun.body.rerunOf).toEqual({ runId: done, stepId: 'summary' });
    await expectRequestOrEvent(jsm, subjects.runRerun, rerun.body.runId, 'run.started', (m, kind) =>
      expect(m).toMatchObject(
        kind === 'request' ? { runId: rerun.body.runId, from: { runId: done, stepId: 'summary' }, labels: { batch: 'rerun' } } : { runId: rerun.body.runId, rerunOf: { runId: done, stepId: 'summary', reused: ['facts'] }, labels: { batch: 'rerun' } },
      ),
    );
  });

  it('streams a run\'s events until run.finished, resumes after Last-Event-ID, and streams list changes', async () => {
    const changes: string[] = [];
    const abort = new AbortController();
    let opened!: () => void;
    const open = new Promise<void>((r) => (opened = r));
    const live = readSse(`${api.base}/events?label=batch=sse`, api.readToken, {
      signal: abort.signal,
      onOpen: opened,
      stop: (evs) => {
        changes.splice(0, changes.length, ...evs.map((e) => `${(JSON.parse(e.data) as { runId: string }).runId}:${(JSON.parse(e.data) as { status: string }).status}`));
        return changes.some((c) => c.endsWith(':succeeded'));
      },
    });
    await open;
    const runId = (await api.post<{ runId: string }>('/runs', { pipeline: pipeline('sse'), input: { topic: 'sse' }, labels: { batch: 'sse' } })).body.runId;
    const whole = await readSse(`${api.base}/runs/${runId}/events`, api.readToken);
    expect(whole.ended).toBe(true);
    expect(whole.events[0]?.event).toBe('run.started');
    expect(whole.events.at(-1)?.event).toBe('run.finished');
    const seqs = whole.events.map((e) => Number(e.id));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    const mid = whole.events[2]!;
    const rest = await readSse(`${api.base}/runs/${runId}/events`, api.readToken, { lastEventId: mid.id! });
    expect(rest.events.map((e) => e.id)).toEqual(whole.events.slice(3).map((e) => e.id));
    // reconnecting after the last event of a finished run: the stream ends at once
    const after = await readSse(`${api.base}/runs/${runId}/events`, api.readToken, { lastEventId: whole.events.at(-1)!.id! });
    expect(after).toMatchObject({ status: 200, ended: true, events: [] });
    expect((await readSse(`${api.base}/runs/nobody/events`, api.readToken)).status).toBe(404);
    expect((await readSse(`${api.base}/runs/${runId}/events`, api.readToken, { lastEventId: 'abc' })).status).toBe(400);
    await live;
    expect(changes.filter((c) => c.startsWith(runId))).toContain(`${runId}:succeeded`);
  });

  it('shows a finished run in the list within 1 s of its run.finished', async () => {
    const runId = (await api.post<{ runId: string }>('/runs', { pipeline: pipeline('latency'), input: { topic: 'now' } })).body.runId;
    // The moment the event is stored (the stream's own timestamp), then how long until the list shows it.
    const finishedAtMs = await waitFor(
      'run.finished stored',
      async () => {
        const m = await jsm.streams.getMessage('PW_EVENTS', { last_by_subj: subjects.runEvent(runId, 'run.finished') }).catch(() => null);
        return m ? m.timestamp : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 5 },
    );
    await api.until(runId, ['succeeded']);
    const visibleMs = Date.now() - Date.parse(finishedAtMs);
    console.log(`a finished run appeared in the list ${visibleMs} ms after its run.finished was stored (upper bound: includes the polls)`);
    expect(visibleMs).toBeLessThan(1_000);
  });

  it('delivers a signed run-end webhook, retried after two failures with the same id, once', async () => {
    const runId = (await api.post<{ runId: string }>('/runs', { pipeline: pipeline('hooked'), input: { topic: 'hooks' }, labels: { hook: 'yes' } })).body.runId;
    const unhooked = (await api.post<{ runId: string }>('/runs', { pipeline: pipeline('unhooked'), input: { topic: 'no hooks' } })).body.runId;
    await api.until(unhooked, ['succeeded']);
    const ok = await waitFor('the webhook delivered', () => hooks.deliveries.find((d) => d.status === 200 && d.body.includes(runId)), { timeoutMs: 30_000, intervalMs: 50 });
    const mine = hooks.deliveries.filter((d) => d.body.includes(runId));
    expect(mine.map((d) => d.status)).toEqual([500, 500, 200]);
    expect(new Set(mine.map((d) => d.headers['pw-webhook-id'])).size).toBe(1);
    expect(mine.map((d) => d.headers['pw-delivery-attempt'])).toEqual(['1', '2', '3']);
    expect(hooks.badSignatures).toEqual([]);
    const body = JSON.parse(ok.body) as { id: string; type: string; run: { runId: string; status: string; labels: Record<string, string> } };
    expect(body).toMatchObject({ id: ok.headers['pw-webhook-id'], type: 'run.finished', run: { runId, status: 'succeeded', labels: { hook: 'yes' } } });
    // the endpoint filters on the label: the other run is not sent
    expect(hooks.deliveries.some((d) => d.body.includes(unhooked))).toBe(false);
  });

  it('gives a delivery up after the last attempt: logged, counted, copied to the DLQ', async () => {
    const runId = (await api.post<{ runId: string }>('/runs', { pipeline: pipeline('broken'), input: { topic: 'x' }, labels: { hook: 'broken' } })).body.runId;
    const dlq = await waitFor(
      'the given-up delivery in the DLQ',
      async () => {
        const m = await jsm.streams.getMessage('PW_DLQ', { last_by_subj: 'pw.dlq.console' }).catch(() => null);
        return m && m.subject === 'pw.dlq.console' && m.string().includes(runId) ? m : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    expect(dlq.header.get('Pw-Dlq-Reason')).toMatch(/deliveries exhausted \(4\)/);
    expect(broken.deliveries.filter((d) => d.body.includes(runId)).map((d) => d.headers['pw-delivery-attempt'])).toEqual(['1', '2', '3', '4']);
    const ops = [...stack.opsPorts.entries()].find(([id]) => id.startsWith('console-'))![1];
    const metrics = await (await fetch(`http://127.0.0.1:${ops}/metrics`)).text();
    expect(Number(/^pw_console_webhook_deliveries_total\{[^}]*outcome="given_up"[^}]*\} (\S+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
  });

  it('answers a run accepted while no planner runs as queued, which the planner starts once it is back', async () => {
    const [planner] = stack.processes('planner');
    await planner!.stop(8_000);
    const runId = (await api.post<{ runId: string }>('/runs', { pipeline: pipeline('queued'), input: { topic: 'later' }, labels: { batch: 'queued' } })).body.runId;
    const queued = await api.get<RunDetail>(`/runs/${runId}`);
    expect(queued.status).toBe(200);
    expect(queued.body).toMatchObject({ runId, status: 'queued', pipeline: 'queued', labels: { batch: 'queued' }, steps: { total: 2, succeeded: 0 } });
    expect(queued.body.stepList.map((s) => s.status)).toEqual(['pending', 'pending']);
    await stack.startService('planner');
    await api.until(runId, ['succeeded']);
    expect((await api.get<RunDetail>(`/runs/${runId}`)).body.status).toBe('succeeded');
  });

  it('a console started later replays PW_EVENTS into the same index, and is ready only once it has', async () => {
    const before = (await api.get<RunListPage>('/runs?limit=500')).body.runs;
    expect(before.length).toBeGreaterThan(10);
    const proc = await stack.startService('console');
    // startService resolves once /readyz answers 200: by then the replay has caught up
    const second = Api.of(stack);
    expect(second.base).not.toBe(api.base);
    const after = (await second.get<RunListPage>('/runs?limit=500')).body.runs;
    // runs still going may move on meanwhile: their ids must match, finished ones in every field shown
    const strip = (runs: RunListPage['runs']) => runs.map((r) => (r.finishedAt ? `${r.runId}:${r.status}:${r.steps.succeeded}/${r.steps.total}:${r.costUsd}:${r.totalTokens}` : r.runId));
    expect(strip(after)).toEqual(strip(before));
    await proc.stop(8_000);
  });
});

/** The request the console published (still on PW_RUNS), or, once the planner consumes it, the run's event. */
async function expectRequestOrEvent(jsm: JetStreamManager, subject: string, runId: string, eventType: string, check: (msg: unknown, kind: 'request' | 'event') => void): Promise<void> {
  const seen = await waitFor(
    `${subject} for ${runId}, or its ${eventType}`,
    async () => {
      const req = await jsm.streams.getMessage('PW_RUNS', { last_by_subj: subject }).catch(() => null);
      if (req) return { kind: 'request' as const, value: req.json() };
      const ev = await jsm.streams.getMessage('PW_EVENTS', { last_by_subj: subjects.runEvent(runId, eventType) }).catch(() => null);
      return ev ? { kind: 'event' as const, value: ev.json() } : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 50 },
  );
  check(seen.value, seen.kind);
}
