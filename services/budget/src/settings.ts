import { describeIssues, fromZodError, ModelPrice, type ModelTarget } from '@pipewright/contracts';
import { ConfigError } from '@pipewright/kit';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/**
 * The budget configuration document: the price table and the pipeline and tenant limits. It comes from
 * a YAML/JSON file (`PW_BUDGET_CONFIG`) and/or inline JSON (`PW_BUDGET_CONFIG_JSON`, whose entries win).
 * Validated at start-up; a bad field stops the service with its path.
 */

/** The longest rolling window: 31 days of hourly buckets. */
const WINDOW_HOURS_MAX = 744;
export const DEFAULT_WINDOW_HOURS = 24;

/** A limit over a rolling window of whole hours (e.g. USD per day = `windowHours: 24`). */
export const ScopeLimit = z
  .object({
    maxUsd: z.number().positive().optional(),
    maxTokens: z.number().int().positive().optional(),
    windowHours: z.number().int().min(1).max(WINDOW_HOURS_MAX).default(DEFAULT_WINDOW_HOURS),
  })
  .strict();
export type ScopeLimit = z.infer<typeof ScopeLimit>;

export const BudgetSettingsDoc = z
  .object({
    /**
     * USD per million tokens (`cachedInput` defaults to `input`), keyed by model (`gpt-4o-mini`), by
     * provider and model (`azure/gpt-4o`), or `*` for every other model.
     */
    prices: z.record(z.string().min(1).max(240), ModelPrice).default({}),
    pipelines: z.record(z.string().min(1).max(128), ScopeLimit).default({}),
    tenants: z.record(z.string().min(1).max(64), ScopeLimit).default({}),
    /** Limits for pipelines and tenants not listed by name. */
    defaults: z.object({ pipeline: ScopeLimit.optional(), tenant: ScopeLimit.optional() }).strict().default({}),
  })
  .strict();
export type BudgetSettingsDoc = z.infer<typeof BudgetSettingsDoc>;

export type WindowScope = 'pipeline' | 'tenant';

/** The validated configuration with its lookups. */
export class BudgetSettings {
  constructor(readonly doc: BudgetSettingsDoc) {}

  /** Price of a model: `provider/model`, then `model`, then `*`; undefined when none is configured. */
  priceOf(target: ModelTarget): ModelPrice | undefined {
    const p = this.doc.prices;
    return p[`${target.provider}/${target.model}`] ?? p[target.model] ?? p['*'];
  }

  limitOf(scope: WindowScope, id: string): ScopeLimit | undefined {
    const named = scope === 'pipeline' ? this.doc.pipelines[id] : this.doc.tenants[id];
    return named ?? this.doc.defaults[scope];
  }

  /** Hours of the rolling window a scope is counted over (the default when it has no limit). */
  windowHoursOf(scope: WindowScope, id: string): number {
    return this.limitOf(scope, id)?.windowHours ?? DEFAULT_WINDOW_HOURS;
  }
}

/** One source of settings and the variable that named it, for error messages. */
export interface SettingsSource {
  variable: string;
  /** File path (YAML or JSON by content) or undefined for inline JSON. */
  path?: string;
  text: string;
}

/** Parses and validates each source, then merges them in order: later entries replace earlier ones by key. */
export function loadSettings(sources: readonly SettingsSource[]): BudgetSettings {
  const docs = sources.map(parseSource);
  const merged: BudgetSettingsDoc = { prices: {}, pipelines: {}, tenants: {}, defaults: {} };
  for (const d of docs) {
    Object.assign(merged.prices, d.prices);
    Object.assign(merged.pipelines, d.pipelines);
    Object.assign(merged.tenants, d.tenants);
    Object.assign(merged.defaults, d.defaults);
  }
  return new BudgetSettings(merged);
}

function parseSource(src: SettingsSource): BudgetSettingsDoc {
  const where = src.path ? `${src.variable} (${src.path})` : src.variable;
  let raw: unknown;
  try {
    // YAML is a superset of JSON, so one parser reads both; inline values must be JSON.
    raw = src.path ? parseYaml(src.text) : JSON.parse(src.text);
  } catch (err) {
    throw new ConfigError([`${where}: cannot parse: ${err instanceof Error ? err.message : String(err)}`]);
  }
  const parsed = BudgetSettingsDoc.safeParse(raw ?? {});
  if (!parsed.success) throw new ConfigError([`${where}: ${describeIssues(fromZodError(parsed.error))}`]);
  return parsed.data;
}
