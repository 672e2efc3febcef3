import { connect, type NatsConnection } from '@nats-io/transport-node';
import { OPS_PORT_ENV, opsReadiness, REPO_ROOT } from '@pipewright/cli';
import { binDir, ferretDbAvailable, Stack, startFerretDb, startNatsServer, startProcess, type NatsServerHandle, type ProcessHandle } from '@pipewright/devstack';

/**
 * A budget test bed: a real nats-server (and FerretDB for the MongoDB store) on free ports with
 * temporary storage, and budget service replicas as separate processes, as they are deployed.
 */
export type StoreKind = 'kv' | 'mongo';

export const mongoAvailable = ferretDbAvailable();
if (!mongoAvailable) console.warn(`budget tests on the MongoDB store skipped: no ferretdb in ${binDir()} (run scripts/ensure-servers.sh ferretdb)`);

/** The stores to run a suite on: KV always, MongoDB (FerretDB) where its binary is installed. */
export const STORES: [StoreKind, boolean][] = [
  ['kv', true],
  ['mongo', mongoAvailable],
];

export class BudgetBed {
  private readonly stack = new Stack();
  private readonly replicas: ProcessHandle[] = [];
  private readonly conns: NatsConnection[] = [];
  private seq = 0;

  private constructor(
    readonly nats: NatsServerHandle,
    private readonly storeEnv: Record<string, string>,
  ) {}

  static async start(store: StoreKind): Promise<BudgetBed> {
    const nats = await startNatsServer();
    const storeEnv: Record<string, string> = { PW_STORE: store };
    const bed = new BudgetBed(nats, storeEnv);
    bed.stack.add('nats-server', () => nats.stop());
    if (store === 'mongo') {
      const ferret = await startFerretDb();
      bed.stack.add('ferretdb', () => ferret.stop());
      storeEnv['MONGODB_URL'] = ferret.url;
      storeEnv['PW_MONGODB_DB'] = `pw_budget_${Date.now()}`;
    }
    return bed;
  }

  /** Starts one budget replica (its ops server on a port of its own choosing); resolves when its /readyz answers 200. */
  async startReplica(env: Record<string, string>): Promise<ProcessHandle> {
    const proc = await startProcess({
      name: `budget-${++this.seq}`,
      command: process.execPath,
      args: [`${REPO_ROOT}services/budget/dist/main.js`],
      inheritEnv: false,
      env: {
        PATH: process.env['PATH'] ?? '',
        HOME: process.env['HOME'] ?? '',
        NATS_URL: this.nats.url,
        ...OPS_PORT_ENV,
        PW_LOG_LEVEL: 'warn',
        PW_SHUTDOWN_GRACE_MS: '3000',
        ...this.storeEnv,
        ...env,
      },
      ...opsReadiness(),
      readyTimeoutMs: 20_000,
    });
    this.replicas.push(proc);
    this.stack.add(proc.name, () => proc.stop(5_000));
    return proc;
  }

  get processes(): readonly ProcessHandle[] {
    return this.replicas;
  }

  async client(): Promise<NatsConnection> {
    const nc = await connect({ servers: this.nats.url });
    this.conns.push(nc);
    return nc;
  }

  async stop(): Promise<void> {
    await Promise.all(this.conns.splice(0).map((c) => c.close()));
    await this.stack.stopAll();
  }
}

export { isAlive } from '../support/run.js';

/** The price table of these tests: whole micro-dollars per token, so expected costs are exact integers. */
export const TEST_PRICES = { 'sim-small': { input: 1, cachedInput: 0.5, output: 2 } } as const;

/** Cost in nano-dollars by TEST_PRICES, computed independently of the service. */
export function expectedNano(usage: { inputTokens: number; outputTokens: number; cachedInputTokens?: number }): number {
  const cached = usage.cachedInputTokens ?? 0;
  return (usage.inputTokens - cached) * 1_000 + cached * 500 + usage.outputTokens * 2_000;
}
