import type { SimConfig, SimCounters } from '@pipewright/llm-sim';

/** Talks to a running simulator's admin endpoints (it may be another process). */
export class SimClient {
  constructor(readonly baseUrl: string) {}

  get openaiBaseUrl(): string {
    return `${this.baseUrl}/v1`;
  }

  async counters(): Promise<SimCounters> {
    const res = await fetch(`${this.baseUrl}/_sim/counters`, { signal: AbortSignal.timeout(5_000) });
    if (!res.ok) throw new Error(`simulator counters: HTTP ${res.status}`);
    return (await res.json()) as SimCounters;
  }

  async reset(): Promise<void> {
    const res = await fetch(`${this.baseUrl}/_sim/reset`, { method: 'POST', signal: AbortSignal.timeout(5_000) });
    if (!res.ok) throw new Error(`simulator reset: HTTP ${res.status}`);
  }

  async setConfig(config: SimConfig): Promise<void> {
    const res = await fetch(`${this.baseUrl}/_sim/config`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(config),
      signal: AbortSignal.timeout(5_000),
    });
    if (!res.ok) throw new Error(`simulator config refused: HTTP ${res.status} ${await res.text()}`);
  }
}
