import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { RunFinished, RunStarted, SCHEMA_VERSION, subjects, type RunListPage, type RunStatus } from '@pipewright/contracts';
import { startProfiledStack, parseBenchTarget } from './durable-throughput.js';
import { measureFloor } from './lib/floor.js';
import { percentile, round } from './lib/stats.js';
import { vmRssKb } from './lib/rss.js';

/** Runs in the index (`PW_BENCH_RUNS`). @default 100000 */
const RUNS = Number(process.env['PW_BENCH_RUNS'] ?? 100_000);
/** Real runs measured for "a finished run appears in the list" (`PW_BENCH_PROBES`). */
const PROBES = Number(process.env['PW_BENCH_PROBES'] ?? 100);
/** Each query is timed this often. */
const QUERY_REPEATS = 200;
/** Seeded publishes in flight. */
const PUBLISH_WINDOW = 2_000;
const BATCHES = 100;
const LIST_POLL_MS = 5;
const WAIT_LIMIT_MS = 600_000;

/** The seeded runs' end states: mostly succeeded, as a nightly batch would be. */
function statusOf(i: number): RunStatus {
  const r = i % 100;
  return r < 90 ? 'succeeded' : r < 96 ? 'failed' : r < 98 ? 'timed_out' : 'cancelled';
}

/**
 * `runs-list`: the console's index at scale. Seeds RUNS finished runs as the planner's own events
 * (run.started and run.finished, validated with the contracts' schemas, labelled into 100 batches of consecutive runs) into
 * PW_EVENTS, then times the first page of the list through the HTTP API, unfiltered and filtered by
 * status and label, a cursor page, and a batch's progress; restarts the console to time a cold
 * catch-up of the whole stream; and runs PROBES real one-step runs through planner and executor,
 * timing from each run's `run.finished` (as a watching client receives it) until the list shows it
 * finished. The raw NATS round trip of the same server is the floor.
 */
export async function runsListBench(args: { steps: number; profile: string; store?: string }): Promise<Record<string, unknown>> {
  const target = parseBenchTarget(args);
  const { stack, stop } = await startProfiledStack(target, ['planner', 'executor', 'console']);
  try {
    const token = stack.consoleToken;
    if (!token) throw new Error('the stack started its console without a token');
    const api = (path: string) => fetchJson(`${stack.consoleUrl}${path}`, token);
    const nc = await connect(stack.natsOptions('admin'));
    const js = jetstream(nc);
    const seed = `s${Date.now().toString(36)}`;

    const seedStarted = performance.now();
    await seedRuns(js, seed, RUNS);
    const seedMs = performance.now() - seedStarted;
    const indexed = await waitFor(async () => ((await api(`/batches?label=seed%3D${seed}`)) as { total: number }).total >= RUNS);
    const liveIngestMs = performance.now() - seedStarted;

    const queries: Record<string, string> = {
      firstPage: '/runs?limit=50',
      statusSucceeded: '/runs?status=succeeded&limit=50',
      statusFailed: '/runs?status=failed&limit=50',
      labelBatch: '/runs?label=batch%3Db42&limit=50',
      labelSeed: `/runs?label=seed%3D${seed}&limit=50`,
      statusAndLabel: '/runs?status=failed&label=batch%3Db42&limit=50',
      pipeline: '/runs?pipeline=nightly-7&limit=50',
      batchStats: '/batches?label=batch%3Db42',
    };
    const timings: Record<string, { p50Ms: number; p99Ms: number; rows: number }> = {};
    for (const [name, path] of Object.entries(queries)) timings[name] = await timeQuery(api, path);
    const second = (await api('/runs?status=succeeded&limit=50')) as RunListPage;
    if (second.nextCursor) timings['cursorPage'] = await timeQuery(api, `/runs?status=succeeded&limit=50&cursor=${encodeURIComponent(second.nextCursor)}`);
    const consoleKb = vmRssKb(stack.processes('console')[0]?.pid ?? -1);
    const consoleRssMb = consoleKb === undefined ? undefined : round(consoleKb / 1024, 1);

    // A cold start: a new console replays the whole stream before it says it is ready.
    await stack.processes('console')[0]?.stop();
    const coldStarted = performance.now();
    await stack.startService('console');
    const coldCatchUpMs = performance.now() - coldStarted;
    const afterRestart = ((await api(`/batches?label=seed%3D${seed}`)) as { total: number }).total;

    const appear = await probeAppearance(js, api, (path, body) => postJson(`${stack.consoleUrl}${path}`, token, body), PROBES);
    await nc.drain();
    const floor = await measureFloor(stack.natsOptions(), 2_000);
    return {
      name: 'runs-list',
      runs: RUNS,
      indexed: indexed ? RUNS : 'incomplete',
      seedPublishMs: round(seedMs, 0),
      liveIngestMs: round(liveIngestMs, 0),
      coldCatchUpMs: round(coldCatchUpMs, 0),
      runsAfterRestart: afterRestart,
      consoleRssMb,
      queries: timings,
      appearAfterFinishP50Ms: round(percentile(appear, 50)),
      appearAfterFinishP99Ms: round(percentile(appear, 99)),
      appearAfterFinishMaxMs: round(Math.max(...appear)),
      probes: appear.length,
      floorP50Ms: round(floor.p50Ms),
      floorP99Ms: round(floor.p99Ms),
      store: target.store,
      profile: target.profile,
    };
  } finally {
    await stop();
  }
}

