import { randomBytes } from 'node:crypto';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import { LocalStack } from '@pipewright/cli';
import { streams } from '@pipewright/contracts';
import { startFerretDb, type FerretHandle, type ProcessHandle } from '@pipewright/devstack';
import { openKvStores, openMongoStores, type Stores } from '@pipewright/kit';
import { startSimulator, type SimulatorHandle } from '@pipewright/llm-sim';

export type StoreKind = 'kv' | 'mongo';

/** Simulated model latency: every call waits 50–150 ms, so many steps are mid-call at any instant. */
export const MODEL_LATENCY = { minMs: 50, maxMs: 150 } as const;

/**
 * A six-step pipeline with fan-out (a → b, c → d → e, f), so a run has up to two steps in flight.
 * No faults: every delivery makes exactly one model call, so a repeated call can only come from a
 * redelivery.
 */
export const CHAOS_PIPELINE = {
  name: 'chaos',
  defaults: { model: 'sim-small', maxOutputTokens: 16, timeoutMs: 10_000 },
  steps: [
    { id: 'a', prompt: 'Outline {{input.topic}}' },
    { id: 'b', needs: ['a'], prompt: 'Expand part one of {{input.topic}}' },
    { id: 'c', needs: ['a'], prompt: 'Expand part two of {{input.topic}}' },
    { id: 'd', needs: ['b', 'c'], prompt: 'Merge {{input.topic}}' },
    { id: 'e', needs: ['d'], prompt: 'Summarise {{input.topic}}' },
    { id: 'f', needs: ['d'], prompt: 'Title {{input.topic}}' },
  ],
};
export const STEP_IDS = CHAOS_PIPELINE.steps.map((s) => s.id);

/**
 * AckWait of the planner's consumers: after a planner is killed, the events it had pulled wait this
 * long before another planner gets them (5 s by default). Executors run with their defaults: a killed
 * executor's tasks are handed back by its peers' rescuers, not by AckWait (15 s).
 */
export const CHAOS_ENV: Record<string, string> = { PW_PLANNER_ACK_WAIT_MS: '3000' };

/** One executor process with a simulator of its own, so every model call is attributed to its process. */
export interface Executor {
  proc: ProcessHandle;
  sim: SimulatorHandle;
}

export interface ChaosStackOptions {
  store: StoreKind;
  logDir: string;
  /** Extra environment for every service. */
  env?: Record<string, string>;
  /** Planner replicas. @default 1 */
  planners?: number;
  /** Run the budget service (its ledger on NATS KV) and meter every model call. @default false */
  budget?: boolean;
}

/**
 * The services as real processes on a real nats-server (JetStream file storage in a temporary folder):
 * planners and two executors, each executor with its own in-process model simulator, and the budget
 * service when asked. `PW_STORE` picks NATS KV or the MongoDB store (on FerretDB, started here).
 */
export class ChaosStack {
  readonly executors: Executor[] = [];
  /** Every simulator ever started (killed executors' included): the total of all model calls. */
  readonly sims: SimulatorHandle[] = [];
  readonly planners: ProcessHandle[] = [];

  /** The first planner (tests with one planner). */
  get planner(): ProcessHandle {
    return this.planners[0]!;
  }

  private constructor(
    readonly stack: LocalStack,
    private readonly ferret: FerretHandle | undefined,
    private readonly mongo: { url: string; db: string } | undefined,
  ) {}

