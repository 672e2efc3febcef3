import type { ChatMessage } from '@pipewright/contracts';

/** Rough token count of a message: ~4 characters a token, plus the chat format's overhead. */
export function estimateTokens(m: ChatMessage): number {
  const calls = m.toolCalls ? JSON.stringify(m.toolCalls).length : 0;
  return Math.ceil((m.content.length + calls) / 4) + 4;
}

/**
 * Keeps an agent's history within `budgetTokens`: whole turns (an assistant tool call with its tool
 * result) are dropped oldest first, and a note says how many were left out, so context stays bounded
 * however long the loop runs. The newest turn is always kept.
 */
export function trimHistory(history: readonly ChatMessage[], budgetTokens: number): ChatMessage[] {
  const turns: ChatMessage[][] = [];
  for (const m of history) {
    if (m.role === 'assistant' || turns.length === 0) turns.push([m]);
    else turns[turns.length - 1]!.push(m);
  }
  let total = 0;
  let keepFrom = turns.length;
  for (let i = turns.length - 1; i >= 0; i--) {
    const cost = turns[i]!.reduce((n, m) => n + estimateTokens(m), 0);
    if (total + cost > budgetTokens && keepFrom < turns.length) break;
    total += cost;
    keepFrom = i;
  }
  const kept = turns.slice(keepFrom).flat();
  if (keepFrom === 0) return kept;
  return [{ role: 'user', content: `[${keepFrom} earlier tool call(s) omitted to stay within the history budget]` }, ...kept];
}
