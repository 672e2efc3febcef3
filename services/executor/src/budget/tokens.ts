import type { ChatMessage, JsonSchemaDoc } from '@pipewright/contracts';
import { Tiktoken } from 'js-tiktoken/lite';
import o200kBase from 'js-tiktoken/ranks/o200k_base';

/**
 * Prompt tokens as a model will count them, with a real tokenizer (o200k_base, the encoding of the
 * gpt-4o and o-series models; the ranks ship with the package, so nothing is downloaded). Other models
 * tokenize differently; the estimate is a reservation, and the commit charges what the provider reports.
 */

/** Chat format: each message is framed as `<|start|>{role}<|message|>{content}<|end|>`. */
export const TOKENS_PER_MESSAGE = 3;
/** A `name` on a message costs one more token. */
export const TOKENS_PER_NAME = 1;
/** Every reply is primed with `<|start|>assistant<|message|>`. */
export const REPLY_PRIMING_TOKENS = 3;
/** Wrapping of a `json_schema` response format in the prompt, beyond the schema text itself. */
export const RESPONSE_SCHEMA_OVERHEAD_TOKENS = 12;

let encoder: Tiktoken | undefined;

/** Tokens of a text. Special-token markers in user text are counted as ordinary text, never refused. */
export function countTokens(text: string): number {
  encoder ??= new Tiktoken(o200kBase);
  return encoder.encode(text, [], []).length;
}

export interface PromptShape {
  messages: readonly (ChatMessage & { name?: string })[];
  /** JSON Schema sent as `response_format`; the provider puts it into the prompt. */
  responseSchema?: JsonSchemaDoc;
}

/** Estimated prompt tokens of a chat completion request, chat-format overhead included. */
export function estimatePromptTokens(prompt: PromptShape): number {
  let n = REPLY_PRIMING_TOKENS;
  for (const m of prompt.messages) {
    n += TOKENS_PER_MESSAGE + countTokens(m.role) + countTokens(m.content);
    if (m.name !== undefined) n += TOKENS_PER_NAME + countTokens(m.name);
  }
  if (prompt.responseSchema !== undefined) n += RESPONSE_SCHEMA_OVERHEAD_TOKENS + countTokens(JSON.stringify(prompt.responseSchema));
  return n;
}
