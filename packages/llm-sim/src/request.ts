// Decoding an OpenAI chat-completions request body. Lenient where OpenAI is lenient (unknown fields
// are ignored), strict where the simulator needs the value; a bad request becomes a 400 naming `param`.
import { z } from 'zod';

/** A JSON Schema document, as sent in `response_format` or a tool's `parameters`. */
export type JsonSchema = Record<string, unknown>;

const TextPart = z.looseObject({ type: z.string(), text: z.string().optional() });
const MessageSchema = z.looseObject({
  role: z.string(),
  content: z.union([z.string(), z.array(TextPart), z.null()]).optional(),
  tool_calls: z
    .array(z.looseObject({ function: z.looseObject({ name: z.string(), arguments: z.string() }).optional() }))
    .optional(),
});

const ResponseFormatSchema = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('text') }),
  z.looseObject({ type: z.literal('json_object') }),
  z.looseObject({
    type: z.literal('json_schema'),
    json_schema: z.looseObject({
      name: z.string(),
      schema: z.record(z.string(), z.unknown()).optional(),
      strict: z.boolean().nullish(),
    }),
  }),
]);

const ToolSchema = z.looseObject({
  type: z.string(),
  function: z
    .looseObject({ name: z.string(), parameters: z.record(z.string(), z.unknown()).optional() })
    .optional(),
});

const ToolChoiceSchema = z.union([
  z.enum(['none', 'auto', 'required']),
  z.looseObject({ type: z.literal('function'), function: z.looseObject({ name: z.string() }) }),
]);

const ChatBodySchema = z.looseObject({
  model: z.string().min(1),
  messages: z.array(MessageSchema).min(1),
  response_format: ResponseFormatSchema.nullish(),
  tools: z.array(ToolSchema).nullish(),
  tool_choice: ToolChoiceSchema.nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
  max_tokens: z.number().int().positive().nullish(),
  temperature: z.number().nullish(),
  seed: z.number().int().nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
});

export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; name: string; schema: JsonSchema; strict: boolean };

export interface FunctionTool {
  name: string;
  parameters: JsonSchema | undefined;
}

/** What the simulator uses from a request. */
export interface ChatRequest {
  model: string;
  /** Plain text of every message (content parts joined; tool-call arguments included). */
  messageTexts: string[];
  /** Text of the last `user` message ('' when there is none). */
  lastUserText: string;
  /** Assistant messages in `messages`: the model turns this conversation already had. */
  assistantTurns: number;
  responseFormat: ResponseFormat;
  tools: FunctionTool[];
  /** `{ name }` names the single function the model must call. */
  toolChoice: 'none' | 'auto' | 'required' | { name: string };
  maxTokens: number | undefined;
  stream: boolean;
  includeUsage: boolean;
  /** Stable digest input for deterministic answers: model, messages, response_format. */
  fingerprint: string;
}

export type DecodeResult = { ok: true; request: ChatRequest } | { ok: false; message: string; param: string };

function textOf(message: z.infer<typeof MessageSchema>): string {
  const content = message.content;
  let text = typeof content === 'string' ? content : (content ?? []).map((p) => p.text ?? '').join('');
  for (const call of message.tool_calls ?? []) {
    if (call.function) text += call.function.name + call.function.arguments;
  }
  return text;
}

/** Decodes a parsed JSON body into a ChatRequest, or says which `param` is wrong. */
export function decodeChatRequest(body: unknown): DecodeResult {
  const parsed = ChatBodySchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const param = issue?.path.map(String).join('.') ?? '';
    return { ok: false, message: `Invalid request: ${param || 'body'}: ${issue?.message ?? 'invalid'}`, param };
  }
  const b = parsed.data;
  const rf = b.response_format;
  const responseFormat: ResponseFormat =
    rf?.type === 'json_schema'
      ? { type: 'json_schema', name: rf.json_schema.name, schema: rf.json_schema.schema ?? {}, strict: rf.json_schema.strict === true }
      : rf?.type === 'json_object'
        ? { type: 'json_object' }
        : { type: 'text' };
  const tools: FunctionTool[] = [];
  for (const t of b.tools ?? []) {
    if (t.type === 'function' && t.function) tools.push({ name: t.function.name, parameters: t.function.parameters });
  }
  const tc = b.tool_choice;
  const lastUser = [...b.messages].reverse().find((m) => m.role === 'user');
  return {
    ok: true,
    request: {
      model: b.model,
      messageTexts: b.messages.map(textOf),
      lastUserText: lastUser ? textOf(lastUser) : '',
      assistantTurns: b.messages.filter((m) => m.role === 'assistant').length,
      responseFormat,
      tools,
      toolChoice: tc == null ? 'auto' : typeof tc === 'string' ? tc : { name: tc.function.name },
      maxTokens: b.max_completion_tokens ?? b.max_tokens ?? undefined,
      stream: b.stream === true,
      includeUsage: b.stream_options?.include_usage === true,
      fingerprint: JSON.stringify([b.model, b.messages, b.response_format ?? null]),
    },
  };
}
