import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { OPS_PORT_ENV, opsReadiness, REPO_ROOT } from '@pipewright/cli';
import { BudgetCommitReply, BudgetReserveReply, SCHEMA_VERSION, subjects } from '@pipewright/contracts';
import { ferretDbAvailable, Stack, startFerretDb, startNatsServer, startProcess } from '@pipewright/devstack';
import { serviceLoopDelay } from './lib/loop-delay.js';
import { percentile, round } from './lib/stats.js';

/** Reservations per run: a new run every so often, as steps of real runs would. */
const CALLS_PER_RUN = 20;
const WARMUP = 200;
/** How long each concurrency level runs when measuring throughput. */
const THROUGHPUT_MS = 4_000;
const CONCURRENCY_LEVELS = { kv: [16, 64, 256], mongo: [16, 64] } as const;
const CONNECTIONS = 4;
/** FerretDB (SQLite) is a test stand-in and far slower; fewer serial round trips keep the run short. */
const MONGO_MAX_STEPS = 300;
const PRICES = { 'bench-model': { input: 0.15, output: 0.6 } };
const model = { provider: 'default', model: 'bench-model' };

/**
 * The budget service's cost per model call: reserve + commit, serial (p50/p99) against one replica,
 * and reservations per second (reserve + commit, many in flight) against two replicas. The raw NATS
 * request-reply floor (an echo responder) and a KV compare-and-set are measured on the same server in
 * the same run. Runs on NATS KV, and on MongoDB (FerretDB) when it is installed.
 */
export async function budgetBench(args: { steps: number }): Promise<Record<string, unknown>> {
  const kv = await measure('kv', args.steps);
  const mongo = ferretDbAvailable() ? await measure('mongo', Math.min(args.steps, MONGO_MAX_STEPS)) : { skipped: 'no ferretdb binary' };
  return { name: 'budget', ...kv, mongo };
}

async function measure(store: 'kv' | 'mongo', steps: number): Promise<Record<string, unknown>> {
  const stack = new Stack();
  try {
    const nats = await startNatsServer();
    stack.add('nats-server', () => nats.stop());
    const env: Record<string, string> = { PW_STORE: store, PW_BUDGET_CONFIG_JSON: JSON.stringify({ prices: PRICES }) };
    if (store === 'mongo') {
      const ferret = await startFerretDb();
      stack.add('ferretdb', () => ferret.stop());
      Object.assign(env, { MONGODB_URL: ferret.url, PW_MONGODB_DB: 'pw_budget_bench' });
    }
    const opsPorts = [await startReplica(stack, nats.url, env)];
    const conns = await Promise.all(Array.from({ length: CONNECTIONS }, () => connect({ servers: nats.url })));
    stack.add('clients', async () => void (await Promise.all(conns.map((c) => c.close()))));
    const nc = conns[0]!;

    let seq = 0;
    const cycle = async (c: NatsConnection, tag: string) => {
      const n = seq++;
      await reserveAndCommit(c, `${store}-${tag}-${Math.floor(n / CALLS_PER_RUN)}`, n);
    };
    for (let i = 0; i < Math.min(WARMUP, steps); i++) await cycle(nc, 'warm');
    const times: number[] = [];
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      await cycle(nc, 'serial');
      times.push(performance.now() - t0);
    }
    opsPorts.push(await startReplica(stack, nats.url, env));
    const levels: Record<string, number> = {};
    let errors = 0;
    for (const level of CONCURRENCY_LEVELS[store]) {
      const t = await throughput(conns, level, (c) => cycle(c, `c${level}`));
      levels[level] = round(t.perSec, 1);
      errors += t.errors;
    }
    const floor = await requestFloor(nats.url, Math.max(500, steps));
    const kvCas = await kvCasFloor(nc, Math.max(500, steps));
    const p50 = percentile(times, 50);
    return {
      store,
      p50Ms: round(p50),
      p99Ms: round(percentile(times, 99)),
      maxPerSec: Math.max(...Object.values(levels)),
      perSecByConcurrency: levels,
      /** Cycles that got an error reply (e.g. `unavailable` after too many write conflicts) while measuring throughput. */
      throughputErrors: errors,
      floorP50Ms: round(floor.p50Ms),
      floorP99Ms: round(floor.p99Ms),
      /** Two request-replies back to back: the least a reserve + commit can take. */
      floorPairP50Ms: round(floor.pairP50Ms),
      kvCasP50Ms: round(kvCas),
      ratioToPairFloorP50: round(p50 / floor.pairP50Ms, 2),
      steps,
      callsPerRun: CALLS_PER_RUN,
      replicas: { latency: 1, throughput: 2 },
      serviceLoopDelay: Object.fromEntries(await Promise.all(opsPorts.map(async (port, i) => [`budget-${i + 1}`, await serviceLoopDelay(port)] as const))),
    };
  } finally {
    await stack.stopAll();
  }
}

