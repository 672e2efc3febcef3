import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { APPROVER_API_PORT, OPS_PORT_ENV, opsReadiness, REPO_ROOT, SIM_PRICES, startSimProcess, submitRun, type ServiceName, type SimClient } from '@pipewright/cli';
import { streams, subjects, type RunFinished } from '@pipewright/contracts';
import { startNatsCluster, startProcess, Stack, waitFor, type NatsClusterHandle, type ProcessHandle } from '@pipewright/devstack';
import { isTransient } from '@pipewright/kit';
import type { SimConfig } from '@pipewright/llm-sim';

/**
 * The production topology on one machine: a 3-node nats-server cluster (JetStream, every stream and
 * KV bucket with 3 replicas), the model simulator, and the four services as processes of their own,
 * started as LocalStack starts them but pointed at every node (`NATS_URL` lists all three).
 */

/** Replicas of every stream and bucket the services create: quorum is two of three. */
export const REPLICAS = 3;

export interface ClusterStackOptions {
  /** Executor processes sharing the default pool. @default 2 */
  executors?: number;
  sim?: SimConfig;
  /** Extra environment for every service. */
  env?: Record<string, string>;
}

export class ClusterStack {
  keepLogs = process.env['PW_KEEP_LOGS'] !== undefined;
  private readonly cleanup = new Stack();
  private readonly procs = new Map<string, ProcessHandle>();
  private seq = 0;

  private constructor(
    readonly nats: NatsClusterHandle,
    readonly sim: SimClient,
    readonly logDir: string,
    private readonly env: Record<string, string>,
  ) {}

  static async start(o: ClusterStackOptions = {}): Promise<ClusterStack> {
    const logDir = mkdtempSync(join(tmpdir(), 'pw-cluster-'));
    const nats = await startNatsCluster();
    let stack: ClusterStack | undefined;
    try {
      const { proc: simProc, client: sim } = await startSimProcess({ logFile: join(logDir, 'llm-sim.log') });
      const env = {
        NATS_URL: nats.url,
        OPENAI_BASE_URL: sim.openaiBaseUrl,
        PW_REPLICAS: String(REPLICAS),
        PW_LOG_LEVEL: 'info',
        PW_SHUTDOWN_GRACE_MS: '5000',
        ...o.env,
      };
      stack = new ClusterStack(nats, sim, logDir, env);
      stack.cleanup.add('nats cluster', () => nats.stop());
      stack.cleanup.add('llm-sim', () => simProc.stop(2_000));
      if (o.sim) await sim.setConfig(o.sim);
      const s = stack;
      // The budget and the approver first: the executors reserve before every call.
      await Promise.all([s.startService('budget'), s.startService('approver'), s.startService('planner')]);
      await Promise.all(Array.from({ length: o.executors ?? 2 }, () => s.startService('executor')));
      return stack;
    } catch (err) {
      if (stack) await stack.stop(true);
      else await nats.stop();
      throw err;
    }
  }

  /** Starts one process of a service; resolves when its /readyz answers 200. */
  async startService(name: ServiceName): Promise<ProcessHandle> {
    const id = `${name}-${++this.seq}`;
    const own: Record<string, string> =
      name === 'approver'
        ? { PW_APPROVER_PORT: '0', PW_APPROVER_HOST: '127.0.0.1', PW_APPROVER_TOKENS: `dev:${randomBytes(18).toString('hex')}` }
        : name === 'budget'
          ? { PW_BUDGET_CONFIG_JSON: JSON.stringify({ prices: SIM_PRICES }) }
          : {};
    const proc = await startProcess({
      name: id,
      command: process.execPath,
      args: [`${REPO_ROOT}services/${name}/dist/main.js`],
      inheritEnv: false,
      env: { ...baseEnv(), ...this.env, ...OPS_PORT_ENV, ...own },
      ...opsReadiness(name === 'approver' ? { api: APPROVER_API_PORT } : {}),
      readyTimeoutMs: 90_000, // generous: R3 streams and buckets are created through the meta leader, on a loaded machine
      logFile: join(this.logDir, `${id}.log`),
    });
    this.procs.set(id, proc);
    this.cleanup.add(id, () => proc.stop(8_000));
    return proc;
  }

  /** A client connection to every node that reconnects for ever, as the services' does. */
  async client(): Promise<{ nc: NatsConnection; jsm: JetStreamManager }> {
    const nc = await connect({ servers: this.nats.url.split(','), maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    this.cleanup.add('test client', () => nc.close());
    return { nc, jsm: await jetstreamManager(nc) };
  }

  /** Stops everything; the logs stay when asked (`PW_KEEP_LOGS`, a failed test). */
  async stop(keep = false): Promise<void> {
    try {
      await this.cleanup.stopAll();
    } finally {
      if (keep || this.keepLogs) console.log(`[cluster] logs kept in ${this.logDir}`);
      else rmSync(this.logDir, { recursive: true, force: true });
    }
  }
}

/** The parent's PATH, HOME, TMPDIR and LANG: what a service needs from it and nothing more. */
function baseEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ['PATH', 'HOME', 'TMPDIR', 'LANG']) {
    const v = process.env[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/**
 * Submits a run, again while the cluster cannot take it (no stream leader during an election: no
 * responders, timeouts), as a client of a cluster should. The message id is the run's, so a submit
 * that was stored but whose ack was lost is stored once.
 */
export async function submitWithRetry(js: JetStreamClient, pipeline: unknown, input: Record<string, unknown>, runId: string): Promise<number> {
  let attempts = 0;
  let failure: unknown;
  const taken = await waitFor(`the cluster to take run ${runId}`, async () => {
    attempts += 1;
    try {
      await submitRun(js, pipeline, input, { runId });
      return true;
    } catch (err) {
      if (isTransient(err)) return undefined;
      failure = err;
      return false;
    }
  }, { timeoutMs: 60_000, intervalMs: 200 });
  if (!taken) throw new Error(`submit of ${runId} failed for good`, { cause: failure });
  return attempts;
}

/** The `run.finished` event of each run that has one (read from a replica: direct get). */
export async function finishedRuns(jsm: JetStreamManager, runIds: readonly string[]): Promise<RunFinished[]> {
  const all = await Promise.all(runIds.map((id) => jsm.direct.getMessage(streams.events.name, { last_by_subj: subjects.runEvent(id, 'run.finished') })));
  return all.flatMap((m) => (m === null ? [] : [m.json<RunFinished>()]));
}
