import type { ChatMessage } from '@pipewright/contracts';

/** Rough token count of a message: ~4 characters a token, plus the chat format's overhead. */
export function estimateTokens(m: ChatMessage): number {
  const calls = m.toolCalls ? JSON.stringify(m.toolCalls).length : 0;
  return Math.ceil((m.content.length + calls) / 4) + 4;
}

/**
 * Keeps an agent's history within `budgetTokens`: whole turns (an assistant tool call with its tool
 * result) are dropped oldest first, so context — and the stored run — stays bounded however long the
 * loop runs. The newest turn is always kept. Says how many turns were dropped.
 */
export function trimHistory(history: readonly ChatMessage[], budgetTokens: number): { kept: ChatMessage[]; dropped: number } {
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
  return { kept: turns.slice(keepFrom).flat(), dropped: keepFrom };
}

/** The history as the model reads it: a note of what was left out, then what was kept. */
export function historyMessages(kept: readonly ChatMessage[], omitted: number): ChatMessage[] {
  if (omitted === 0) return [...kept];
  return [{ role: 'user', content: `[${omitted} earlier tool call(s) omitted to stay within the history budget]` }, ...kept];
}
