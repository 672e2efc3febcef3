import { readFileSync } from 'node:fs';
import { commonEnv, ConfigError, envInt, parseEnv } from '@pipewright/kit';
import { z } from 'zod';
import { loadSettings, type BudgetSettings, type SettingsSource } from './settings.js';

const budgetEnv = commonEnv.extend({
  /** Path of the budget configuration (YAML or JSON): prices per model, pipeline and tenant limits. */
  PW_BUDGET_CONFIG: z.string().optional(),
  /** The same document as inline JSON; its entries replace the file's entries with the same key. */
  PW_BUDGET_CONFIG_JSON: z.string().optional(),
  /** How often each replica sweeps expired leases (records them as expired, frees their holds); 0 disables it. */
  PW_BUDGET_SWEEP_INTERVAL_MS: envInt(0, 3_600_000).default(5_000),
  /**
   * How long a finished reservation (committed, released, denied, expired) is kept. A repeated request
   * inside this window is answered from the record and never counted twice. Counted from the time up to
   * which spend events are booked, so a backlog (an outage) keeps records until it is booked.
   */
  PW_BUDGET_RECORD_RETENTION_MS: envInt(10_000, 7 * 86_400_000).default(600_000),
  /** Requests one replica works on at once; beyond it, requests are answered `overloaded` (retryable). */
  PW_BUDGET_MAX_IN_FLIGHT: envInt(1, 1_000_000).default(10_000),
});

export type BudgetConfig = z.infer<typeof budgetEnv> & { settings: BudgetSettings };

export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): BudgetConfig {
  const cfg = parseEnv(budgetEnv, env);
  const sources: SettingsSource[] = [];
  if (cfg.PW_BUDGET_CONFIG !== undefined) {
    let text: string;
    try {
      text = readFileSync(cfg.PW_BUDGET_CONFIG, 'utf8');
    } catch (err) {
      throw new ConfigError([`PW_BUDGET_CONFIG: cannot read ${cfg.PW_BUDGET_CONFIG}: ${err instanceof Error ? err.message : String(err)}`]);
    }
    sources.push({ variable: 'PW_BUDGET_CONFIG', path: cfg.PW_BUDGET_CONFIG, text });
  }
  if (cfg.PW_BUDGET_CONFIG_JSON !== undefined) sources.push({ variable: 'PW_BUDGET_CONFIG_JSON', text: cfg.PW_BUDGET_CONFIG_JSON });
  return { ...cfg, settings: loadSettings(sources) };
}
