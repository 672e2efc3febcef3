import OpenAI from 'openai';
import { TerminalError } from '@pipewright/kit';
import type { ExecutorConfig } from './config.js';
import type { BreakerOptions } from './llm/breakers.js';
import { ProviderLimiter } from './llm/rate-limit.js';

/** A configured endpoint: its client, where it is, and this process's flow control towards it. */
export interface Provider {
  name: string;
  client: OpenAI;
  baseURL: string;
  limiter: ProviderLimiter;
}

/**
 * One `openai` client per configured provider. The client's own retries are off (`maxRetries: 0`):
 * the executor's retry policy is the only one, so attempts are counted and bounded in one place.
 */
export class ProviderRegistry {
  private readonly providers = new Map<string, Provider>();
  /** How every (endpoint, model) breaker of this process judges its model. */
  readonly breakerOptions: BreakerOptions;

  constructor(cfg: ExecutorConfig) {
    const add = (name: string, baseURL: string, limits: { rpm?: number | undefined; tpm?: number | undefined }) =>
      this.providers.set(name, {
        name,
        baseURL,
        // A key is required by the client; local endpoints (the simulator, Ollama) accept any.
        client: new OpenAI({ baseURL, apiKey: cfg.providerKeys[name] ?? 'unused', maxRetries: 0 }),
        limiter: new ProviderLimiter({ rpm: limits.rpm ?? cfg.PW_RATE_LIMIT_RPM, tpm: limits.tpm ?? cfg.PW_RATE_LIMIT_TPM }),
      });
    add('default', cfg.OPENAI_BASE_URL, {});
    for (const [name, p] of Object.entries(cfg.PW_PROVIDERS ?? {})) add(name, p.baseURL, p);
    this.breakerOptions = {
      errorThresholdPct: cfg.PW_BREAKER_ERROR_THRESHOLD_PCT,
      volumeThreshold: cfg.PW_BREAKER_VOLUME_THRESHOLD,
      resetTimeoutMs: cfg.PW_BREAKER_RESET_TIMEOUT_MS,
      windowMs: cfg.PW_BREAKER_WINDOW_MS,
    };
  }

  get(provider: string): Provider {
    const hit = this.providers.get(provider);
    if (!hit) throw new TerminalError(`unknown provider "${provider}" (configure it in PW_PROVIDERS)`, 'unknown_provider');
    return hit;
  }
}
