import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { AckPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { LocalStack, submitRun, type ServiceName } from '@pipewright/cli';
import { startFerretDb, type FerretHandle } from '@pipewright/devstack';
import { stackLoopDelays } from './lib/loop-delay.js';
import { vmRssKb } from './lib/rss.js';
import { perStep as countsPerStep, serverStats } from './lib/server-stats.js';
import { round } from './lib/stats.js';

export interface BenchTarget {
  profile: 'default' | 'strict';
  store: 'kv' | 'mongo';
}

export function parseBenchTarget(args: { profile?: string; store?: string }): BenchTarget {
  if (args.profile !== undefined && args.profile !== 'default' && args.profile !== 'strict') throw new Error(`--profile must be default or strict, not ${args.profile}`);
  if (args.store !== undefined && args.store !== 'kv' && args.store !== 'mongo') throw new Error(`--store must be kv or mongo, not ${args.store}`);
  return { profile: args.profile === 'strict' ? 'strict' : 'default', store: args.store === 'mongo' ? 'mongo' : 'kv' };
}

/**
 * A local stack for a durability profile and store: `strict` runs nats-server with
 * `sync_interval: always` and the services with `PW_DURABILITY=strict` (MongoDB journaled writes);
 * `mongo` starts FerretDB and points `PW_STORE=mongo` at it.
 */
export async function startProfiledStack(t: BenchTarget, services: readonly ServiceName[]): Promise<{ stack: LocalStack; stop: () => Promise<void> }> {
  const ferret: FerretHandle | undefined = t.store === 'mongo' ? await startFerretDb() : undefined;
  try {
    const env: Record<string, string> = { PW_LOG_LEVEL: 'warn', PW_DURABILITY: t.profile, PW_STORE: t.store, ...(ferret ? { MONGODB_URL: ferret.url, PW_MONGODB_DB: 'bench' } : {}) };
    const stack = await LocalStack.start({ services, env, syncAlways: t.profile === 'strict', nodeArgs: serviceNodeArgs() });
    return { stack, stop: async () => (await stack.stop(), await ferret?.stop()) };
  } catch (err) {
    await ferret?.stop();
    throw err;
  }
}

/**
 * Extra node flags for the services: `PW_BENCH_NODE_ARGS` (e.g. `--max-old-space-size=96`, a heap cap
 * like the one a container memory limit gives), plus a CPU profile per service with
 * `PW_BENCH_PROFILE_DIR`.
 */
export function serviceNodeArgs(): string[] {
  const args = (process.env['PW_BENCH_NODE_ARGS'] ?? '').split(' ').filter((a) => a.length > 0);
  const profDir = process.env['PW_BENCH_PROFILE_DIR'];
  return profDir ? [...args, '--cpu-prof', `--cpu-prof-dir=${profDir}`] : args;
}

const STEPS_PER_RUN = 5;
/** Runs kept in flight (`PW_BENCH_IN_FLIGHT`): a finished run is replaced by a new one at once. */
const IN_FLIGHT = Number(process.env['PW_BENCH_IN_FLIGHT'] ?? 200);
/** Runs through the same window before measuring: JIT, connections, caches at their steady size. */
const WARMUP_RUNS = 400;
/** Round trips in flight while measuring the floor: enough to saturate one client and one worker. */
const FLOOR_WINDOW = 256;
const RSS_SAMPLE_MS = 100;

/**
 * End-to-end step throughput with checkpoints on: `steps / 5` runs of a five-step chain submitted at
 * once against a 0-ms simulated model (planner and one executor by default, `PW_BENCH_EXECUTORS`), from
 * the first submit to the last `run.finished`. Each step is a command, a model call, a checkpoint, a
 * result, and the planner's compare-and-set. The floor is the saturated raw JetStream round trip
 * (command → worker → result, both work-queue streams on file storage, `FLOOR_WINDOW` in flight) on the
 * same server in the same run. `peakRssMb`: the highest VmRSS of any service process, sampled every
 * 100 ms.
 */
export async function durableThroughput(args: { steps: number; profile: string; store?: string }): Promise<Record<string, unknown>> {
  const target = parseBenchTarget(args);
  const executors = Number(process.env['PW_BENCH_EXECUTORS'] ?? 1);
  const runs = Math.max(1, Math.ceil(args.steps / STEPS_PER_RUN));
  const { stack, stop } = await startProfiledStack(target, ['planner']);
  try {
    await Promise.all(Array.from({ length: executors }, () => stack.startService('executor')));
    const nc = await connect(stack.natsOptions());
    const pipeline = {
      name: 'throughput',
      defaults: { model: 'sim-small', maxOutputTokens: 16 },
      steps: Array.from({ length: STEPS_PER_RUN }, (_, i) => ({ id: `s${i}`, prompt: `step ${i} of {{input.n}}`, ...(i > 0 ? { needs: [`s${i - 1}`] } : {}) })),
    };
    await runWindow(nc, pipeline, WARMUP_RUNS, Math.min(IN_FLIGHT, WARMUP_RUNS), 'warm');
    const rss = sampleRss(stack);
    const [cpu0, msgs0, stats0] = [cpuMsByService(stack), await serverMsgs(stack), await serverStats(stack.nats.monitorPort)];
    const started = performance.now();
    await runWindow(nc, pipeline, runs, Math.min(IN_FLIGHT, runs), 'run');
    const elapsedMs = performance.now() - started;
    const [cpu1, msgs1, stats1] = [cpuMsByService(stack), await serverMsgs(stack), await serverStats(stack.nats.monitorPort)];
    const peaks = rss.stop();
    const steps = runs * STEPS_PER_RUN;
    const perStep = (a: number, b: number) => round((b - a) / steps, 2);
    const floorPerSec = await measureSaturatedFloor(nc, Math.max(2_000, runs * STEPS_PER_RUN));
    await nc.drain();
    const stepsPerSec = (steps * 1000) / elapsedMs;
    return {
      name: 'durable-throughput',
      stepsPerSec: round(stepsPerSec, 1),
      floorPerSec: round(floorPerSec, 1),
      ratio: round(stepsPerSec / floorPerSec, 3),
      steps,
      runsInFlight: Math.min(IN_FLIGHT, runs),
      // Where the work goes: CPU time of each service and messages through nats-server, per step.
      cpuMsPerStep: Object.fromEntries(Object.keys(cpu1).map((k) => [k, perStep(cpu0[k] ?? 0, cpu1[k] ?? 0)])),
      cpuMsPerStepAll: perStep(Object.values(cpu0).reduce((a, b) => a + b, 0), Object.values(cpu1).reduce((a, b) => a + b, 0)),
      // messages stored per step, by stream (KV buckets are streams too): counted by the server
      writesPerStep: countsPerStep(stats0, stats1, steps),
      serverMsgsInPerStep: perStep(msgs0.in, msgs1.in),
      serverMsgsOutPerStep: perStep(msgs0.out, msgs1.out),
      executors,
      nodeArgs: serviceNodeArgs().join(' '),
      peakRssMb: round(Math.max(...Object.values(peaks)), 1),
      rssMbByService: peaks,
      store: target.store,
      profile: target.profile,
      loadAvg1m: round(loadavg()[0] ?? 0, 2),
      serviceLoopDelay: await stackLoopDelays(stack),
    };
  } finally {
    await stop();
  }
}

/**
 * Runs `n` runs with `window` of them in flight: `window` submitted at once, then one more for every
 * `run.finished`, until `n` have finished (bounded wait). Any run that does not succeed fails the bench.
 */
async function runWindow(nc: NatsConnection, pipeline: unknown, n: number, window: number, prefix: string): Promise<void> {
  const tag = `${prefix}-${Date.now()}`;
  const js = jetstream(nc);
  let submitted = 0;
  let left = n;
  let failed = 0;
  let submitError: Error | undefined;
  const submitNext = () => {
    const i = submitted++;
    submitRun(js, pipeline, { n: i }, { runId: `${tag}-${i}` }).catch((err: unknown) => (submitError ??= err instanceof Error ? err : new Error(String(err))));
  };
  const done = new Promise<void>((resolve) => {
    nc.subscribe('pw.events.*.run.finished', {
      callback: (_e, m) => {
        const end = m.json<{ runId: string; status: string }>();
        if (!end.runId.startsWith(`${tag}-`)) return;
        if (end.status !== 'succeeded') failed++;
        if (submitted < n) submitNext();
        if (--left === 0) resolve();
      },
    });
  });
  await nc.flush();
  for (let i = 0; i < window; i++) submitNext();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_r, reject) => (timer = setTimeout(() => reject(new Error(`${left} of ${n} runs unfinished after 600 s`)), 600_000)));
  await Promise.race([done, timeout]).finally(() => clearTimeout(timer));
  if (submitError !== undefined) throw submitError;
  if (failed > 0) throw new Error(`${failed} of ${n} runs did not succeed`);
}

