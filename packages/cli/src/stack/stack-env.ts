// How a local stack merges the user's variables with what it needs itself: the simulator stays a
// provider next to the user's, and the budget keeps the simulator's prices for every model the user's
// budget configuration does not price. A document the stack cannot read is passed on untouched, so
// the service that owns it reports the error, naming its variable.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

/** Name of the provider that is always the stack's simulator (`default` is too, unless OPENAI_BASE_URL says otherwise). */
export const SIM_PROVIDER = 'sim';

/**
 * USD per million tokens for the simulator's models in a local stack, shaped like real price lists
 * (sim-small like gpt-4o-mini, sim-large like gpt-4o); every other model is priced by `*`.
 */
export const SIM_PRICES = {
  'sim-small': { input: 0.15, cachedInput: 0.075, output: 0.6 },
  'sim-large': { input: 2.5, cachedInput: 1.25, output: 10 },
  '*': { input: 1, output: 4 },
} as const;

type Doc = Record<string, unknown>;

function objectOf(value: unknown): Doc | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Doc) : undefined;
}

function parsed(text: string | undefined, parse: (t: string) => unknown): Doc | undefined {
  if (text === undefined) return undefined;
  try {
    return objectOf(parse(text));
  } catch {
    return undefined;
  }
}

/** PW_PROVIDERS for the executors: `sim` (the simulator) and the user's providers, whose entries win by name. */
export function providersWithSim(userJson: string | undefined, simBaseUrl: string): string {
  const user = userJson === undefined ? {} : parsed(userJson, JSON.parse);
  if (user === undefined) return userJson!;
  return JSON.stringify({ [SIM_PROVIDER]: { baseURL: simBaseUrl }, ...user });
}

/**
 * PW_BUDGET_CONFIG_JSON for the budget service: the user's inline document with, in its price table,
 * the simulator's prices of every model that neither it nor the user's PW_BUDGET_CONFIG file prices
 * (inline entries win over the file's, so the stack may add only what the user left out).
 */
export function budgetJsonWithSimPrices(file: string | undefined, json: string | undefined): string {
  const inline = json === undefined ? {} : parsed(json, JSON.parse);
  if (inline === undefined || (inline['prices'] !== undefined && objectOf(inline['prices']) === undefined)) return json!;
  let fileText: string | undefined;
  try {
    fileText = file === undefined ? undefined : readFileSync(file, 'utf8');
  } catch {
    fileText = undefined; // the budget service reports it, naming PW_BUDGET_CONFIG
  }
  const priced = new Set([...Object.keys(objectOf(parsed(fileText, parseYaml)?.['prices']) ?? {}), ...Object.keys(objectOf(inline['prices']) ?? {})]);
  const simPrices = Object.fromEntries(Object.entries(SIM_PRICES).filter(([model]) => !priced.has(model)));
  return JSON.stringify({ ...inline, prices: { ...simPrices, ...objectOf(inline['prices']) } });
}
