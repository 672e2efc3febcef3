import { z } from 'zod';

/**
 * How a failed model call is retried, as validated data (after Temporal's RetryPolicy). Delays use full
 * jitter: the n-th delay is uniform in [0, min(maxIntervalMs, initialIntervalMs * backoffCoefficient^(n-1))],
 * or the provider's Retry-After when it is longer. Retries stop at `maxAttempts` or when the next delay
 * would pass `deadlineMs` from the first attempt, whichever comes first.
 */
export const RetryPolicy = z
  .strictObject({
    /** Total attempts including the first. @default 3 */
    maxAttempts: z.number().int().min(1).max(20).default(3),
    /** Cap of the first delay. @default 250 */
    initialIntervalMs: z.number().int().min(0).max(600_000).default(250),
    /** Growth of the cap per attempt. @default 2 */
    backoffCoefficient: z.number().min(1).max(10).default(2),
    /** Largest cap of any delay. @default 10000 */
    maxIntervalMs: z.number().int().min(0).max(3_600_000).default(10_000),
    /** Overall budget of time for all attempts of one step, from its first attempt. @default 120000 */
    deadlineMs: z.number().int().min(1).max(86_400_000).default(120_000),
  })
  .strict();
export type RetryPolicy = z.infer<typeof RetryPolicy>;
export type RetryPolicyInput = z.input<typeof RetryPolicy>;

export const DEFAULT_RETRY_POLICY: RetryPolicy = RetryPolicy.parse({});

/** Per-call timeout (an AbortSignal per model call). @default 10000 */
export const DEFAULT_TIMEOUT_MS = 10_000;
