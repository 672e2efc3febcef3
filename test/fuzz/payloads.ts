import fc from 'fast-check';

/**
 * Bad payloads for the fuzz suite, from fixed seeds (the same bytes on every run): each generator
 * starts from a valid template of the target's message and breaks it, so that what arrives looks like
 * the real thing but is refused for one reason a consumer must survive.
 */

/** Why a payload must be refused; `forged` payloads are well formed but wrong (see forged.ts). */
export type Category = 'malformed' | 'oversized' | 'deep' | 'unicode';

export interface BadPayload {
  category: Category;
  bytes: Uint8Array;
}

const enc = new TextEncoder();
/** Nesting used by `deep` payloads: far past MAX_JSON_DEPTH, and past what a recursive walker survives. */
export const DEEP_LEVELS = 100_000;

/** A value nested `levels` deep: arrays or objects, as text (building it as a value would recurse to print it). */
function deepText(levels: number, objects: boolean): string {
  return objects ? `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}` : `${'['.repeat(levels)}${']'.repeat(levels)}`;
}

/** Keys that no contract has; an unknown field is an error in every contract. */
const UNKNOWN_KEY = fc.constantFrom('provder', 'extra', '__proto__x', 'ünknown', '\u202e', 'x'.repeat(40));

/** Text that is not JSON, or JSON of the wrong shape for any message. */
function malformed(template: Record<string, unknown>): fc.Arbitrary<string> {
  const text = JSON.stringify(template);
  const keys = Object.keys(template);
  return fc.oneof(
    fc.string({ maxLength: 200 }).filter((s) => !isJsonObject(s)),
    fc.integer({ min: 1, max: text.length - 1 }).map((cut) => text.slice(0, cut)), // truncated
    fc.jsonValue({ maxDepth: 3 }).filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)).map((v) => JSON.stringify(v)),
    fc.constantFrom(...keys).map((k) => JSON.stringify({ ...template, [k]: undefined })), // a field left out
    fc.tuple(fc.constantFrom(...keys), fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }))).map(([k, v]) =>
      JSON.stringify({ ...template, [k]: typeof template[k] === typeof v && v !== null ? [v] : v }),
    ), // a field of the wrong type
    fc.tuple(UNKNOWN_KEY, fc.jsonValue({ maxDepth: 2 })).map(([k, v]) => JSON.stringify({ ...template, [k]: v ?? 0 })), // an unknown field
    fc.constant(''),
    fc.constant('{}'),
  );
}

function isJsonObject(s: string): boolean {
  try {
    const v: unknown = JSON.parse(s);
    return typeof v === 'object' && v !== null && !Array.isArray(v);
  } catch {
    return false;
  }
}

/** Bytes that are not valid UTF-8, control characters, lone surrogates, bidi overrides, in keys and values. */
function unicode(template: Record<string, unknown>): fc.Arbitrary<Uint8Array> {
  const junk = fc.string({ unit: 'binary', minLength: 1, maxLength: 40 });
  return fc.oneof(
    fc.uint8Array({ minLength: 1, maxLength: 300 }).map((b) => Uint8Array.from([0xff, 0xfe, ...b])), // never UTF-8
    junk.map((s) => enc.encode(JSON.stringify({ ...template, [`\u0000${s}`]: s }))), // a junk key: unknown
    junk.map((s) => enc.encode(JSON.stringify({ ...template, schemaVersion: s }))), // junk where a number must be
    junk.map((s) => enc.encode(`{"\ud800${s}": "\udfff\u0000\u202e"}`)),
  );
}

/**
 * A refused message close to the connection's max_payload: `room` bytes less, so it can be published
 * while its DLQ copy (with the DLQ's headers) cannot be stored whole.
 */
function oversized(template: Record<string, unknown>, maxPayload: number): fc.Arbitrary<Uint8Array> {
  return fc.integer({ min: 40, max: 600 }).map((room) => {
    const base = enc.encode(JSON.stringify({ ...template, padding: '' })).length;
    return enc.encode(JSON.stringify({ ...template, padding: 'x'.repeat(Math.max(0, maxPayload - room - base)) }));
  });
}

/** A valid-looking message with one field nested DEEP_LEVELS deep (its flat fields, e.g. a run id, intact). */
function deep(template: Record<string, unknown>): fc.Arbitrary<Uint8Array> {
  const keys = Object.keys(template);
  return fc.tuple(fc.constantFrom(...keys), fc.boolean()).map(([k, objects]) => {
    const text = JSON.stringify({ ...template, [k]: '\u0001DEEP\u0001' });
    return enc.encode(text.replace('"\\u0001DEEP\\u0001"', deepText(DEEP_LEVELS, objects)));
  });
}

/** `count` bad payloads of every category for one target, from `seed`. */
export function badPayloads(template: Record<string, unknown>, seed: number, count: number, maxPayload: number): BadPayload[] {
  const per = Math.ceil(count / 4);
  const sample = <T>(arb: fc.Arbitrary<T>, offset: number, n: number) => fc.sample(arb, { seed: seed + offset, numRuns: n });
  return [
    ...sample(malformed(template), 1, per * 2 - 2).map((s) => ({ category: 'malformed' as const, bytes: enc.encode(s) })),
    ...sample(unicode(template), 2, per).map((bytes) => ({ category: 'unicode' as const, bytes })),
    ...sample(deep(template), 3, Math.max(1, Math.floor(per / 2))).map((bytes) => ({ category: 'deep' as const, bytes })),
    ...sample(oversized(template, maxPayload), 4, 2).map((bytes) => ({ category: 'oversized' as const, bytes })),
  ].slice(0, count);
}
