// The executor's budget client: reserve before every model call, commit the usage after, release on failure.
export { BudgetClient, BudgetRequestError, DEFAULT_BUDGET_TIMEOUT_MS, DEFAULT_BUDGET_DEADLINE_MS } from './client.js';
export type { BudgetClientOptions, ReserveOutcome, CommitOutcome, ReleaseOutcome, StatusOutcome } from './client.js';
export { countTokens, estimatePromptTokens, TOKENS_PER_MESSAGE, TOKENS_PER_NAME, REPLY_PRIMING_TOKENS, RESPONSE_SCHEMA_OVERHEAD_TOKENS } from './tokens.js';
export type { PromptShape } from './tokens.js';
export { reservationIdFor, leaseMsFor, DEFAULT_MAX_OUTPUT_TOKENS, LEASE_MARGIN_MS } from './reservation.js';
export { createBudgetGate, BUDGET_UNAVAILABLE_RETRY_MS } from './gate.js';
export type { BudgetGateOptions } from './gate.js';
