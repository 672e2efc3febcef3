// What a local stack (`pipewright dev`, `pipewright demo`) takes from the user's environment: the one
// place the stack commands read it. Every documented service variable (docs/configuration.md) is passed
// on to the services, except those the stack must set itself to work at all (STACK_OWNED); a provider's
// key variable (`apiKeyEnv` in PW_PROVIDERS) goes with it; PW_SIM_CONFIG configures the simulator.
// How the passed variables are merged with what the stack needs (the simulator as a provider, its
// prices) is stack-env.ts.
import { isAbsolute, resolve } from 'node:path';
import { parseEnv } from '@pipewright/kit';
import { z } from 'zod';

type Env = Readonly<Record<string, string | undefined>>;

/** Variables the stack sets for its processes; a user's value is not passed on, and why. */
export const STACK_OWNED: Readonly<Record<string, string>> = {
  NATS_URL: "the stack's own nats-server",
  NATS_USER: 'each process connects with the identity of its role, made for this stack',
  NATS_PASSWORD: 'as NATS_USER',
  NATS_TOKEN: 'as NATS_USER',
  NATS_CREDS: 'as NATS_USER',
  NATS_NKEY_SEED_FILE: 'as NATS_USER',
  NATS_TLS_CA: "the stack's nats-server listens on loopback without TLS",
  NATS_TLS_CERT: 'as NATS_TLS_CA',
  NATS_TLS_KEY: 'as NATS_TLS_CA',
  PW_REPLICAS: "the stack's nats-server is a single node",
  PW_TOPOLOGY: 'the planner manages the streams, every other role verifies them (bus permissions)',
  PW_APPROVER_PUBLIC_KEYS: "the planner checks decisions against the stack's approver key",
  PW_APPROVER_SIGNING_KEY_FILE: "the approver signs with the stack's approver identity",
  PW_HTTP_PORT: 'every process binds a loopback port of its own choosing and reports it',
  PW_HTTP_HOST: 'as PW_HTTP_PORT',
  PW_APPROVER_PORT: 'as PW_HTTP_PORT',
  PW_APPROVER_HOST: 'as PW_HTTP_PORT',
  PW_SIM_PORT: 'as PW_HTTP_PORT',
  PW_SIM_HOST: 'as PW_HTTP_PORT',
  PW_SIM_CONFIG: 'read by the stack: the simulator is started with it',
  PW_APPROVER_URL: 'read by the CLI, not by a service',
  PW_APPROVER_TOKEN: 'as PW_APPROVER_URL',
  PW_BIN_DIR: 'read by the process that starts the servers',
  PW_NATS_SERVER: 'as PW_BIN_DIR',
  PW_NATS_CLI: 'as PW_BIN_DIR',
  PW_FERRETDB: 'as PW_BIN_DIR',
  PW_JAEGER: 'as PW_BIN_DIR',
  PW_DEVSTACK_ECHO: 'as PW_BIN_DIR',
};

/** Names of the services' documented variables: every `PW_*`, `OTEL_*`, `OPENAI_*`, and MONGODB_URL. */
const PASSED = /^(PW_|OTEL_|OPENAI_)|^MONGODB_URL$/;

const ProvidersDoc = z.record(z.string(), z.looseObject({ baseURL: z.string(), apiKeyEnv: z.string().optional() }));

const stackEnv = z.object({
  /** The simulator's configuration (YAML or JSON): scripts, faults, latency. */
  PW_SIM_CONFIG: z.string().optional(),
  /** More providers (JSON), next to the simulator; read here for the variables holding their keys. */
  PW_PROVIDERS: z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `not JSON: ${(err as Error).message}` });
        return z.NEVER;
      }
    })
    .pipe(ProvidersDoc)
    .optional(),
});

/** What a local stack started from a shell runs with. */
export interface StackSettings {
  /** The user's variables for the services (LocalStackOptions.env), PW_SIM_CONFIG included. */
  env: Record<string, string>;
  /** The simulator's configuration file (absolute), when one was named. */
  simConfig: string | undefined;
}

/**
 * Reads the user's environment. `defaultSimConfig` is used when PW_SIM_CONFIG is unset; a `--sim-config`
 * flag is passed as `simConfigFlag` and wins over both. Throws ConfigError on a bad PW_PROVIDERS.
 */
export function readStackSettings(env: Env, opts: { simConfigFlag?: string | undefined; defaultSimConfig?: string | undefined } = {}): StackSettings {
  const own = parseEnv(stackEnv, env);
  const passed: Record<string, string> = {};
  const keyVariables = new Set(Object.values(own.PW_PROVIDERS ?? {}).flatMap((p) => (p.apiKeyEnv ? [p.apiKeyEnv] : [])));
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || value.trim() === '' || name in STACK_OWNED) continue;
    if (PASSED.test(name) || keyVariables.has(name)) passed[name] = value;
  }
  const sim = opts.simConfigFlag ?? own.PW_SIM_CONFIG ?? opts.defaultSimConfig;
  const simConfig = sim === undefined ? undefined : absolute(sim);
  if (simConfig !== undefined) passed['PW_SIM_CONFIG'] = simConfig;
  if (passed['PW_BUDGET_CONFIG'] !== undefined) passed['PW_BUDGET_CONFIG'] = absolute(passed['PW_BUDGET_CONFIG']);
  return { env: passed, simConfig };
}

const absolute = (path: string): string => (isAbsolute(path) ? path : resolve(path));
