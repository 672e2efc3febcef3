import { commonEnv, envInt, parseEnv } from '@pipewright/kit';
import { z } from 'zod';

/** One OpenAI-compatible endpoint (OpenAI, Azure, vLLM, Ollama, LiteLLM, the simulator). */
export const ProviderConfig = z
  .object({
    baseURL: z.url(),
    /** Name of the environment variable that holds the API key (never the key itself). */
    apiKeyEnv: z.string().optional(),
  })
  .strict();
export type ProviderConfig = z.infer<typeof ProviderConfig>;

const providersJson = z.string().transform((s, ctx) => {
  try {
    return z.record(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/), ProviderConfig).parse(JSON.parse(s));
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `expected JSON {"name": {"baseURL": "...", "apiKeyEnv": "..."}}: ${String(err)}` });
    return z.NEVER;
  }
});

const executorEnv = commonEnv.extend({
  /** The pool this executor serves (one durable consumer per pool, shared by its replicas). */
  PW_EXECUTOR_POOL: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/).default('default'),
  /** Steps handled at once by this process. */
  PW_EXECUTOR_CONCURRENCY: envInt(1, 10_000).default(32),
  /** AckWait of the step consumer: a killed executor's step is redelivered after this. */
  PW_EXECUTOR_ACK_WAIT_MS: envInt(1_000, 600_000).default(30_000),
  /** Deliveries of one step command before it goes to the DLQ. */
  PW_EXECUTOR_MAX_DELIVER: envInt(1, 1_000).default(10),
  /** Base URL of the `default` provider. */
  OPENAI_BASE_URL: z.url().default('https://api.openai.com/v1'),
  OPENAI_API_KEY: z.string().optional(),
  /** More providers as JSON, e.g. {"azure":{"baseURL":"https://…/openai/v1","apiKeyEnv":"AZURE_KEY"}}. */
  PW_PROVIDERS: providersJson.optional(),
});

export type ExecutorConfig = ReturnType<typeof loadConfig> & { providerKeys: Record<string, string | undefined> };

export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env) {
  const cfg = parseEnv(executorEnv, env);
  const providerKeys: Record<string, string | undefined> = { default: cfg.OPENAI_API_KEY };
  for (const [name, p] of Object.entries(cfg.PW_PROVIDERS ?? {})) providerKeys[name] = p.apiKeyEnv ? env[p.apiKeyEnv] : undefined;
  return { ...cfg, providerKeys };
}
