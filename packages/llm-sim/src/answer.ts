// What the simulated model says. Deterministic given (model, messages, response_format, seed):
// a script reply wins; then a forced tool call; then a schema-generated JSON value; then a JSON
// object or a sentence echoing the user. Corruption (malformed / schema-break) is applied last.
import { breakSchema, malformText } from './corrupt.js';
import type { MalformedVariant } from './corrupt.js';
import { shortHash } from './prng.js';
import type { ChatRequest, JsonSchema } from './request.js';
import { generateFromSchema } from './schema-gen.js';
import type { ScriptReply } from './sim-config.js';
import { estimatePromptTokens, estimateTokens, truncateToTokens } from './tokens.js';

/** Characters of the last user message echoed in a text answer. */
export const ECHO_CHARS = 60;

export interface ToolCallOut {
  id: string;
  name: string;
  /** JSON-encoded arguments, as OpenAI sends them. */
  arguments: string;
}

export interface Answer {
  content: string | null;
  toolCalls: ToolCallOut[];
  finishReason: 'stop' | 'length' | 'tool_calls';
  promptTokens: number;
  completionTokens: number;
}

/** Damage to apply to an otherwise good answer. */
export type Corruption = { kind: 'malformed'; variant: MalformedVariant } | { kind: 'schema-break' };

interface Draft {
  content: string | null;
  /** The JSON value behind `content`, and the schema it should satisfy, for schema-break. */
  value?: unknown;
  schema?: JsonSchema | undefined;
  tools?: { name: string; args: unknown; schema: JsonSchema | undefined }[];
}

function draft(req: ChatRequest, reply: ScriptReply | undefined, seed: string): Draft {
  const rf = req.responseFormat;
  const schema = rf.type === 'json_schema' ? rf.schema : undefined;
  const paramsOf = (name: string): JsonSchema | undefined => req.tools.find((t) => t.name === name)?.parameters;
  if (reply?.toolCalls !== undefined && reply.toolCalls.length > 0) {
    // A model may say something alongside its calls (why it calls them): the reply's `content`, if any.
    return { content: reply.content ?? null, tools: reply.toolCalls.map((c) => ({ name: c.name, args: c.arguments, schema: paramsOf(c.name) })) };
  }
  if (reply?.json !== undefined) return { content: JSON.stringify(reply.json), value: reply.json, schema };
  if (reply?.content !== undefined) return { content: reply.content };
  const choice = req.toolChoice;
  if (req.tools.length > 0 && (choice === 'required' || typeof choice === 'object')) {
    const tool = typeof choice === 'object' ? req.tools.find((t) => t.name === choice.name) : req.tools[0];
    if (tool !== undefined) {
      const args = generateFromSchema(tool.parameters ?? { type: 'object' }, `${seed}|${tool.name}`);
      return { content: null, tools: [{ name: tool.name, args, schema: tool.parameters }] };
    }
  }
  if (schema !== undefined) {
    const value = generateFromSchema(schema, seed);
    return { content: JSON.stringify(value), value, schema };
  }
  const echo = req.lastUserText.slice(0, ECHO_CHARS);
  if (rf.type === 'json_object') {
    const value = { answer: `Simulated answer to: ${echo}`, id: shortHash(seed) };
    return { content: JSON.stringify(value), value };
  }
  return { content: `Simulated answer to: ${echo}` };
}

function corrupt(d: Draft, c: Corruption): Draft {
  const first = d.tools?.[0];
  if (d.tools !== undefined && first !== undefined) {
    // Tool calls carry the damage in the first call's arguments, where a validator would look.
    const args = c.kind === 'schema-break' ? breakSchema(first.args, first.schema) : first.args;
    return { ...d, tools: [{ ...first, args }, ...d.tools.slice(1)] };
  }
  if (c.kind === 'schema-break') {
    return d.value === undefined ? d : { ...d, content: JSON.stringify(breakSchema(d.value, d.schema)) };
  }
  return { ...d, content: malformText(d.content ?? '', c.variant) };
}

/**
 * The full answer to one request. `seed` is the config seed; `reply` the matching script reply.
 * Content longer than `max_completion_tokens` is cut and finishes with 'length'.
 */
export function composeAnswer(
  req: ChatRequest,
  reply: ScriptReply | undefined,
  seed: number,
  corruption: Corruption | undefined,
): Answer {
  const base = shortHash(`${seed}|${req.fingerprint}`, 16);
  let d = draft(req, reply, base);
  if (corruption !== undefined) d = corrupt(d, corruption);
  const promptTokens = estimatePromptTokens(req.messageTexts);
  if (d.tools !== undefined) {
    const toolCalls = d.tools.map((t, i) => {
      let args = JSON.stringify(t.args);
      if (i === 0 && corruption?.kind === 'malformed') args = malformText(args, corruption.variant);
      return { id: `call_${shortHash(`${base}|${i}`, 24)}`, name: t.name, arguments: args };
    });
    const completionTokens = estimateTokens((d.content ?? '') + toolCalls.map((t) => t.name + t.arguments).join(''));
    return { content: d.content, toolCalls, finishReason: 'tool_calls', promptTokens, completionTokens };
  }
  let content = d.content ?? '';
  let finishReason: Answer['finishReason'] = 'stop';
  if (req.maxTokens !== undefined) {
    const cut = truncateToTokens(content, req.maxTokens);
    if (cut.length < content.length) {
      content = cut;
      finishReason = 'length';
    }
  }
  return { content, toolCalls: [], finishReason, promptTokens, completionTokens: estimateTokens(content) };
}
