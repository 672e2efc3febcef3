import { z } from 'zod';
import { SchemaVersion, Timestamp } from '../common.js';
import { RunSummary } from './runs.js';

/**
 * The body of a run-end webhook (`POST` to each configured URL, see docs/api.md#webhooks). Signed:
 * `Pw-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the endpoint's secret>`.
 * `id` is the same on every retry of one delivery, so a receiver can drop repeats.
 */
export const RunWebhook = z.strictObject({
  schemaVersion: SchemaVersion,
  id: z.string(),
  type: z.literal('run.finished'),
  at: Timestamp,
  run: RunSummary,
});
export type RunWebhook = z.infer<typeof RunWebhook>;
