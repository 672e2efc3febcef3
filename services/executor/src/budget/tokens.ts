import { setImmediate as nextTurn } from 'node:timers/promises';
import type { ChatMessage, JsonSchemaDoc } from '@pipewright/contracts';

/**
 * Prompt tokens as a model will count them, with a real tokenizer: gpt-tokenizer's o200k_base (the
 * encoding of the gpt-4o, gpt-4.1, gpt-5 and o-series models; the ranks ship with the package, so
 * nothing is downloaded). Other models tokenize differently; the estimate is a reservation, and the
 * commit charges what the provider reports. Chosen over js-tiktoken by `npm run bench -- tokenizer`
 * (same counts, 4x faster to load, 2x on prose, 50-150x on long words); see docs/budget.md.
 *
 * Byte-pair merging costs the square of a piece's length in either library (one word of 32k letters:
 * 1.4 s; 500k: minutes), so the text is counted in slices that bound the work whatever it holds:
 * - cuts fall where the o200k pre-tokenizer always ends a piece (see `exactCut`), so they change
 *   nothing: ordinary text counts exactly;
 * - a stretch of MAX_RUN_CHARS with no such place (one long word, one character repeated, a long run
 *   of symbols or spaces) is cut there anyway. That count is an estimate, almost always high: each such
 *   cut splits at most the one token that spans it, about +1 token per MAX_RUN_CHARS of the run
 *   (+0.5-1 % measured on long words), never more tokens than UTF-8 bytes;
 * - a call of the library counts at most SLICE_CHARS, and the event loop gets a turn once TURN_BUDGET_MS
 *   of counting has passed, so no count holds it for long;
 * - past EXACT_MAX_CHARS the rest of a text is not tokenized at all: it counts its UTF-8 bytes, a proven
 *   upper bound (every o200k token is at least one byte). A reservation may be high, never low, and the
 *   work per count is bounded (about 0.2-2 s of CPU spread over turns) whatever the text's size.
 */

/** Chat format: each message is framed as `<|start|>{role}<|message|>{content}<|end|>`. */
export const TOKENS_PER_MESSAGE = 3;
/** A `name` on a message costs one more token. */
export const TOKENS_PER_NAME = 1;
/** Every reply is primed with `<|start|>assistant<|message|>`. */
export const REPLY_PRIMING_TOKENS = 3;
/** Wrapping of a `json_schema` response format in the prompt, beyond the schema text itself. */
export const RESPONSE_SCHEMA_OVERHEAD_TOKENS = 12;

/** Longest stretch counted as one piece when it has no natural break (a multiple of 3, as digits group by 3). */
export const MAX_RUN_CHARS = 240;
/** Most characters counted in one call of the library: about 1-3 ms of work on these machines, whatever they are. */
export const SLICE_CHARS = 1_024;
/** Characters tokenized per count; the rest is estimated from its length (bytes, an upper bound). */
export const EXACT_MAX_CHARS = 262_144;
/** Work done between two turns of the event loop, so that a long text never holds it for long. */
export const TURN_BUDGET_MS = 5;
/** gpt-tokenizer caches merges per piece; its default of 100,000 pieces of up to MAX_RUN_CHARS could hold ~100 MB. */
const MERGE_CACHE_ENTRIES = 10_000;

type Count = (text: string) => number;
let encoder: Count | undefined;
let loading: Promise<void> | undefined;
let warned = false;

/**
 * Loads the o200k_base encoder and warms it with one short count. The load holds the event loop once
 * (0.15-0.5 s: the ranks module and the encoder's maps), so call it at start-up, before anything is
 * served or consumed. Later calls return the same promise.
 */
export function loadTokenizer(): Promise<void> {
  loading ??= (async () => {
    const o200k = await import('gpt-tokenizer/encoding/o200k_base');
    o200k.setMergeCacheSize(MERGE_CACHE_ENTRIES);
    // User text that looks like a special token is ordinary text: counted, never refused.
    const asText = { disallowedSpecial: new Set<string>() };
    const count: Count = (text) => o200k.countTokens(text, asText);
    count('warm-up: Hello, world! 123');
    encoder = count;
  })();
  return loading;
}

/**
 * Tokens of a text. Before `loadTokenizer` has been called this never loads the encoder (that would
 * hold the loop mid-service): it answers UTF-8 bytes, a proven upper bound (every token is at least
 * one byte), and warns once.
 */
export async function countTokens(text: string): Promise<number> {
  if (!encoder && loading) await loading;
  const count = encoder;
  if (!count) {
    if (!warned) process.emitWarning('token counts are UTF-8 byte upper bounds: loadTokenizer() was not called at start-up', { code: 'PW_TOKENIZER_NOT_LOADED' });
    warned = true;
    return Buffer.byteLength(text, 'utf8');
  }
  if (text.length <= MAX_RUN_CHARS) return count(text);
  let n = 0;
  let counted = 0;
  let turnStarted = performance.now();
  for (const slice of tokenSlices(text)) {
    if (counted >= EXACT_MAX_CHARS) return n + Buffer.byteLength(text.slice(counted), 'utf8');
    n += count(slice.text);
    counted += slice.text.length;
    if (performance.now() - turnStarted >= TURN_BUDGET_MS) {
      await nextTurn();
      turnStarted = performance.now();
    }
  }
  return n;
}

