import { z } from 'zod';
import type { Usage } from './common.js';

/**
 * Money is counted in integer nano-dollars (1e-9 USD) so that sums over millions of calls are exact and
 * the same in every process. Prices (USD per million tokens) become integer pico-dollars per token; a
 * call's cost is rounded up to a whole nano-dollar, once. The budget service charges with these
 * functions and the executor reports a call's cost with them, at the price the reservation was granted
 * with, so the run's `costUsd` and the budget's charge are the same number by construction.
 */

/** A model's price in USD per million tokens (the budget service's price table). */
export const ModelPrice = z
  .strictObject({
    input: z.number().nonnegative().max(100_000),
    cachedInput: z.number().nonnegative().max(100_000).optional(),
    output: z.number().nonnegative().max(100_000),
  })
  .strict();
export type ModelPrice = z.infer<typeof ModelPrice>;

export const NANO_PER_USD = 1_000_000_000;
const PICO_PER_NANO = 1_000;
/** USD per million tokens → pico-USD per token is a factor of 1e12 / 1e6. */
const PICO_PER_TOKEN_PER_USD_PER_MTOK = 1_000_000;

export interface Amount {
  /** Nano-dollars. */
  readonly nano: number;
  readonly tokens: number;
}

export const ZERO_AMOUNT: Amount = Object.freeze({ nano: 0, tokens: 0 });

const picoPerToken = (usdPerMTok: number) => Math.round(usdPerMTok * PICO_PER_TOKEN_PER_USD_PER_MTOK);
const picoToNano = (pico: number): number => Math.ceil(pico / PICO_PER_NANO);

/** What a reservation holds: every estimated prompt token at the full input price plus the whole output cap. */
export function reservationAmount(price: ModelPrice | undefined, inputTokens: number, maxOutputTokens: number): Amount {
  const tokens = inputTokens + maxOutputTokens;
  if (!price) return { nano: 0, tokens };
  return { nano: picoToNano(inputTokens * picoPerToken(price.input) + maxOutputTokens * picoPerToken(price.output)), tokens };
}

/** What a call cost by a price. `usage.inputTokens` includes the cached ones, as providers report it. */
export function usageCost(price: ModelPrice | undefined, usage: Usage): Amount {
  const tokens = usage.inputTokens + usage.outputTokens;
  if (!price) return { nano: 0, tokens };
  const cached = Math.min(usage.cachedInputTokens ?? 0, usage.inputTokens);
  const pico =
    (usage.inputTokens - cached) * picoPerToken(price.input) +
    cached * picoPerToken(price.cachedInput ?? price.input) +
    usage.outputTokens * picoPerToken(price.output);
  return { nano: picoToNano(pico), tokens };
}

export const nanoToUsd = (nano: number): number => nano / NANO_PER_USD;

/** A USD limit in nano-dollars (rounded down: a limit is never exceeded by rounding). */
export const usdToNano = (usd: number): number => Math.floor(usd * NANO_PER_USD + 1e-6);

export const addAmount = (a: Amount, b: Amount): Amount => ({ nano: a.nano + b.nano, tokens: a.tokens + b.tokens });

/** USD sums are kept to 1e-9 so that many small charges add up exactly (as nano-dollars do). */
export const roundUsd = (usd: number): number => Math.round(usd * NANO_PER_USD) / NANO_PER_USD;
