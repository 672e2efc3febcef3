import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { NodeConnectionOptions } from '@nats-io/transport-node';
import { startNatsServer, startProcess, Stack, type NatsServerHandle, type ProcessHandle } from '@pipewright/devstack';
import type { BusRole } from '@pipewright/kit';
import type { SimConfig } from '@pipewright/llm-sim';
import { inheritedEnv } from '../config.js';
import { createTopology, DevBusAuth } from './bus-auth.js';
import { REPO_ROOT } from './repo-root.js';
import { OPS_PORT_ENV, opsReadiness } from './service-ports.js';
import { ALL_SERVICES, SERVICES, type ServiceName } from './services.js';
import type { SimClient } from './sim-client.js';
import { startSimProcess } from './sim-process.js';

export { REPO_ROOT, ALL_SERVICES, type ServiceName };
export { SIM_PRICES } from './stack-env.js';

export interface LocalStackOptions {
  /** Processes to start, one each (executor: `executors` processes). @default the five services (ALL_SERVICES) */
  services?: readonly ServiceName[];
  /** Executor replicas sharing the default pool. @default 1 */
  executors?: number;
  /** Initial simulator configuration (faults, latency, scripts); replaces the one `env.PW_SIM_CONFIG` names. */
  sim?: SimConfig;
  /**
   * The user's variables (docs/configuration.md) for every process, merged with what the stack needs:
   * PW_PROVIDERS gets the simulator as provider `sim` beside the user's entries; the budget keeps the
   * simulator's prices for every model PW_BUDGET_CONFIG / PW_BUDGET_CONFIG_JSON do not price;
   * PW_SIM_CONFIG is the simulator's configuration file. Connection, port and identity variables are
   * the stack's own (settings.ts, STACK_OWNED).
   */
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
 * The whole local stack as separate processes: nats-server (JetStream, temp storage), the model
 * simulator, and the services. Used by the demo, the end-to-end tests and the benchmarks. Every
 * listener binds a port of its own choosing (port 0) and reports it, so stacks run side by side.
 */
export class LocalStack {
  private readonly cleanup = new Stack();
  private readonly procs = new Map<string, ProcessHandle>();
  /** Ports each (last started) process of a service reported besides its ops server, by name. */
  private readonly reported = new Map<string, number>();
  /**
   * The API and inbox token the stack gave its approver (`dev:<token>`) when the caller configured
   * none, so that a local stack's approvals can be decided at once; undefined otherwise.
   */
  readonly approverToken: string | undefined;
  /**
   * Tokens the stack gave its console when the caller configured none: `dev` may operate runs,
   * `dev-read` only read them; undefined otherwise.
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
      const simConfig = opts.env?.['PW_SIM_CONFIG'];
      const { proc: simProc, client: sim } = await startSimProcess({
        ...(simConfig !== undefined ? { configFile: simConfig } : {}),
        ...(opts.echo ? { echo: true } : {}),
        ...(opts.logDir ? { logFile: `${opts.logDir}/llm-sim.log` } : {}),
      });
      // The streams exist before any service starts, as a deployment's set-up would make them: services
      // other than the planner may not create them (PW_TOPOLOGY=verify), and a stack may have no planner.
      if (auth) await createTopology(auth.connectionOptions(nats.url, 'admin'), opts.env ?? {}).catch(async (err: unknown) => {
        await simProc.stop(2_000);
        throw err;
      });
      stack = new LocalStack(nats, sim, opts, simProc.pid, auth);
      if (auth) stack.cleanup.add('bus keys', () => auth.remove());
      stack.cleanup.add('nats-server', () => nats.stop());
      stack.cleanup.add('llm-sim', () => simProc.stop(2_000));
      if (opts.sim) await sim.setConfig(opts.sim);
      const services = opts.services ?? ALL_SERVICES;
      const startAll = (names: readonly ServiceName[]) =>
        Promise.all(names.flatMap((name) => (name === 'executor' ? Array.from({ length: opts.executors ?? 1 }, () => stack!.startService('executor')) : [stack!.startService(name)])));
      // The console starts last: it links pending approvals to the approver's inbox, whose port is known then.
      await startAll(services.filter((s) => s !== 'console'));
      if (services.includes('console')) await stack.startService('console');
      return stack;
    } catch (err) {
      if (stack) await stack.stop();
      else await nats.stop().finally(() => auth?.remove());
      throw err;
    }
  }

  /** Port `port` that the last started process of `service` reported (e.g. the approver's `api`). */
  port(service: ServiceName, port: string): number | undefined {
    return this.reported.get(`${service}.${port}`);
  }

  /** Port of the (last started) approver's API and web inbox. */
  get approverPort(): number | undefined {
    return this.port('approver', 'api');
  }

  /** Port of the (last started) console's runs API and dashboard. */
  get consolePort(): number | undefined {
    return this.port('console', 'api');
  }

  /** The console's runs API base URL (`…/api/v1`), once a console runs. */
  get consoleUrl(): string | undefined {
    const port = this.consolePort;
    return port === undefined ? undefined : `http://127.0.0.1:${port}/api/v1`;
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
   * any other port it serves) bind ports of their own choosing, read from the lines that report them.
   * `extraEnv` is more of the user's variables, for this process only.
   */
  async startService(name: ServiceName, extraEnv: Readonly<Record<string, string>> = {}): Promise<ProcessHandle> {
    const id = `${name}-${++this.seq}`;
    const spec = SERVICES[name];
    const user = { ...this.opts.env, ...extraEnv };
    const own = spec.env?.({ env: user, simBaseUrl: this.sim.openaiBaseUrl, withBudget: (this.opts.services ?? ALL_SERVICES).includes('budget'), approverToken: this.approverToken, inboxUrl: this.approverPort !== undefined ? `http://127.0.0.1:${this.approverPort}/inbox` : undefined, consoleTokens: this.consoleToken && this.consoleReadToken ? { operate: this.consoleToken, read: this.consoleReadToken } : undefined }) ?? {};
    const proc = await startProcess({
      name: id,
      command: process.execPath,
      args: [...(this.opts.nodeArgs ?? []), `${REPO_ROOT}${spec.main}`],
      inheritEnv: false,
      env: { ...inheritedEnv(), ...this.serviceEnv(extraEnv), ...OPS_PORT_ENV, ...this.auth?.serviceEnv(spec.role), ...own },
      ...opsReadiness(spec.ports ?? {}),
      readyTimeoutMs: 60_000, // generous: a loaded 2-core CI machine can take many seconds to load a service
      ...(this.opts.echo ? { echo: true } : {}),
      ...(this.opts.logDir ? { logFile: `${this.opts.logDir}/${id}.log` } : {}),
    });
    this.procs.set(id, proc);
    this.opsPorts.set(id, proc.port('ops'));
    for (const port of Object.keys(spec.ports ?? {})) this.reported.set(`${name}.${port}`, proc.port(port));
    this.cleanup.add(id, async () => {
      this.procs.delete(id);
      await proc.stop(8_000);
    });
    return proc;
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
