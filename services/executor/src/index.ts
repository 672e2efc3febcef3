// The executor's pure parts, exported for tests and benchmarks (the service starts from main.ts).
export { backoffDelayMs, canRetry } from './llm/backoff.js';
export { parseOutput, extractJson } from './llm/output.js';
export type { ParsedOutput } from './llm/output.js';
export { classify } from './llm/errors.js';
export type { CallFailure } from './llm/errors.js';