export interface PromptShape {
  messages: readonly (ChatMessage & { name?: string })[];
  /** JSON Schema sent as `response_format`; the provider puts it into the prompt. */
  responseSchema?: JsonSchemaDoc;
}

/** Estimated prompt tokens of a chat completion request, chat-format overhead included. */
export async function estimatePromptTokens(prompt: PromptShape): Promise<number> {
  let n = REPLY_PRIMING_TOKENS;
  for (const m of prompt.messages) {
    n += TOKENS_PER_MESSAGE + (await countTokens(m.role)) + (await countTokens(m.content));
    if (m.name !== undefined) n += TOKENS_PER_NAME + (await countTokens(m.name));
  }
  if (prompt.responseSchema !== undefined) n += RESPONSE_SCHEMA_OVERHEAD_TOKENS + (await countTokens(JSON.stringify(prompt.responseSchema)));
  return n;
}

/** A part of a text counted on its own. `exact`: the cut at its end changes no count (the last part: true). */
export interface TextSlice {
  text: string;
  exact: boolean;
}

/** Character classes of the o200k pre-tokenizer's pattern that decide where a piece must end. */
const enum Kind {
  Space,
  Letter,
  Mark,
  Digit,
  Other,
}

const SPACE = /^\s$/u;
const LETTER = /^\p{L}$/u;
const MARK = /^\p{M}$/u;
const DIGIT = /^\p{N}$/u;
const APOSTROPHE = 0x27;
const CR = 0x0d;
const LF = 0x0a;

function kindOf(cp: number): Kind {
  if (cp < 0x80) {
    if ((cp >= 0x61 && cp <= 0x7a) || (cp >= 0x41 && cp <= 0x5a)) return Kind.Letter;
    if (cp >= 0x30 && cp <= 0x39) return Kind.Digit;
    return cp === 0x20 || (cp >= 0x09 && cp <= 0x0d) ? Kind.Space : Kind.Other;
  }
  const ch = String.fromCodePoint(cp);
  if (SPACE.test(ch)) return Kind.Space;
  if (LETTER.test(ch)) return Kind.Letter;
  if (MARK.test(ch)) return Kind.Mark;
  return DIGIT.test(ch) ? Kind.Digit : Kind.Other;
}

/**
 * Whether the o200k pre-tokenizer always ends a piece between a character of kind `prev` and one of
 * kind `cur` (code point `cp`), whatever comes after: then counting the two sides apart changes nothing.
 * A word (letters, optional `'s`-like suffix) ends before anything but a letter, a mark or `'`; a number
 * (1-3 digits) before anything but a digit; a run of symbols takes the newlines after it, so only a
 * letter or a digit may precede a newline cut. Marks join words and symbols alike: never cut next to one.
 */
function exactCut(prev: Kind, cur: Kind, cp: number): boolean {
  switch (cur) {
    case Kind.Space:
      return cp === CR || cp === LF ? prev === Kind.Letter || prev === Kind.Digit : prev !== Kind.Space;
    case Kind.Other:
      return cp !== APOSTROPHE && (prev === Kind.Letter || prev === Kind.Digit);
    case Kind.Digit:
      return prev === Kind.Letter;
    case Kind.Letter:
      return prev === Kind.Digit;
    case Kind.Mark:
      return false;
  }
}

/**
 * Cuts a text into slices of at most `sliceChars` UTF-16 units, at exact cuts where there are any, and
 * any stretch of `maxRunChars` without one at its end (an estimate). Never inside a surrogate pair.
 */
export function* tokenSlices(text: string, maxRunChars = MAX_RUN_CHARS, sliceChars = SLICE_CHARS): Generator<TextSlice> {
  if (!(maxRunChars >= 2 && sliceChars > maxRunChars)) throw new RangeError(`need 2 <= maxRunChars (${maxRunChars}) < sliceChars (${sliceChars})`);
  let start = 0; // of the slice being built
  let exact = -1; // the last exact cut inside it
  let boundary = 0; // the last place where a piece is known to end
  let prev = Kind.Space;
  for (let i = 0; i < text.length; ) {
    const cp = text.codePointAt(i)!;
    const kind = kindOf(cp);
    if (i > start && exactCut(prev, kind, cp)) exact = boundary = i;
    else if (i - boundary >= maxRunChars) {
      yield { text: text.slice(start, i), exact: false };
      start = boundary = i;
      exact = -1;
    }
    const width = cp > 0xffff ? 2 : 1;
    // With sliceChars > maxRunChars an exact cut is always there: a run without one was cut above.
    if (i + width - start > sliceChars && exact > start) {
      yield { text: text.slice(start, exact), exact: true };
      start = exact;
      exact = -1;
    }
    prev = kind;
    i += width;
  }
  if (start < text.length) yield { text: text.slice(start), exact: true };
}
