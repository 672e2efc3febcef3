import { countTokens as exactCount } from 'gpt-tokenizer/encoding/o200k_base';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { countTokens, EXACT_MAX_CHARS, loadTokenizer, MAX_RUN_CHARS, SLICE_CHARS, tokenSlices, type TextSlice } from '../src/budget/tokens.js';

/** The library's own count of the whole text in one call: what the slices must add up to. */
const exact = (text: string) => exactCount(text, { disallowedSpecial: new Set() });

/** mulberry32, so that every run tests the same texts. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

// Pieces of every kind the pre-tokenizer treats differently: words, capitals, contractions, digits,
// symbols, URLs, JSON, CJK, accents and combining marks, emoji, special-token text, all whitespaces.
const PARTS = [
  'hello', 'World', "don't", "it's", "O'Neil", 'HTTPServer', 'camelCase', '12345', '3.14159', '1,000,000', 'v2', 'x86_64',
  '!!!', '?!', '...', '—', '"quoted"', '(paren)', '{"a":1,"b":[true,null]}', 'https://example.com/a/b?c=d&e=f', 'a/b/c', '-->', '#tag', '@user',
  '日本語のテキスト', '中文，标点。', 'naïve', 'café', 'e\u0301', 'a\u0308\u0301', '😀', '👍🏽', '👩‍💻', '🇫🇷', '<|endoftext|>', '<|im_start|>',
  ' ', '  ', '   ', '\n', '\n\n', '\r\n', '\t', ' \n', '\u00a0', '\u3000',
];
function mixedText(seed: number, parts: number): string {
  const r = seeded(seed);
  return Array.from({ length: parts }, () => PARTS[Math.floor(r() * PARTS.length)]!).join('');
}

function prose(chars: number): string {
  const words = ['the', 'budget', 'is', 'reserved', 'before', 'every', 'model', 'call,', 'and', 'committed', 'after.', 'Tokens', 'are', 'counted', 'with', 'o200k_base', 'in', '2024', 'runs.\n'];
  const r = seeded(7);
  let s = '';
  while (s.length < chars) s += `${words[Math.floor(r() * words.length)]!} `;
  return s.slice(0, chars);
}

const texts = (slices: Iterable<TextSlice>) => [...slices].map((s) => s.text);

describe('token counting', () => {
  beforeAll(() => loadTokenizer());

  it('before loadTokenizer, answers the UTF-8 byte upper bound instead of loading on the spot', async () => {
    vi.resetModules();
    const fresh = await import('../src/budget/tokens.js');
    expect(await fresh.countTokens('héllo wörld, 👍')).toBe(Buffer.byteLength('héllo wörld, 👍'));
  });

  it('counts ordinary text exactly: prose, JSON, code, CJK, emoji and special-token text', async () => {
    const samples = [
      'hello world',
      '',
      '<|endoftext|> is text here, not a special token',
      prose(100_000),
      JSON.stringify({ users: Array.from({ length: 400 }, (_, i) => ({ id: i, name: `user ${i}`, tags: ['a', 'b'], score: i / 7 })) }),
      'function f(x) {\n\treturn x * 2; // double\n}\n'.repeat(300),
      '日本語のテキストです。中文，标点。'.repeat(200),
      'emoji 👍🏽 and 👩‍💻 and flags 🇫🇷 '.repeat(300),
    ];
    for (const t of samples) expect(await countTokens(t)).toBe(exact(t));
  });

  it('cuts only where the count cannot change, whatever the mix of characters', () => {
    // tiny limits make the slicer cut at nearly every place it may; every cut it calls exact is checked
    // against the library: left + right = whole
    let cuts = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const text = mixedText(seed, 40);
      const whole = exact(text);
      let at = 0;
      for (const s of tokenSlices(text, 2, 3)) {
        at += s.text.length;
        if (!s.exact || at === text.length) continue;
        cuts++;
        expect(exact(text.slice(0, at)) + exact(text.slice(at)), `seed ${seed}, cut at ${at}: ${JSON.stringify(text.slice(at - 5, at + 5))}`).toBe(whole);
      }
    }
    expect(cuts).toBeGreaterThan(500);
    // small slices force many cuts: their counts still add up
    for (let seed = 100; seed < 140; seed++) {
      const text = mixedText(seed, 120);
      const slices = [...tokenSlices(text, 48, 64)];
      if (slices.every((s) => s.exact)) expect(slices.reduce((n, s) => n + exact(s.text), 0), `seed ${seed}`).toBe(exact(text));
    }
  });

  it('chunks any text: slices of bounded size, nothing lost, never inside a surrogate pair', () => {
    const inputs = [prose(50_000), 'a'.repeat(10_000), ' '.repeat(10_000), '!'.repeat(10_000), '😀'.repeat(5_000), '7'.repeat(9_000), mixedText(3, 2_000)];
    for (const text of inputs) {
      const slices = [...tokenSlices(text)];
      expect(slices.map((s) => s.text).join('')).toBe(text);
      for (const s of slices) {
        expect(s.text.length).toBeLessThanOrEqual(SLICE_CHARS);
        expect(s.text.length).toBeGreaterThan(0);
        expect(/^[\uDC00-\uDFFF]/.test(s.text)).toBe(false);
      }
    }
    // a run with no natural break is cut every MAX_RUN_CHARS, and those cuts are marked as estimates
    const word = texts(tokenSlices('q'.repeat(1_000)));
    expect(word.map((s) => s.length)).toEqual([240, 240, 240, 240, 40]);
    expect(MAX_RUN_CHARS).toBe(240);
    expect([...tokenSlices('q'.repeat(1_000))].map((s) => s.exact)).toEqual([false, false, false, false, true]);
    // prose is cut at a word boundary near the slice limit, exactly
    const p = [...tokenSlices(prose(20_000))];
    expect(p.every((s) => s.exact)).toBe(true);
    expect(p.slice(0, -1).every((s) => s.text.length > SLICE_CHARS - 40)).toBe(true);
    expect(() => tokenSlices('x', 10, 10).next()).toThrow(RangeError);
  });

  it('estimates a 500 kB word sanely, a little high', async () => {
    const r = seeded(11);
    const letters = (n: number) => Array.from({ length: n }, () => String.fromCharCode(97 + Math.floor(r() * 26))).join('');
    const w8k = letters(8_000);
    const est8k = await countTokens(w8k);
    expect(est8k).toBeGreaterThanOrEqual(exact(w8k));
    expect(est8k).toBeLessThanOrEqual(exact(w8k) * 1.02);
    // 500k: no exact count in reasonable time; past EXACT_MAX_CHARS the rest counts its bytes, so the
    // estimate lies between the 8k word's tokens per letter and one token a byte
    const big = letters(500_000);
    const est = await countTokens(big);
    const perLetter = exact(w8k) / 8_000;
    expect(est / (perLetter * 500_000)).toBeGreaterThan(0.98);
    expect(est).toBeLessThanOrEqual(Buffer.byteLength(big));
    const counted = await countTokens(big.slice(0, EXACT_MAX_CHARS));
    // the rest (all but the last run cut before the cap) counts one token a letter
    expect(est).toBeGreaterThanOrEqual(counted + 500_000 - EXACT_MAX_CHARS - MAX_RUN_CHARS);
  });

  it('counts a text past EXACT_MAX_CHARS high, never low: exactly up to the cap, bytes after it', async () => {
    const text = prose(EXACT_MAX_CHARS + 50_000);
    const est = await countTokens(text);
    expect(est).toBeGreaterThanOrEqual(exact(text));
    expect(est).toBeLessThanOrEqual(Buffer.byteLength(text));
    // a text within the cap is still counted exactly
    const within = prose(EXACT_MAX_CHARS - 1_000);
    expect(await countTokens(within)).toBe(exact(within));
  });
});
