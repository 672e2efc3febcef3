import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { NodeConnectionOptions } from '@nats-io/transport-node';
import { startNatsServer, startProcess, Stack, type NatsServerHandle, type ProcessHandle } from '@pipewright/devstack';
import type { BusRole } from '@pipewright/kit';
import type { SimConfig } from '@pipewright/llm-sim';
import { inheritedEnv } from '../config.js';
import { createTopology, DevBusAuth } from './bus-auth.js';
import { REPO_ROOT } from './repo-root.js';
import { APPROVER_API_PORT, CONSOLE_API_PORT, OPS_PORT_ENV, opsReadiness } from './service-ports.js';
import type { SimClient } from './sim-client.js';
import { startSimProcess } from './sim-process.js';

export { REPO_ROOT };

export type ServiceName = 'planner' | 'executor' | 'budget' | 'approver' | 'console';
export const ALL_SERVICES: readonly ServiceName[] = ['planner', 'executor', 'budget', 'approver', 'console'];

export interface LocalStackOptions {
  /** Services to start, one process each (executor: `executors` processes). @default all five */
  services?: readonly ServiceName[];
  /** Executor replicas sharing the default pool. @default 1 */
  executors?: number;
  /** Initial simulator configuration (faults, latency, scripts). */
  sim?: SimConfig;
  /** Extra environment for every service. */
  env?: Readonly<Record<string, string>>;
  /** Print every service log line, prefixed with its name. */
  echo?: boolean;
  /** Append service logs to files in this folder. */
  logDir?: string;
  /** Extra flags for every service's node process (e.g. `--cpu-prof` for profiling). */
  nodeArgs?: readonly string[];
  /** Start nats-server with `sync_interval: always` (the strict durability profile). */
  syncAlways?: boolean;
  /**
   * Per-role bus identities and permissions, as in production (bus-auth.ts). `false` runs the bus
   * without authentication (a benchmark's comparison, or a test of a service on an open bus). @default true
   */
  auth?: boolean;
}

/**
 * USD per million tokens for the simulator's models in a local stack, shaped like real price lists
 * (sim-small like gpt-4o-mini, sim-large like gpt-4o); every other model is priced by `*`.
 */
export const SIM_PRICES = {
  'sim-small': { input: 0.15, cachedInput: 0.075, output: 0.6 },
  'sim-large': { input: 2.5, cachedInput: 1.25, output: 10 },
  '*': { input: 1, output: 4 },
} as const;

/**
 * The whole local stack as separate processes: nats-server (JetStream, temp storage), the model
 * simulator, and the services. Used by the demo, the end-to-end tests and the benchmarks. Every
 * listener binds a port of its own choosing (port 0) and reports it, so stacks run side by side.
 */
export class LocalStack {
  private readonly cleanup = new Stack();
  private readonly procs = new Map<string, ProcessHandle>();
  /** Port of the (last started) approver's API and web inbox. */
  approverPort: number | undefined;
  /**
   * The API and inbox token the stack gave its approver (`dev:<token>`) when the caller configured
   * none, so that a local stack's approvals can be decided at once; undefined otherwise.
   */
  readonly approverToken: string | undefined;
  /** Port of the (last started) console's runs API. */
  consolePort: number | undefined;
  /**
   * Tokens the stack gave its console when the caller configured none: `dev` may operate runs,
   * `dev-read` only read them.
   */
  readonly consoleToken: string | undefined;
  readonly consoleReadToken: string | undefined;
  /** Ops server port (/healthz, /readyz, /metrics) of each process. */
  readonly opsPorts = new Map<string, number>();
  private seq = 0;

  private constructor(
    readonly nats: NatsServerHandle,
    readonly sim: SimClient,
    private readonly opts: LocalStackOptions,
    /** The simulator's process id (a benchmark reads its CPU time from /proc). */
    readonly simPid: number,
    /** The bus identities; undefined when the stack runs without authentication. */
    readonly auth: DevBusAuth | undefined,
  ) {
    const configured = opts.env?.['PW_APPROVER_TOKENS'] !== undefined || opts.env?.['PW_APPROVER_TOKENS_FILE'] !== undefined;
    this.approverToken = configured ? undefined : randomBytes(18).toString('hex');
    const consoleConfigured = opts.env?.['PW_CONSOLE_TOKENS'] !== undefined || opts.env?.['PW_CONSOLE_TOKENS_FILE'] !== undefined;
    this.consoleToken = consoleConfigured ? undefined : randomBytes(18).toString('hex');
    this.consoleReadToken = consoleConfigured ? undefined : randomBytes(18).toString('hex');
  }

  /** The console's runs API base URL (`…/api/v1`), once a console runs. */
  get consoleUrl(): string | undefined {
    return this.consolePort === undefined ? undefined : `http://127.0.0.1:${this.consolePort}/api/v1`;
  }