/** Samples VmRSS of every service process; `stop()` gives the peak per service, in MB. */
function sampleRss(stack: LocalStack): { stop: () => Record<string, number> } {
  const peaks: Record<string, number> = {};
  const sample = () => {
    for (const name of SERVICES) {
      for (const p of stack.processes(name)) {
        const kb = vmRssKb(p.pid);
        if (kb !== undefined) peaks[name] = Math.max(peaks[name] ?? 0, round(kb / 1024, 1));
      }
    }
  };
  sample();
  const timer = setInterval(sample, RSS_SAMPLE_MS);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      return peaks;
    },
  };
}

const SERVICES = ['planner', 'executor', 'budget', 'approver'] as const;
/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/** CPU time (user + system) used so far by each process of the stack, nats-server and the simulator included, in ms. */
export function cpuMsByService(stack: LocalStack): Record<string, number> {
  const out: Record<string, number> = {};
  const add = (name: string, pid: number) => {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      out[name] = (out[name] ?? 0) + ((Number(fields[11]) + Number(fields[12])) * 1000) / USER_HZ;
    } catch {
      // gone
    }
  };
  for (const name of SERVICES) for (const p of stack.processes(name)) add(name, p.pid);
  add('nats-server', stack.nats.pid);
  add('llm-sim', stack.simPid);
  return out;
}