/** Starts one budget service process; returns its ops port (/metrics), which it bound itself. */
async function startReplica(stack: Stack, natsUrl: string, env: Record<string, string>): Promise<number> {
  const proc = await startProcess({
    name: 'budget',
    command: process.execPath,
    args: [`${REPO_ROOT}services/budget/dist/main.js`],
    inheritEnv: false,
    env: { PATH: process.env['PATH'] ?? '', NATS_URL: natsUrl, ...OPS_PORT_ENV, PW_LOG_LEVEL: 'warn', ...env },
    ...opsReadiness(),
    readyTimeoutMs: 20_000,
  });
  stack.add('budget', () => proc.stop(5_000));
  return proc.port('ops');
}

async function reserveAndCommit(nc: NatsConnection, runId: string, n: number): Promise<void> {
  const reservationId = `${runId}:s:1:${n}`;
  const base = { schemaVersion: SCHEMA_VERSION, reservationId, runId, tenant: 'bench', pipeline: 'bench', model };
  const r = BudgetReserveReply.parse((await nc.request(subjects.budget.reserve, JSON.stringify({ ...base, stepId: 's', estimatedInputTokens: 500, maxOutputTokens: 200, leaseMs: 60_000 }), { timeout: 30_000 })).json());
  if (r.outcome !== 'granted') throw new Error(`reservation not granted: ${JSON.stringify(r)}`);
  const c = BudgetCommitReply.parse((await nc.request(subjects.budget.commit, JSON.stringify({ ...base, usage: { inputTokens: 480, outputTokens: 150, totalTokens: 630 } }), { timeout: 30_000 })).json());
  if (c.outcome !== 'committed') throw new Error(`commit failed: ${JSON.stringify(c)}`);
}

/** Completed reserve + commit cycles per second with `inFlight` loops spread over the connections. */
async function throughput(conns: NatsConnection[], inFlight: number, cycle: (c: NatsConnection) => Promise<void>): Promise<{ perSec: number; errors: number }> {
  let done = 0;
  let errors = 0;
  const until = performance.now() + THROUGHPUT_MS;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async (_, i) => {
      while (performance.now() < until) {
        try {
          await cycle(conns[i % conns.length]!);
          done += 1;
        } catch {
          errors += 1;
        }
      }
    }),
  );
  return { perSec: (done / (performance.now() - started)) * 1000, errors };
}

/** Raw request-reply: an echo responder on its own connection, one request in flight. */
async function requestFloor(url: string, n: number): Promise<{ p50Ms: number; p99Ms: number; pairP50Ms: number }> {
  const client = await connect({ servers: url });
  const responder = await connect({ servers: url });
  responder.subscribe('floor.echo', { callback: (_err, msg) => void msg.respond(msg.data) });
  await responder.flush();
  const payload = JSON.stringify({ schemaVersion: 1, reservationId: 'r:s:1:1', pad: 'x'.repeat(250) });
  const single: number[] = [];
  const pair: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await client.request('floor.echo', payload, { timeout: 5_000 });
    const t1 = performance.now();
    await client.request('floor.echo', payload, { timeout: 5_000 });
    single.push(t1 - t0);
    pair.push(performance.now() - t0);
  }
  await client.close();
  await responder.close();
  return { p50Ms: percentile(single, 50), p99Ms: percentile(single, 99), pairP50Ms: percentile(pair, 50) };
}

/**
 * A compare-and-set write as KV does it (a JetStream publish that expects the subject's last sequence),
 * one at a time: the store primitive under every ledger write.
 */
async function kvCasFloor(nc: NatsConnection, n: number): Promise<number> {
  await (await jetstreamManager(nc)).streams.add({ name: 'BENCH_CAS', subjects: ['bench.cas'], max_msgs_per_subject: 1 });
  const js = jetstream(nc);
  let seq = (await js.publish('bench.cas', '0')).seq;
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    seq = (await js.publish('bench.cas', String(i), { expect: { lastSubjectSequence: seq } })).seq;
    times.push(performance.now() - t0);
  }
  return percentile(times, 50);
}
