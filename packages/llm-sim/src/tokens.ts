// Token estimates. The simulator does not tokenize: it uses the well-known "about four characters
// per token" rule, which is close enough for budget and usage tests and costs nothing.

/** Characters per simulated token. */
export const CHARS_PER_TOKEN = 4;

/** Tokens for a piece of text: ceil(chars / 4), and at least 1. */
export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / CHARS_PER_TOKEN));
}

/** Prompt tokens for a list of message texts: each message counts at least one token. */
export function estimatePromptTokens(messageTexts: readonly string[]): number {
  let total = 0;
  for (const text of messageTexts) total += estimateTokens(text);
  return total;
}

/**
 * Cuts `text` so that it fits in `maxTokens` simulated tokens. Returns the text unchanged when it
 * already fits, which callers detect by comparing lengths.
 */
export function truncateToTokens(text: string, maxTokens: number): string {
  const maxChars = Math.max(0, maxTokens) * CHARS_PER_TOKEN;
  return text.length <= maxChars ? text : text.slice(0, maxChars);
}