  static async start(o: ChaosStackOptions): Promise<ChaosStack> {
    const ferret = o.store === 'mongo' ? await startFerretDb() : undefined;
    const mongo = ferret ? { url: ferret.url, db: `pw_chaos_${randomBytes(4).toString('hex')}` } : undefined;
    const env: Record<string, string> = {
      PW_STORE: o.store,
      ...(mongo ? { MONGODB_URL: mongo.url, PW_MONGODB_DB: mongo.db } : {}),
      PW_EXECUTOR_BUDGET: o.budget ? 'enforce' : 'off',
      ...o.env,
    };
    let stack: LocalStack | undefined;
    try {
      stack = await LocalStack.start({ services: [], logDir: o.logDir, env });
      const chaos = new ChaosStack(stack, ferret, mongo);
      // The ledger stays on NATS KV whatever the checkpoint store: the chaos is about the core.
      if (o.budget) await stack.startService('budget', { PW_STORE: 'kv' });
      for (let i = 0; i < (o.planners ?? 1); i++) chaos.planners.push(await stack.startService('planner'));
      await Promise.all([chaos.startExecutor(), chaos.startExecutor()]);
      return chaos;
    } catch (err) {
      await stack?.stop();
      await ferret?.stop();
      throw err;
    }
  }

  /** Kills one planner and starts a new one in its place (resolves when it is ready). */
  async replacePlanner(victim: ProcessHandle): Promise<void> {
    this.planners.splice(this.planners.indexOf(victim), 1);
    await victim.kill();
    this.planners.push(await this.stack.startService('planner'));
  }

  get natsUrl(): string {
    return this.stack.natsUrl;
  }

  /** A test's connection: the stack's admin identity. */
  natsOptions(): NodeConnectionOptions {
    return this.stack.natsOptions();
  }

  async startExecutor(): Promise<Executor> {
    const sim = await startSimulator({ config: { seed: 7, latency: MODEL_LATENCY } });
    this.sims.push(sim);
    const proc = await this.stack.startService('executor', { OPENAI_BASE_URL: sim.url });
    const e = { proc, sim };
    this.executors.push(e);
    return e;
  }

  /** Opens the stack's store from the test (its own connection for KV). */
  async openStores(): Promise<{ stores: Stores; close: () => Promise<void> }> {
    if (this.mongo) {
      const stores = await openMongoStores(this.mongo.url, this.mongo.db);
      return { stores, close: () => stores.close() };
    }
    const nc = await connect({ ...this.stack.natsOptions(), maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    return { stores: await openKvStores(nc), close: () => nc.drain() };
  }

  /** Model calls per Idempotency-Key (`<runId>:<stepId>`) over every simulator, with their attempt headers. */
  calls(): Map<string, { calls: number; attempts: number[] }> {
    const out = new Map<string, { calls: number; attempts: number[] }>();
    for (const sim of this.sims) {
      for (const [key, c] of Object.entries(sim.counters().byKey)) {
        const e = out.get(key) ?? { calls: 0, attempts: [] };
        e.calls += c.calls;
        e.attempts.push(...c.attempts);
        out.set(key, e);
      }
    }
    return out;
  }

  async stop(): Promise<void> {
    try {
      await this.stack.stop();
    } finally {
      await Promise.allSettled(this.sims.map((s) => s.close()));
      await this.ferret?.stop();
    }
  }
}

/** Messages in the dead-letter stream: anything refused or out of deliveries. */
export async function dlqCount(nc: NatsConnection): Promise<number> {
  const jsm = await jetstreamManager(nc);
  try {
    return (await jsm.streams.info(streams.dlq.name)).state.messages;
  } catch {
    return 0; // never created: nothing was dead-lettered
  }
}

/**
 * The subjects of a run's events in the stream, oldest first (`<seq> <subject>`): what a test prints
 * for a run that did not finish, so the failure says where the run stopped.
 */
export async function runTrail(nc: NatsConnection, runId: string, limit = 60): Promise<string[]> {
  const js = jetstream(nc);
  const consumer = await js.consumers.get(streams.events.name, { filter_subjects: [`pw.events.${runId}.>`] });
  const out: string[] = [];
  const iter = await consumer.fetch({ max_messages: 1_000, expires: 2_000 });
  for await (const m of iter) {
    out.push(`${m.seq} ${m.subject}`);
    if (m.info.pending === 0) break;
  }
  return out.slice(-limit);
}
