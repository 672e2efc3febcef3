// The processes a local stack can run, as a table: where each one's entry point is, which bus identity
// it connects as, which ports it reports besides its ops server, and what it needs in its environment
// beyond what every process gets. Adding a process to the stack is adding a row.
import type { ReadinessOptions } from '@pipewright/devstack';
import type { BusRole } from '@pipewright/kit';
import { APPROVER_API_PORT, CONSOLE_API_PORT } from './service-ports.js';
import { budgetJsonWithSimPrices, providersWithSim } from './stack-env.js';

export type ServiceName = 'planner' | 'executor' | 'budget' | 'approver' | 'console' | 'example-tools';

/** The five Pipewright services: what a stack runs unless told otherwise. */
export const ALL_SERVICES: readonly ServiceName[] = ['planner', 'executor', 'budget', 'approver', 'console'];
/** What `pipewright dev` and `demo` run: the services and the example tools (examples/tools). */
export const DEV_SERVICES: readonly ServiceName[] = [...ALL_SERVICES, 'example-tools'];

/** What a row's environment may depend on. */
export interface ServiceContext {
  /** The user's variables for this process (LocalStackOptions.env, then startService's extra). */
  readonly env: Readonly<Record<string, string>>;
  /** The simulator's OpenAI-compatible base URL. */
  readonly simBaseUrl: string;
  /** Whether the stack runs a budget service. */
  readonly withBudget: boolean;
  /** The approver token the stack made (`dev:<token>`), when the user configured none. */
  readonly approverToken: string | undefined;
  /** The approver's inbox, once an approver runs (the console links pending approvals to it). */
  readonly inboxUrl: string | undefined;
  /** The console's operate and read tokens the stack made, when the user configured none. */
  readonly consoleTokens: { operate: string; read: string } | undefined;
}

export interface ServiceSpec {
  /** Entry point, from the repository root. */
  readonly main: string;
  /** The bus identity it connects as. */
  readonly role: BusRole;
  /** Ports it reports besides its ops server, by name (LocalStack.port). */
  readonly ports?: ReadinessOptions['reportedPorts'];
  /** Its own variables, set over the user's. */
  readonly env?: (c: ServiceContext) => Record<string, string>;
}

export const SERVICES: Readonly<Record<ServiceName, ServiceSpec>> = {
  planner: { main: 'services/planner/dist/main.js', role: 'planner' },
  executor: {
    main: 'services/executor/dist/main.js',
    role: 'executor',
    // Without a budget service the executors run unmetered instead of failing closed.
    env: (c) => ({
      PW_PROVIDERS: providersWithSim(c.env['PW_PROVIDERS'], c.simBaseUrl),
      ...(!c.withBudget && c.env['PW_EXECUTOR_BUDGET'] === undefined ? { PW_EXECUTOR_BUDGET: 'off' } : {}),
    }),
  },
  budget: {
    main: 'services/budget/dist/main.js',
    role: 'budget',
    env: (c) => ({ PW_BUDGET_CONFIG_JSON: budgetJsonWithSimPrices(c.env['PW_BUDGET_CONFIG'], c.env['PW_BUDGET_CONFIG_JSON']) }),
  },
  approver: {
    main: 'services/approver/dist/main.js',
    role: 'approver',
    ports: { api: APPROVER_API_PORT },
    env: (c) => ({ PW_APPROVER_PORT: '0', PW_APPROVER_HOST: '127.0.0.1', ...(c.approverToken ? { PW_APPROVER_TOKENS: `dev:${c.approverToken}` } : {}) }),
  },
  console: {
    main: 'services/console/dist/main.js',
    role: 'console',
    ports: { api: CONSOLE_API_PORT },
    env: (c) => ({
      PW_CONSOLE_PORT: '0',
      PW_CONSOLE_HOST: '127.0.0.1',
      ...(c.inboxUrl && c.env['PW_CONSOLE_INBOX_URL'] === undefined ? { PW_CONSOLE_INBOX_URL: c.inboxUrl } : {}),
      ...(c.consoleTokens ? { PW_CONSOLE_TOKENS: `dev:operate:${c.consoleTokens.operate},dev-read:read:${c.consoleTokens.read}` } : {}),
    }),
  },
  'example-tools': { main: 'examples/tools/dist/main.js', role: 'tools' },
};
