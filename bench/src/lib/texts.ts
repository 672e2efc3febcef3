/**
 * Deterministic inputs for the tokenizer benchmark: the same seed gives the same text in every run
 * and every worker, so figures of different libraries and runs compare like for like.
 */

/** mulberry32: a small, fast, seeded PRNG (uniform in [0, 1)). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const COMMON =
  'the of and to a in is it you that he was for on are with as his they be at one have this from or had by not word but what some we can out other were all there when up use your how said an each she which do their time if will way about many then them write would like so these her long make thing see him two has look more day could go come did number sound no most people my over know water than call first who may down side been now find any new work part take get place made live where after back little only round man year came show every good me give our under name very through just form sentence great think say help low line differ turn cause much mean before move right boy old too same tell does set three want air well also play small end put home read hand port large spell add even land here must big high such follow act why ask men change went light kind off need house picture try us again animal point mother world near build self earth father model pipeline budget executor planner approval retry token'.split(
    ' ',
  );
const SYLLABLES = ['ka', 'lo', 'mi', 'tor', 'ven', 'qua', 'shi', 'pra', 'del', 'nu', 'ex', 'zor', 'bli', 'gan', 'rup', 'sel', 'thi', 'wex'];
const EMOJI = ['😀', '🚀', '🎉', '🔥', '👍🏽', '🧪', '🐛', '🌍', '💡', '📦', '🤖', '❤️', '👩‍💻', '🇫🇷', '✅', '⚠️'];

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

/** A word: mostly common English, one in seven a made-up word (real text is not only a cache hit). */
function word(r: () => number): string {
  if (r() < 1 / 7) return Array.from({ length: 2 + Math.floor(r() * 3) }, () => pick(r, SYLLABLES)).join('');
  return pick(r, COMMON);
}

/** English-like prose: capitalised sentences, commas, numbers, paragraphs. At least `chars` long, cut to it. */
export function englishText(chars: number, seed = 1): string {
  const r = seeded(seed);
  const out: string[] = [];
  let n = 0;
  while (n < chars) {
    const words = Array.from({ length: 6 + Math.floor(r() * 14) }, (_, i) => {
      const w = word(r);
      if (r() < 0.05) return String(Math.floor(r() * 10_000));
      return i === 0 ? w[0]!.toUpperCase() + w.slice(1) : w;
    });
    if (words.length > 8 && r() < 0.4) words[4] = `${words[4]},`;
    const sentence = `${words.join(' ')}${r() < 0.1 ? '?' : '.'}${r() < 0.15 ? '\n\n' : ' '}`;
    out.push(sentence);
    n += sentence.length;
  }
  return out.join('').slice(0, chars);
}

/** Minified JSON (as the executor counts schemas and tool lists: no whitespace between tokens). */
export function jsonText(chars: number, seed = 2): string {
  const r = seeded(seed);
  const records: unknown[] = [];
  let n = 2;
  for (let id = 1; n < chars; id++) {
    const rec = {
      id,
      name: `${word(r)} ${word(r)}`,
      email: `${word(r)}.${word(r)}@example.com`,
      tags: Array.from({ length: 1 + Math.floor(r() * 4) }, () => word(r)),
      score: Math.round(r() * 10_000) / 100,
      active: r() < 0.5,
      note: englishText(20 + Math.floor(r() * 80), seed * 1_000_003 + id),
    };
    records.push(rec);
    n += JSON.stringify(rec).length + 1;
  }
  return JSON.stringify(records).slice(0, chars);
}

/** One word of random lowercase letters, no whitespace. */
export function singleWord(chars: number, seed = 3): string {
  const r = seeded(seed);
  return Array.from({ length: chars }, () => String.fromCharCode(97 + Math.floor(r() * 26))).join('');
}

/** Base64 of random bytes, `chars` long. */
export function randomBase64(chars: number, seed = 4): string {
  const r = seeded(seed);
  const bytes = Buffer.from(Array.from({ length: Math.ceil((chars * 3) / 4) + 3 }, () => Math.floor(r() * 256)));
  return bytes.toString('base64').slice(0, chars);
}

/** Emoji (with skin tones, ZWJ sequences and flags), no whitespace, `chars` UTF-16 units at most. */
export function emojiRun(chars: number, seed = 5): string {
  const r = seeded(seed);
  let s = '';
  for (;;) {
    const e = pick(r, EMOJI);
    if (s.length + e.length > chars) return s;
    s += e;
  }
}