/** Messages into and out of nats-server so far (its /varz). */
async function serverMsgs(stack: LocalStack): Promise<{ in: number; out: number }> {
  const varz = (await (await fetch(`http://127.0.0.1:${stack.nats.monitorPort}/varz`)).json()) as { in_msgs: number; out_msgs: number };
  return { in: varz.in_msgs, out: varz.out_msgs };
}


/**
 * Saturated raw JetStream round trips per second: a client publishes commands to a work-queue stream
 * with up to FLOOR_WINDOW in flight; a worker (its own connection) publishes a result to a second
 * work-queue stream and acks; the client consumes and acks the results.
 */
async function measureSaturatedFloor(nc: NatsConnection, n: number): Promise<number> {
  const server = nc.getServer();
  const a = await connect({ servers: server });
  const b = await connect({ servers: server });
  const jsm = await jetstreamManager(a);
  for (const [name, subj] of [['TFLOOR_CMD', 'tfloor.cmd'], ['TFLOOR_RES', 'tfloor.res']] as const) await jsm.streams.add({ name, subjects: [subj], retention: RetentionPolicy.Workqueue, storage: StorageType.File });
  await jsm.consumers.add('TFLOOR_CMD', { durable_name: 'worker', ack_policy: AckPolicy.Explicit });
  await jsm.consumers.add('TFLOOR_RES', { durable_name: 'client', ack_policy: AckPolicy.Explicit });
  const jsA = jetstream(a);
  const jsB = jetstream(b);
  const worker = await (await jsB.consumers.get('TFLOOR_CMD', 'worker')).consume({ max_messages: FLOOR_WINDOW });
  void (async () => {
    for await (const m of worker) {
      void jsB.publish('tfloor.res', m.data, { msgID: `res-${m.seq}` }).then(() => m.ack());
    }
  })();
  const results = await (await jsA.consumers.get('TFLOOR_RES', 'client')).consume({ max_messages: FLOOR_WINDOW });
  let received = 0;
  let wake: (() => void) | undefined;
  const allIn = new Promise<void>((resolve) => {
    void (async () => {
      for await (const r of results) {
        r.ack();
        received++;
        wake?.();
        if (received === n) return resolve();
      }
    })();
  });
  const payload = new TextEncoder().encode(JSON.stringify({ runId: 'r', stepId: 's', attempt: 1, pad: 'x'.repeat(400) }));
  const started = performance.now();
  const pubs: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) {
    while (i - received >= FLOOR_WINDOW) await new Promise<void>((r) => (wake = r));
    pubs.push(jsA.publish('tfloor.cmd', payload, { msgID: `cmd-${i}` }));
  }
  await Promise.all(pubs);
  await allIn;
  const perSec = (n * 1000) / (performance.now() - started);
  worker.stop();
  results.stop();
  await Promise.all([jsm.streams.delete('TFLOOR_CMD'), jsm.streams.delete('TFLOOR_RES')]);
  await a.drain();
  await b.drain();
  return perSec;
}
