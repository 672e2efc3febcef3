// Choosing the outcome of one call. Precedence: X-Sim-Fault header, then a matching script's fault,
// then `perModel.down`, then the configured rates compared against one seeded uniform draw.
import type { MalformedVariant } from './corrupt.js';
import { FAULT_KINDS, RATE_FIELDS } from './sim-config.js';
import type { FaultKind, FaultsConfig } from './sim-config.js';

/** The outcome of a call, as counted in `byOutcome`. */
export type Outcome = 'ok' | '429' | '500' | '503' | 'drop' | 'hang' | 'malformed' | 'schema-break';

export interface FaultDecision {
  outcome: Outcome;
  /** Set when the malformed variant was forced (`malformed-fenced` / `malformed-truncated`). */
  variant: MalformedVariant | undefined;
  /** Seconds for `Retry-After` on a 429. */
  retryAfterS: number;
}

/** Default `Retry-After` on a simulated 429, in seconds. */
export const DEFAULT_RETRY_AFTER_S = 1;

const RATE_OUTCOME: Record<(typeof RATE_FIELDS)[number], Outcome> = {
  rate429: '429',
  rate500: '500',
  rate503: '503',
  rateDrop: 'drop',
  rateHang: 'hang',
  rateMalformed: 'malformed',
  rateSchemaBreak: 'schema-break',
};

/** Parses an `X-Sim-Fault` header value; undefined when absent, an Error when not a known outcome. */
export function parseFaultHeader(value: string | string[] | undefined): FaultKind | undefined | Error {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined || raw.trim() === '') return undefined;
  const v = raw.trim().toLowerCase();
  return (FAULT_KINDS as readonly string[]).includes(v)
    ? (v as FaultKind)
    : new Error(`X-Sim-Fault must be one of ${FAULT_KINDS.join(', ')}; got '${raw}'`);
}

function fromKind(kind: FaultKind): Pick<FaultDecision, 'outcome' | 'variant'> {
  if (kind === 'malformed-fenced') return { outcome: 'malformed', variant: 'fenced' };
  if (kind === 'malformed-truncated') return { outcome: 'malformed', variant: 'truncated' };
  return { outcome: kind, variant: undefined };
}

export interface FaultInput {
  faults: FaultsConfig | undefined;
  model: string;
  /** Outcome forced by header or script, if any. */
  forced: FaultKind | undefined;
  /** A uniform draw in [0, 1) for this call (always drawn, so forcing does not shift the sequence). */
  draw: number;
}

/** Decides what happens to one call. */
export function decideFault({ faults, model, forced, draw }: FaultInput): FaultDecision {
  const own = faults?.perModel?.[model];
  const rates = { ...faults, ...own };
  const retryAfterS = rates.retryAfterS ?? DEFAULT_RETRY_AFTER_S;
  if (forced !== undefined) return { ...fromKind(forced), retryAfterS };
  if (own?.down === true) return { outcome: '503', variant: undefined, retryAfterS };
  let threshold = 0;
  for (const field of RATE_FIELDS) {
    threshold += rates[field] ?? 0;
    if (draw < threshold) return { outcome: RATE_OUTCOME[field], variant: undefined, retryAfterS };
  }
  return { outcome: 'ok', variant: undefined, retryAfterS };
}
