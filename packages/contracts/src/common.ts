import { z } from 'zod';

/** Every message on the bus carries the version of its schema; readers refuse versions they do not know. */
export const SCHEMA_VERSION = 1 as const;
export const SchemaVersion = z.literal(SCHEMA_VERSION);

/** Run ids appear in subjects, so they may not contain `.`, `*`, `>` or whitespace. */
export const RunId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'a run id is 1-64 letters, digits, "_" or "-" (it is used in subjects)');
export type RunId = z.infer<typeof RunId>;

/** Step ids appear in subjects, keys and templates (`steps.<id>.output`). */
export const StepId = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/, 'a step id starts with a letter and has up to 64 letters, digits, "_" or "-"');
export type StepId = z.infer<typeof StepId>;

/** A worker pool: one durable consumer per pool, shared by every executor replica that serves it. */
export const PoolName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'a pool name is 1-32 lower-case letters, digits, "_" or "-"');

export const TenantId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a tenant is 1-64 letters, digits, "_" or "-"');

/** ISO-8601 timestamp with a zone, e.g. `2026-11-24T10:00:00.000Z`. */
export const Timestamp = z.iso.datetime({ offset: true });

/** Token usage as reported by the provider (or estimated where it reports none). */
export const Usage = z.strictObject({
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  totalTokens: z.number().int().nonnegative(),
  cachedInputTokens: z.number().int().nonnegative().optional(),
});
export type Usage = z.infer<typeof Usage>;

export const ZERO_USAGE: Usage = Object.freeze({ inputTokens: 0, outputTokens: 0, totalTokens: 0 });

/** Sum of two usages (cached input tokens kept when either has them). */
export function addUsage(a: Usage, b: Usage): Usage {
  const cached = a.cachedInputTokens !== undefined || b.cachedInputTokens !== undefined ? { cachedInputTokens: (a.cachedInputTokens ?? 0) + (b.cachedInputTokens ?? 0) } : {};
  return { inputTokens: a.inputTokens + b.inputTokens, outputTokens: a.outputTokens + b.outputTokens, totalTokens: a.totalTokens + b.totalTokens, ...cached };
}

/**
 * A model on a provider. `provider` names an OpenAI-compatible endpoint configured in the executor
 * (`PW_PROVIDERS`); `default` is the one every executor has.
 */
export const ModelTarget = z.strictObject({
  provider: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/).default('default'),
  model: z.string().min(1).max(200),
});
export type ModelTarget = z.infer<typeof ModelTarget>;

/** A model may be written as a bare string (`"gpt-4o-mini"`, default provider) or as an object. */
export const ModelRef = z.union([
  z.string().min(1).max(200).transform((model) => ({ provider: 'default', model })),
  ModelTarget,
]);
export type ModelRef = z.input<typeof ModelRef>;

/** A JSON Schema document (draft 2020-12 or 07), validated with Ajv where it is used. */
export const JsonSchemaDoc = z.record(z.string(), z.unknown());
export type JsonSchemaDoc = z.infer<typeof JsonSchemaDoc>;

/** An error as it travels on the bus: a stable code, a message for people, and whether a retry can help. */
export const ErrorInfo = z.strictObject({
  code: z.string().min(1),
  message: z.string(),
  retryable: z.boolean().default(false),
  /** The field the error is about, as a path (`steps[2].needs[0]`), where there is one. */
  path: z.string().optional(),
});
export type ErrorInfo = z.infer<typeof ErrorInfo>;

/** One problem found while validating input, with the path of the offending field. */
export const ValidationIssue = z.strictObject({ path: z.string(), message: z.string() });
export type ValidationIssue = z.infer<typeof ValidationIssue>;
