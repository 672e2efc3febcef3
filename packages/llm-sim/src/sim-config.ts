// The simulator's configuration as validated data. The zod schema is the source of truth; the
// `SimConfig` type is inferred from it. Unknown fields are rejected so that a typo (`rate492`) is an
// error naming the field instead of a fault that silently never fires.
import { z } from 'zod';

/** Outcomes a call can be forced into (config `fault`, script replies, `X-Sim-Fault` header). */
export const FAULT_KINDS = [
  'ok',
  '429',
  '500',
  '503',
  'drop',
  'hang',
  'malformed',
  'malformed-fenced',
  'malformed-truncated',
  'schema-break',
] as const;
export const FaultKindSchema = z.enum(FAULT_KINDS);
export type FaultKind = z.infer<typeof FaultKindSchema>;

const Probability = z.number().min(0).max(1);
const Millis = z.number().finite().min(0);

/**
 * Simulated latency before a response. Total = `fixedMs` + a uniform sample from [minMs, maxMs] or
 * from [meanMs - jitterMs, meanMs + jitterMs] (clamped at 0). All fields default to 0.
 */
export const LatencySchema = z
  .strictObject({ fixedMs: Millis, minMs: Millis, maxMs: Millis, meanMs: Millis, jitterMs: Millis })
  .partial()
  .refine((l) => (l.minMs ?? 0) <= (l.maxMs ?? l.minMs ?? 0), {
    message: 'minMs must not exceed maxMs',
    path: ['minMs'],
  });
export type LatencyConfig = z.infer<typeof LatencySchema>;

/** Per-call fault probabilities; one uniform draw per call is compared against their running sum. */
const FaultRatesShape = {
  /** 429 with a `Retry-After` header of `retryAfterS` seconds. */
  rate429: Probability,
  /** Seconds announced in `Retry-After` on a 429. @default 1 */
  retryAfterS: z.number().finite().min(0),
  rate500: Probability,
  rate503: Probability,
  /** The socket is reset without any response. */
  rateDrop: Probability,
  /** No response at all until the client gives up or the server closes. */
  rateHang: Probability,
  /** 200 whose content is not valid JSON (code-fenced with trailing prose, or truncated). */
  rateMalformed: Probability,
  /** 200 with valid JSON that breaks the requested schema (a required property missing). */
  rateSchemaBreak: Probability,
};
export const RATE_FIELDS = [
  'rate429',
  'rate500',
  'rate503',
  'rateDrop',
  'rateHang',
  'rateMalformed',
  'rateSchemaBreak',
] as const;

const PerModelSchema = z
  .strictObject({
    ...FaultRatesShape,
    /** Every call to this model gets a 503 (a provider outage). */
    down: z.boolean(),
    latency: LatencySchema,
  })
  .partial();
export type PerModelConfig = z.infer<typeof PerModelSchema>;

export const FaultsSchema = z
  .strictObject({ ...FaultRatesShape, perModel: z.record(z.string(), PerModelSchema) })
  .partial();
export type FaultsConfig = z.infer<typeof FaultsSchema>;

const ToolCallSchema = z.strictObject({
  name: z.string().min(1),
  /** Arguments as an object; sent to the client as a JSON string. */
  arguments: z.record(z.string(), z.unknown()),
});

/**
 * One scripted answer. `json` wins over `content`; `toolCalls` wins over both, and `content` is then
 * the text said alongside the calls (as a model explains what it is about to do).
 */
export const ScriptReplySchema = z.strictObject({
  content: z.string().optional(),
  json: z.unknown().optional(),
  toolCalls: z.array(ToolCallSchema).optional(),
  /** Force this outcome for the call that gets this reply. */
  fault: FaultKindSchema.optional(),
});
export type ScriptReply = z.infer<typeof ScriptReplySchema>;

export const ScriptSchema = z
  .strictObject({
    match: z
      .strictObject({
        model: z.string(),
        /** Substring of the last user message. */
        contains: z.string(),
        /** Prefix of the `Idempotency-Key` request header. */
        key: z.string(),
      })
      .partial()
      .optional(),
    reply: ScriptReplySchema.optional(),
    /**
     * A sequence counted per call: the n-th matching call with the same Idempotency-Key gets the n-th
     * reply; the last one repeats (retries of one call: "fail twice, then answer").
     */
    replies: z.array(ScriptReplySchema).min(1).optional(),
    /**
     * A conversation counted per model turn: a request whose messages already hold n assistant
     * messages (the model's earlier turns) gets the (n+1)-th reply; the last one repeats. Read from the
     * request alone, so a retried or repeated turn gets the same reply, whatever its key.
     */
    conversation: z.array(ScriptReplySchema).min(1).optional(),
    /** Force this outcome for every matching call (a reply's own `fault` wins). */
    fault: FaultKindSchema.optional(),
  })
  .refine((s) => [s.reply, s.replies, s.conversation].filter((r) => r !== undefined).length <= 1, {
    message: 'use one of reply, replies or conversation',
    path: ['replies'],
  });
export type ScriptEntry = z.infer<typeof ScriptSchema>;

export const SimConfigSchema = z
  .strictObject({
    /** When set, any other model gets a 404 model_not_found. */
    models: z.array(z.string().min(1)).optional(),
    latency: LatencySchema.optional(),
    faults: FaultsSchema.optional(),
    /** Seed of the fault and latency PRNGs and of generated answers. @default 0 */
    seed: z.number().int().optional(),
    scripts: z.array(ScriptSchema).optional(),
  })
  .superRefine((config, ctx) => {
    // Rates share one draw, so rates summing above 1 would silently shadow the later ones.
    const global = config.faults ?? {};
    const check = (rates: FaultsConfig | PerModelConfig, path: PropertyKey[]): void => {
      const sum = RATE_FIELDS.reduce((acc, f) => acc + (rates[f] ?? 0), 0);
      if (sum > 1 + 1e-9) {
        ctx.addIssue({ code: 'custom', message: `fault rates sum to ${sum}, more than 1`, path });
      }
    };
    check(global, ['faults']);
    for (const [model, own] of Object.entries(global.perModel ?? {})) {
      check({ ...global, ...own }, ['faults', 'perModel', model]);
    }
  });

/** The simulator configuration (YAML/JSON file, `PUT /_sim/config`, or `startSimulator`). */
export type SimConfig = z.infer<typeof SimConfigSchema>;
