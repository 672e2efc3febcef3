import { loadavg } from 'node:os';
import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { PipelineSpec, SCHEMA_VERSION, streams, type RunState, type StepCompleted } from '@pipewright/contracts';
import { startFerretDb, startNatsServer } from '@pipewright/devstack';
import { commonEnv, ensureStream, openStores, parseEnv, TaskLog, type Stores } from '@pipewright/kit';
import { percentile, round } from './lib/stats.js';

const STEPS_PER_RUN = 6;
/** Writes of each kind before timing starts (JIT, connections, buckets, SQLite pages). */
const WARMUP_WRITES = 120;
/** A model answer of a typical size: a few hundred tokens of JSON. */
const OUTPUT_CHARS = 1_200;

export type Profile = 'default' | 'strict';

interface Timings {
  checkpoint: number[];
  cas: number[];
}

/**
 * Store write latency, one write in flight: a step checkpoint (the executor's result appended to the
 * task's log after its lease, compare-and-set on the log's last sequence: the same on either store,
 * since task logs are on the bus) and a run-state compare-and-set (what the planner writes per event),
 * for NATS KV and for the MongoDB store on FerretDB 1.24, both started here. The floor is a plain
 * JetStream publish awaited, on the same server in the same run. `strict` runs nats-server with
 * `sync_interval: always` and MongoDB writes with journal:true.
 */
export async function checkpointBench(args: { steps: number; profile?: string }): Promise<Record<string, unknown>> {
  const profile: Profile = args.profile === 'strict' ? 'strict' : 'default';
  const writes = Math.max(STEPS_PER_RUN, args.steps);
  const [nats, ferret] = await Promise.all([startNatsServer({ syncAlways: profile === 'strict' }), startFerretDb()]);
  const nc = await connect({ servers: nats.url });
  try {
    const env = { PW_DURABILITY: profile, NATS_URL: nats.url };
    const jsm = await jetstreamManager(nc);
    await ensureStream(jsm, streams.events);
    const log = new TaskLog(jetstream(nc), jsm);
    const kv = await openStores(parseEnv(commonEnv, { ...env, PW_STORE: 'kv' }), nc);
    const mongo = await openStores(parseEnv(commonEnv, { ...env, PW_STORE: 'mongo', MONGODB_URL: ferret.url, PW_MONGODB_DB: 'bench' }), nc);
    try {
      const k = await measureStore(kv, log, writes);
      const m = await measureStore(mongo, log, writes);
      const floor = await measurePublishFloor(nc, writes);
      return {
        name: 'checkpoint',
        profile,
        writes,
        mongoP50Ms: round(percentile(m.checkpoint, 50)),
        mongoP99Ms: round(percentile(m.checkpoint, 99)),
        mongoCasP50Ms: round(percentile(m.cas, 50)),
        mongoCasP99Ms: round(percentile(m.cas, 99)),
        kvP50Ms: round(percentile(k.checkpoint, 50)),
        kvP99Ms: round(percentile(k.checkpoint, 99)),
        kvCasP50Ms: round(percentile(k.cas, 50)),
        kvCasP99Ms: round(percentile(k.cas, 99)),
        floorP50Ms: round(percentile(floor, 50)),
        floorP99Ms: round(percentile(floor, 99)),
        mongoServer: 'ferretdb-1.24-sqlite',
        loadAvg1m: round(loadavg()[0] ?? 0, 2),
      };
    } finally {
      await Promise.all([kv.close(), mongo.close()]);
    }
  } finally {
    await nc.drain();
    await Promise.all([nats.stop(), ferret.stop()]);
  }
}

/** Runs of six steps: create the run, then per step one checkpoint and one compare-and-set. */
async function measureStore(stores: Stores, log: TaskLog, writes: number): Promise<Timings> {
  const warm: Timings = { checkpoint: [], cas: [] };
  const tag = stores.kind;
  for (let run = 0; warm.checkpoint.length < WARMUP_WRITES; run++) await oneRun(stores, log, `warm-${tag}-${run}`, warm);
  const t: Timings = { checkpoint: [], cas: [] };
  for (let run = 0; t.checkpoint.length < writes; run++) await oneRun(stores, log, `run-${tag}-${run}`, t);
  return { checkpoint: t.checkpoint.slice(0, writes), cas: t.cas.slice(0, writes) };
}

