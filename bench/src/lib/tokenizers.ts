import { englishText, emojiRun, jsonText, randomBase64, singleWord } from './texts.js';

/**
 * What the tokenizer benchmark compares: the libraries, loaded the way the executor would load them,
 * and the inputs, built from fixed seeds. Shared by the benchmark and its workers.
 */

/** Counts the o200k_base tokens of a text, treating special-token text as ordinary text. */
export type Counter = (text: string) => number | Promise<number>;

/** Libraries that count a text in one call: their counts are exact and must agree. */
export const EXACT_LIBRARIES = ['js-tiktoken', 'gpt-tokenizer'] as const;
/** `pipewright`: the executor's counter (gpt-tokenizer in bounded slices, yielding to the event loop). */
export const LIBRARIES = [...EXACT_LIBRARIES, 'pipewright'] as const;
export type Library = (typeof LIBRARIES)[number];

/** The executor's token counter, from its build (as the service runs it). */
const EXECUTOR_TOKENS_URL = new URL('../../../services/executor/dist/budget/tokens.js', import.meta.url).href;
interface ExecutorTokens {
  loadTokenizer(): Promise<void>;
  countTokens(text: string): Promise<number>;
}

/** Loads (imports and builds) a library's o200k_base encoder; its time is the cost of a cold start. */
export async function loadCounter(lib: Library): Promise<Counter> {
  switch (lib) {
    case 'js-tiktoken': {
      // as the executor used it: the lite build and the o200k_base ranks, one encoder
      const { Tiktoken } = await import('js-tiktoken/lite');
      const { default: ranks } = await import('js-tiktoken/ranks/o200k_base');
      const enc = new Tiktoken(ranks);
      return (text) => enc.encode(text, [], []).length;
    }
    case 'gpt-tokenizer': {
      // only the o200k_base encoding is loaded (the package's per-encoding entry point)
      const { countTokens } = await import('gpt-tokenizer/encoding/o200k_base');
      const asText = { disallowedSpecial: new Set<string>() };
      return (text) => countTokens(text, asText);
    }
    case 'pipewright': {
      const tokens = (await import(EXECUTOR_TOKENS_URL)) as ExecutorTokens;
      await tokens.loadTokenizer();
      return (text) => tokens.countTokens(text);
    }
  }
}

/**
 * Ordinary prompts: English-like prose and minified JSON. Each input is made from a seed: the repeats
 * of a measurement count other texts of the same kind, so caches help as much as they would in service
 * (common words again, new ones too), not more.
 */
export const ORDINARY_CASES = {
  'english-1k': (seed: number) => englishText(1_000, seed),
  'english-10k': (seed: number) => englishText(10_000, seed),
  'english-100k': (seed: number) => englishText(100_000, seed),
  'json-1k': (seed: number) => jsonText(1_000, seed),
  'json-10k': (seed: number) => jsonText(10_000, seed),
  'json-100k': (seed: number) => jsonText(100_000, seed),
} as const;

/** Inputs that make byte-pair merging super-linear: long runs without a break. */
export const PATHOLOGICAL_CASES = {
  'word-2k': (seed: number) => singleWord(2_000, seed),
  'word-8k': (seed: number) => singleWord(8_000, seed),
  'word-32k': (seed: number) => singleWord(32_000, seed),
  'word-500k': (seed: number) => singleWord(500_000, seed),
  // one character repeated: the same text whatever the seed (a cache may answer the repeats)
  'repeat-100k': (_seed: number) => 'a'.repeat(100_000),
  'base64-100k': (seed: number) => randomBase64(100_000, seed),
  'emoji-100k': (seed: number) => emojiRun(100_000, seed),
} as const;

export const CASES = { ...ORDINARY_CASES, ...PATHOLOGICAL_CASES } as const;
export type CaseName = keyof typeof CASES;