async function postJson(url: string, token: string, body: unknown): Promise<unknown> {
  const res = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}

async function fetchJson(url: string, token: string): Promise<unknown> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}

/** Publishes `n` finished runs as the planner does (two events each), at most PUBLISH_WINDOW in flight. */
async function seedRuns(js: JetStreamClient, seed: string, n: number): Promise<void> {
  const base = Date.now() - 24 * 3_600_000;
  const inFlight = new Set<Promise<unknown>>();
  for (let i = 0; i < n; i++) {
    const runId = `${seed}-${i}`;
    const createdAt = new Date(base + Math.floor((i / n) * 24 * 3_600_000));
    const started = RunStarted.parse({
      schemaVersion: SCHEMA_VERSION,
      type: 'run.started',
      runId,
      at: createdAt.toISOString(),
      pipeline: `nightly-${i % 10}`,
      tenant: 'default',
      steps: ['extract', 'summarise', 'classify'],
      labels: { seed, batch: `b${Math.floor((i * BATCHES) / n)}` },
      decisions: [{ runId, seq: 0, at: createdAt.toISOString(), on: 'run.submitted', action: 'start', stepIds: [], reason: 'run of nightly accepted with 3 step(s)' }],
    });
    const status = statusOf(i);
    const finished = RunFinished.parse({
      schemaVersion: SCHEMA_VERSION,
      type: 'run.finished',
      runId,
      at: new Date(createdAt.getTime() + 4_000).toISOString(),
      status,
      ...(status === 'succeeded' ? { output: { label: 'ok' } } : { reason: `step classify ${status}`, partial: { extract: { ok: true } } }),
      usage: { inputTokens: 900, outputTokens: 300, totalTokens: 1_200 },
      costUsd: 0.0021,
      durationMs: 4_000,
    });
    for (const [type, event] of [['run.started', started], ['run.finished', finished]] as const) {
      const p = js.publish(subjects.runEvent(runId, type), JSON.stringify(event), { msgID: `${runId}:${type}:0` }).finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    if (inFlight.size >= PUBLISH_WINDOW) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
}

async function timeQuery(api: (path: string) => Promise<unknown>, path: string): Promise<{ p50Ms: number; p99Ms: number; rows: number }> {
  const times: number[] = [];
  let rows = 0;
  for (let i = 0; i < QUERY_REPEATS; i++) {
    const t0 = performance.now();
    const body = (await api(path)) as { runs?: unknown[]; total?: number };
    times.push(performance.now() - t0);
    rows = body.runs?.length ?? body.total ?? 0;
  }
  return { p50Ms: round(percentile(times, 50)), p99Ms: round(percentile(times, 99)), rows };
}

/**
 * Real one-step runs, one at a time: the time from the client receiving `run.finished` to the first
 * list page filtered by the probe's label showing the run finished (polled every LIST_POLL_MS).
 */
async function probeAppearance(js: JetStreamClient, api: (path: string) => Promise<unknown>, post: (path: string, body: unknown) => Promise<unknown>, n: number): Promise<number[]> {
  const probe = `p${Date.now().toString(36)}`;
  const pipeline = { name: 'probe', defaults: { model: 'sim-small', maxOutputTokens: 16 }, steps: [{ id: 'only', prompt: 'say ok' }] };
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const { runId } = (await post(`/runs`, { schemaVersion: SCHEMA_VERSION, pipeline, input: {}, labels: { probe } })) as { runId: string };
    const finishedAt = await finishedTime(js, runId);
    await waitFor(async () => {
      const page = (await api(`/runs?label=probe%3D${probe}&status=succeeded&limit=5`)) as RunListPage;
      return page.runs.some((r) => r.runId === runId);
    }, LIST_POLL_MS);
    out.push(performance.now() - finishedAt);
  }
  return out;
}

/** When this client receives the run's `run.finished` (performance.now()). */
async function finishedTime(js: JetStreamClient, runId: string): Promise<number> {
  const consumer = await js.consumers.get('PW_EVENTS', { filter_subjects: [subjects.runEvent(runId, 'run.finished')] });
  const msgs = await consumer.consume();
  try {
    for await (const m of msgs) {
      void m;
      return performance.now();
    }
  } finally {
    await msgs.close();
  }
  throw new Error(`no run.finished for ${runId}`);
}

/** Polls `check` until it is true (or WAIT_LIMIT_MS passes: false). */
async function waitFor(check: () => Promise<boolean>, everyMs = 50): Promise<boolean> {
  const deadline = Date.now() + WAIT_LIMIT_MS;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return false;
}
