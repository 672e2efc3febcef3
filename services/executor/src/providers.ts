import OpenAI from 'openai';
import { TerminalError } from '@pipewright/kit';
import type { ExecutorConfig } from './config.js';

/**
 * One `openai` client per configured provider. The client's own retries are off (`maxRetries: 0`):
 * the executor's retry policy is the only one, so attempts are counted and bounded in one place.
 */
export class ProviderRegistry {
  private readonly clients = new Map<string, { client: OpenAI; baseURL: string }>();

  constructor(cfg: ExecutorConfig) {
    const add = (name: string, baseURL: string) =>
      this.clients.set(name, {
        baseURL,
        // A key is required by the client; local endpoints (the simulator, Ollama) accept any.
        client: new OpenAI({ baseURL, apiKey: cfg.providerKeys[name] ?? 'unused', maxRetries: 0 }),
      });
    add('default', cfg.OPENAI_BASE_URL);
    for (const [name, p] of Object.entries(cfg.PW_PROVIDERS ?? {})) add(name, p.baseURL);
  }

  get(provider: string): { client: OpenAI; baseURL: string } {
    const hit = this.clients.get(provider);
    if (!hit) throw new TerminalError(`unknown provider "${provider}" (configure it in PW_PROVIDERS)`, 'unknown_provider');
    return hit;
  }
}
