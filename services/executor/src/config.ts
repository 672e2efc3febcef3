import { commonEnv, envInt, parseEnv } from '@pipewright/kit';
import { z } from 'zod';

/** One OpenAI-compatible endpoint (OpenAI, Azure, vLLM, Ollama, LiteLLM, the simulator). */
export const ProviderConfig = z
  .object({
    baseURL: z.url(),
    /** Name of the environment variable that holds the API key (never the key itself). */
    apiKeyEnv: z.string().optional(),
    /** Requests per minute this executor process sends to the endpoint; wins over PW_RATE_LIMIT_RPM. */
    rpm: z.number().int().positive().optional(),
    /** Tokens (prompt estimate + output cap) per minute; wins over PW_RATE_LIMIT_TPM. */
    tpm: z.number().int().positive().optional(),
  })
  .strict();
export type ProviderConfig = z.infer<typeof ProviderConfig>;

const providersJson = z.string().transform((s, ctx) => {
  try {
    return z.record(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/), ProviderConfig).parse(JSON.parse(s));
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `expected JSON {"name": {"baseURL": "...", "apiKeyEnv": "...", "rpm": 600, "tpm": 200000}}: ${String(err)}` });
    return z.NEVER;
  }
});

const executorEnv = commonEnv.extend({
  /** The pool this executor serves (one durable consumer per pool, shared by its replicas). */
  PW_EXECUTOR_POOL: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/).default('default'),
  /**
   * Steps (and, separately, tool calls) handled at once by this process. Every task held is listed in
   * the process's registry entry, one KV value, which bounds it.
   */
  PW_EXECUTOR_CONCURRENCY: envInt(1, 2_000).default(32),
  /**
   * AckWait of the step and tool consumers. A killed executor is not detected by it: its peers see it
   * gone (PW_EXECUTOR_RESCUE_INTERVAL_MS) and hand its messages back at once, and a redelivery finds the
   * task's lease, so no timing repeats a model call. AckWait bounds only what no registry can list: a
   * message the server sent that its process never read (it died reading, or a connection drop lost it)
   * comes back after this; a live process heartbeats every third of it. See docs/durability.md.
   */
  PW_EXECUTOR_ACK_WAIT_MS: envInt(1_000, 3_600_000).default(15_000),
  /**
   * How often each executor checks that its peers are alive. A peer whose connection is gone (asked
   * twice, 750 ms apart) has its held tasks handed back to the stream, to run again on a live executor.
   */
  PW_EXECUTOR_RESCUE_INTERVAL_MS: envInt(100, 60_000).default(1_000),
  /**
   * After its own connection to NATS comes back, an executor takes no task from a peer that looks gone for
   * this long: after a nats-server restart every process reconnects at its own moment, and a peer not back
   * yet is not dead. A first connection does not count. Longer than the clients' reconnect time.
   */
  PW_EXECUTOR_RECONNECT_GRACE_MS: envInt(0, 120_000).default(10_000),
  /** How long a liveness ping waits. An executor that does not answer in time is slow, not dead: its tasks are kept. */
  PW_EXECUTOR_PING_TIMEOUT_MS: envInt(100, 60_000).default(2_000),
  /**
   * `enforce`: reserve with the budget service before every model call (what the pipeline's
   * `budget.failClosed` says happens when it cannot be reached). `off`: no budget at all (development
   * stacks without a budget service).
   */
  PW_EXECUTOR_BUDGET: z.enum(['enforce', 'off']).default('enforce'),
  /** How long one budget request waits for a reply. */
  PW_BUDGET_TIMEOUT_MS: envInt(10, 60_000).default(1_000),
  /** How long a budget operation keeps retrying before the service counts as unreachable. */
  PW_BUDGET_DEADLINE_MS: envInt(10, 600_000).default(5_000),
  /**
   * How long a budget reservation outlives its call's timeout (time to read the answer and commit).
   * An executor that dies holding one gives the budget back this long after the call's timeout.
   */
  PW_BUDGET_LEASE_MARGIN_MS: envInt(100, 3_600_000).default(30_000),
  /** Step outputs whose JSON is larger than this are stored once in the blob store and sent as a reference. */
  PW_CLAIM_THRESHOLD_BYTES: envInt(1_024, 100_000_000).default(65_536),
  /** Base URL of the `default` provider. */
  OPENAI_BASE_URL: z.url().default('https://api.openai.com/v1'),
  OPENAI_API_KEY: z.string().optional(),
  /** More providers as JSON, e.g. {"azure":{"baseURL":"https://…/openai/v1","apiKeyEnv":"AZURE_KEY","rpm":600}}. */
  PW_PROVIDERS: providersJson.optional(),
  /** A (provider, model) breaker opens when more than this share of its calls in the window failed. */
  PW_BREAKER_ERROR_THRESHOLD_PCT: envInt(1, 100).default(50),
  /** Calls in the window before the breaker may open at all (a cold model is not judged on one call). */
  PW_BREAKER_VOLUME_THRESHOLD: envInt(1, 1_000_000).default(10),
  /** How long an open breaker refuses calls before one probe call may test the model again. */
  PW_BREAKER_RESET_TIMEOUT_MS: envInt(100, 3_600_000).default(30_000),
  /** Rolling window over which the error share is measured (10 buckets). */
  PW_BREAKER_WINDOW_MS: envInt(1_000, 3_600_000).default(10_000),
  /** Requests per minute per provider, for providers that set no `rpm` of their own; unset = unlimited. */
  PW_RATE_LIMIT_RPM: envInt(1, 100_000_000).optional(),
  /** Tokens per minute per provider, for providers that set no `tpm` of their own; unset = unlimited. */
  PW_RATE_LIMIT_TPM: envInt(1, 1_000_000_000).optional(),
});

export type ExecutorConfig = ReturnType<typeof loadConfig> & { providerKeys: Record<string, string | undefined> };

export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env) {
  const cfg = parseEnv(executorEnv, env);
  const providerKeys: Record<string, string | undefined> = { default: cfg.OPENAI_API_KEY };
  for (const [name, p] of Object.entries(cfg.PW_PROVIDERS ?? {})) providerKeys[name] = p.apiKeyEnv ? env[p.apiKeyEnv] : undefined;
  return { ...cfg, providerKeys };
}