  static async start(opts: LocalStackOptions = {}): Promise<LocalStack> {
    if (opts.logDir) mkdirSync(opts.logDir, { recursive: true });
    const auth = opts.auth === false ? undefined : await DevBusAuth.create();
    let nats: NatsServerHandle;
    try {
      nats = await startNatsServer({ ...(opts.syncAlways ? { syncAlways: true } : {}), ...(auth ? { extraConfig: auth.serverConfig() } : {}) });
    } catch (err) {
      await auth?.remove();
      throw err;
    }
    let stack: LocalStack | undefined;
    try {
      const { proc: simProc, client: sim } = await startSimProcess({
        ...(opts.echo ? { echo: true } : {}),
        ...(opts.logDir ? { logFile: `${opts.logDir}/llm-sim.log` } : {}),
      });
      // The streams exist before any service starts, as a deployment's set-up would make them: services
      // other than the planner may not create them (PW_TOPOLOGY=verify), and a stack may have no planner.
      if (auth) await createTopology(auth.connectionOptions(nats.url, 'admin'), opts.env ?? {});
      stack = new LocalStack(nats, sim, opts, simProc.pid, auth);
      if (auth) stack.cleanup.add('bus keys', () => auth.remove());
      stack.cleanup.add('nats-server', () => nats.stop());
      stack.cleanup.add('llm-sim', () => simProc.stop(2_000));
      if (opts.sim) await sim.setConfig(opts.sim);
      const services = opts.services ?? ALL_SERVICES;
      await Promise.all(
        services.flatMap((name) =>
          name === 'executor' ? Array.from({ length: opts.executors ?? 1 }, () => stack!.startService('executor')) : [stack!.startService(name)],
        ),
      );
      return stack;
    } catch (err) {
      if (stack) await stack.stop();
      else await nats.stop().finally(() => auth?.remove());
      throw err;
    }
  }

  get natsUrl(): string {
    return this.nats.url;
  }

  /** How a test or a client connects as `role` (admin: everything, for tests and operators). */
  natsOptions(role: BusRole = 'admin'): NodeConnectionOptions {
    return this.auth ? this.auth.connectionOptions(this.nats.url, role) : { servers: this.nats.url };
  }

  /** Environment of a CLI process acting as `role`: NATS_URL and, with auth, NATS_NKEY_SEED_FILE. */
  clientEnv(role: BusRole = 'client'): Record<string, string> {
    return { NATS_URL: this.nats.url, ...(this.auth ? { NATS_NKEY_SEED_FILE: this.auth.seedFile(role) } : {}) };
  }

  /** Environment a service (or a client) needs to reach this stack. */
  serviceEnv(extra: Readonly<Record<string, string>> = {}): Record<string, string> {
    return {
      NATS_URL: this.nats.url,
      OPENAI_BASE_URL: this.sim.openaiBaseUrl,
      PW_LOG_LEVEL: 'info',
      PW_SHUTDOWN_GRACE_MS: '5000',
      ...this.opts.env,
      ...extra,
    };
  }

  /**
   * Starts one more process of a service; resolves when its /readyz answers 200. Its ops server (and
   * the approver's API) bind ports of their own choosing, read from the lines that report them.
   */
  async startService(name: ServiceName, extraEnv: Readonly<Record<string, string>> = {}): Promise<ProcessHandle> {
    const id = `${name}-${++this.seq}`;
    const approverEnv: Record<string, string> =
      name === 'approver' ? { PW_APPROVER_PORT: '0', PW_APPROVER_HOST: '127.0.0.1', ...(this.approverToken ? { PW_APPROVER_TOKENS: `dev:${this.approverToken}` } : {}) } : {};
    const consoleEnv: Record<string, string> =
      name === 'console'
        ? { PW_CONSOLE_PORT: '0', PW_CONSOLE_HOST: '127.0.0.1', ...(this.consoleToken ? { PW_CONSOLE_TOKENS: `dev:operate:${this.consoleToken},dev-read:read:${this.consoleReadToken}` } : {}) }
        : {};
    const budgetEnv = this.budgetEnv(name);
    const proc = await startProcess({
      name: id,
      command: process.execPath,
      args: [...(this.opts.nodeArgs ?? []), `${REPO_ROOT}services/${name}/dist/main.js`],
      inheritEnv: false,
      env: { ...inheritedEnv(), ...this.serviceEnv({ ...OPS_PORT_ENV, ...this.auth?.serviceEnv(name), ...approverEnv, ...consoleEnv, ...budgetEnv, ...extraEnv }) },
      ...opsReadiness(name === 'approver' ? { api: APPROVER_API_PORT } : name === 'console' ? { api: CONSOLE_API_PORT } : {}),
      readyTimeoutMs: 60_000, // generous: a loaded 2-core CI machine can take many seconds to load a service
      ...(this.opts.echo ? { echo: true } : {}),
      ...(this.opts.logDir ? { logFile: `${this.opts.logDir}/${id}.log` } : {}),
    });
    this.procs.set(id, proc);
    this.opsPorts.set(id, proc.port('ops'));
    if (name === 'approver') this.approverPort = proc.port('api');
    if (name === 'console') this.consolePort = proc.port('api');
    this.cleanup.add(id, async () => {
      this.procs.delete(id);
      await proc.stop(8_000);
    });
    return proc;
  }

  /**
   * The budget service gets the simulator's price table unless the caller brought one; executors of a
   * stack without a budget service run unmetered (`PW_EXECUTOR_BUDGET=off`) instead of failing closed.
   */
  private budgetEnv(name: ServiceName): Record<string, string> {
    if (name === 'budget' && this.opts.env?.['PW_BUDGET_CONFIG_JSON'] === undefined && this.opts.env?.['PW_BUDGET_CONFIG'] === undefined)
      return { PW_BUDGET_CONFIG_JSON: JSON.stringify({ prices: SIM_PRICES }) };
    const withBudget = (this.opts.services ?? ALL_SERVICES).includes('budget');
    if (name === 'executor' && !withBudget && this.opts.env?.['PW_EXECUTOR_BUDGET'] === undefined) return { PW_EXECUTOR_BUDGET: 'off' };
    return {};
  }

  /** Live processes of a service, oldest first. */
  processes(name: ServiceName): ProcessHandle[] {
    return [...this.procs.entries()].filter(([id]) => id.startsWith(`${name}-`)).map(([, p]) => p);
  }

  /** Stops everything, services first, then the simulator and nats-server. */
  async stop(): Promise<void> {
    await this.cleanup.stopAll();
  }
}