async function oneRun(stores: Stores, log: TaskLog, runId: string, t: Timings): Promise<void> {
  let state = runState(runId);
  const created = await stores.runs.create(state);
  if (!created.ok) throw new Error(`run ${runId}: ${created.reason}`);
  let version = created.version;
  for (let i = 0; i < STEPS_PER_RUN; i++) {
    const cp = checkpoint(runId, `s${i}`);
    const lease = await log.append({ schemaVersion: SCHEMA_VERSION, type: 'step.started', runId, stepId: `s${i}`, attempt: 1, task: 'llm', owner: 'bench', delivery: 's1d1', at: cp.at }, 0, { writer: 'bench' });
    if (!lease.ok) throw new Error(`lease ${runId}/s${i} conflicted`);
    let t0 = performance.now();
    if (!(await log.append(cp, lease.seq, { writer: 'bench' })).ok) throw new Error(`checkpoint ${runId}/s${i} conflicted`);
    t.checkpoint.push(performance.now() - t0);

    state = { ...state, steps: { ...state.steps, [`s${i}`]: { status: 'succeeded', attempt: 1, output: cp.output, usage: cp.usage, finishedAt: cp.at } }, updatedAt: cp.at };
    t0 = performance.now();
    const w = await stores.runs.update(state, version);
    t.cas.push(performance.now() - t0);
    if (!w.ok) throw new Error(`run ${runId}: unexpected ${w.reason}`);
    version = w.version;
  }
}

/** The floor: a JetStream publish of a checkpoint-sized message, awaited, one at a time. */
async function measurePublishFloor(nc: NatsConnection, n: number): Promise<number[]> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'FLOOR_PUB', subjects: ['floor.pub'], storage: StorageType.File });
  const js = jetstream(nc);
  const payload = new TextEncoder().encode(JSON.stringify(checkpoint('floor', 's0')));
  for (let i = 0; i < WARMUP_WRITES; i++) await js.publish('floor.pub', payload);
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await js.publish('floor.pub', payload);
    times.push(performance.now() - t0);
  }
  return times;
}

function checkpoint(runId: string, stepId: string): StepCompleted {
  return {
    schemaVersion: SCHEMA_VERSION,
    type: 'step.completed',
    runId,
    stepId,
    attempt: 1,
    calls: 1,
    usage: { inputTokens: 412, outputTokens: 288, totalTokens: 700 },
    costUsd: 0.00042,
    latencyMs: 812.4,
    at: new Date().toISOString(),
    model: { provider: 'default', model: 'gpt-4o-mini' },
    output: { summary: 'x'.repeat(OUTPUT_CHARS), facts: ['a', 'b', 'c'], confidence: 0.82 },
    rung: 'direct',
  };
}

function runState(runId: string): RunState {
  const now = new Date().toISOString();
  return {
    runId,
    status: 'running',
    pipeline: PipelineSpec.parse({
      name: 'bench-checkpoint',
      defaults: { model: 'gpt-4o-mini' },
      steps: Array.from({ length: STEPS_PER_RUN }, (_, i) => ({ id: `s${i}`, prompt: `step ${i}: summarise the findings so far`, ...(i > 0 ? { needs: [`s${i - 1}`] } : {}) })),
    }),
    input: { topic: 'tides', depth: 3 },
    tenant: 'bench',
    steps: Object.fromEntries(Array.from({ length: STEPS_PER_RUN }, (_, i) => [`s${i}`, { status: 'pending', attempt: 0 }])),
    dispatches: 0,
    decisionSeq: 0,
    usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
    costUsd: 0,
    budget: {},
    createdAt: now,
    updatedAt: now,
    deadlineAt: new Date(Date.now() + 3_600_000).toISOString(),
    outbox: [],
  };
}
