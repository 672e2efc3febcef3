// Rendering an Answer in the OpenAI wire shapes: a `chat.completion` object, or a server-sent event
// stream of `chat.completion.chunk` objects ending with an optional usage chunk and `[DONE]`.
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Answer } from './answer.js';
import { isGone } from './http.js';

/** Characters of content per streamed chunk. */
export const STREAM_CHUNK_CHARS = 16;

export interface CompletionMeta {
  id: string;
  created: number;
  model: string;
}

/** A fresh `chatcmpl-…` id. Ids are unique per call; only the answer itself is deterministic. */
export function completionId(): string {
  return `chatcmpl-sim${randomUUID().replaceAll('-', '').slice(0, 24)}`;
}

function usageOf(a: Answer): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  return { prompt_tokens: a.promptTokens, completion_tokens: a.completionTokens, total_tokens: a.promptTokens + a.completionTokens };
}

function toolCallsOf(a: Answer): unknown[] {
  return a.toolCalls.map((t) => ({ id: t.id, type: 'function', function: { name: t.name, arguments: t.arguments } }));
}

/** The non-streaming response body. */
export function completionBody(meta: CompletionMeta, a: Answer): unknown {
  const message: Record<string, unknown> = { role: 'assistant', content: a.content, refusal: null };
  if (a.toolCalls.length > 0) message['tool_calls'] = toolCallsOf(a);
  return {
    id: meta.id,
    object: 'chat.completion',
    created: meta.created,
    model: meta.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: a.finishReason }],
    usage: usageOf(a),
    system_fingerprint: 'fp_llm_sim',
  };
}

function split(text: string, size: number): string[] {
  const parts: string[] = [];
  for (let i = 0; i < text.length; i += size) parts.push(text.slice(i, i + size));
  return parts;
}

/** The chunk payloads of a streamed answer, in order, without the `[DONE]` terminator. */
export function completionChunks(meta: CompletionMeta, a: Answer, includeUsage: boolean): unknown[] {
  const usage = includeUsage ? { usage: null } : {};
  const chunk = (delta: unknown, finish: string | null): unknown => ({
    id: meta.id,
    object: 'chat.completion.chunk',
    created: meta.created,
    model: meta.model,
    system_fingerprint: 'fp_llm_sim',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...usage,
  });
  const out: unknown[] = [chunk({ role: 'assistant', content: a.toolCalls.length > 0 ? null : '', refusal: null }, null)];
  for (const part of split(a.content ?? '', STREAM_CHUNK_CHARS)) out.push(chunk({ content: part }, null));
  a.toolCalls.forEach((t, index) => {
    out.push(chunk({ tool_calls: [{ index, id: t.id, type: 'function', function: { name: t.name, arguments: '' } }] }, null));
    for (const part of split(t.arguments, STREAM_CHUNK_CHARS)) {
      out.push(chunk({ tool_calls: [{ index, function: { arguments: part } }] }, null));
    }
  });
  out.push(chunk({}, a.finishReason));
  if (includeUsage) {
    out.push({ id: meta.id, object: 'chat.completion.chunk', created: meta.created, model: meta.model, system_fingerprint: 'fp_llm_sim', choices: [], usage: usageOf(a) });
  }
  return out;
}

/** Writes the whole SSE stream and ends the response. */
export function writeStream(res: ServerResponse, meta: CompletionMeta, a: Answer, includeUsage: boolean): void {
  if (isGone(res)) return;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  for (const payload of completionChunks(meta, a, includeUsage)) res.write(`data: ${JSON.stringify(payload)}\n\n`);
  res.end('data: [DONE]\n\n');
}
