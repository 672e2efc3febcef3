import { monitorEventLoopDelay } from 'node:perf_hooks';
import { beforeAll, describe, expect, it } from 'vitest';
import { countTokens, loadTokenizer } from '../src/budget/tokens.js';

/**
 * Figures, not a timed assertion: how long counting takes and how long it holds the event loop, on
 * texts without whitespace (where byte-pair merging is super-linear) and on ordinary prose, up to 1 MiB.
 * Printed for the record (docs/budget.md); what is asserted is that every estimate is high, never low
 * (at least a cheap lower bound, at most one token a UTF-8 byte).
 */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
const word = (n: number) => {
  const r = seeded(n);
  return Array.from({ length: n }, () => String.fromCharCode(97 + Math.floor(r() * 26))).join('');
};
const prose = (n: number) => {
  const words = ['the', 'budget', 'is', 'reserved', 'before', 'every', 'model', 'call,', 'and', 'committed', 'after.', 'Tokens', 'counted', 'in', '2024.\n'];
  const r = seeded(n + 1);
  const parts: string[] = [];
  let len = 0;
  while (len < n) {
    const w = `${words[Math.floor(r() * words.length)]!} `;
    parts.push(w);
    len += w.length;
  }
  return parts.join('').slice(0, n);
};

const MIB = 1_048_576;
const CASES: Record<string, () => string> = {
  'word-8k': () => word(8_000),
  'word-32k': () => word(32_000),
  'word-500k': () => word(500_000),
  'word-1MiB': () => word(MIB),
  'repeat-1MiB': () => 'a'.repeat(MIB),
  'prose-8k': () => prose(8_000),
  'prose-32k': () => prose(32_000),
  'prose-500k': () => prose(500_000),
  'prose-1MiB': () => prose(MIB),
};

describe('token counting: time and event-loop blocking by input (figures)', () => {
  beforeAll(() => loadTokenizer());

  it('prints ms per count and the longest event-loop stall for each input', async () => {
    const rows: Record<string, { chars: number; tokens: number; ms: number; blockedMaxMs: number }> = {};
    for (const [name, make] of Object.entries(CASES)) {
      const text = make();
      const delay = monitorEventLoopDelay({ resolution: 1 });
      delay.enable();
      const t0 = performance.now();
      const tokens = await countTokens(text);
      const ms = performance.now() - t0;
      delay.disable();
      rows[name] = { chars: text.length, tokens, ms: Math.round(ms), blockedMaxMs: Math.round(delay.max / 1e6) };
      // high, never low: at least a token per 8 letters (o200k's longest merges are shorter), at most one a byte
      expect(tokens).toBeGreaterThanOrEqual(Math.floor(text.length / 8));
      expect(tokens).toBeLessThanOrEqual(Buffer.byteLength(text));
    }
    console.log('[tokens] o200k count per input (blockedMaxMs: longest event-loop stall during the count)');
    console.table(rows);
  });
});
