/**
 * Limits every service applies to a message at its boundary, before anything walks the decoded value.
 * `JSON.parse` builds a value of any depth iteratively, but what comes after it recurses: zod's
 * checks, JSON Schema validation, `JSON.stringify` of a run's state, the logger. A value nested
 * 100,000 deep overflows the stack in each of them, so depth is checked on the text, in one linear scan,
 * before the text is parsed. Size is bounded by the connection's max_payload (1 MiB by default) on the
 * bus and by the approver's 1 MiB body limit on its HTTP API.
 */

/** Deepest nesting of arrays and objects accepted in any message (the top-level object is level 1). */
export const MAX_JSON_DEPTH = 64;

/**
 * Deepest nesting of a value a service takes from outside and puts into messages of its own (a model's
 * output, a tool call's arguments): room is left for the levels of the messages that carry it, so an
 * accepted value never makes a later message too deep for its consumer.
 */
export const MAX_VALUE_DEPTH = MAX_JSON_DEPTH - 16;

/** Outcome of `parseJsonBounded`: the value, or why the text was refused without walking it. */
export type BoundedJson = { ok: true; value: unknown } | { ok: false; kind: 'not-json' | 'too-deep'; reason: string };

/**
 * The nesting depth of a JSON text, counted without parsing it; stops counting (and answers `limit + 1`)
 * as soon as it passes `limit`. Brackets inside strings are skipped. Linear in the text's length.
 */
export function jsonDepth(text: string, limit = MAX_JSON_DEPTH): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max && (max = depth) > limit) return limit + 1;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

/** Parses a JSON text that is no deeper than `maxDepth`; a deeper one is refused before it is parsed. */
export function parseJsonBounded(text: string, maxDepth = MAX_JSON_DEPTH): BoundedJson {
  if (jsonDepth(text, maxDepth) > maxDepth) return { ok: false, kind: 'too-deep', reason: `too deep: nested more than ${maxDepth} levels` };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    return { ok: false, kind: 'not-json', reason: `not JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/**
 * The top-level fields of a JSON object text whose values are strings, numbers or booleans, however
 * deep the rest is: what a refusal may still use (a run id to tell the sender). Every nested value is
 * cut out of the text in one linear scan before the rest is parsed: parsing 100,000 levels takes
 * ~100 ms even though it does not recurse, and nothing nested is kept anyway.
 */
export function shallowFields(text: string): Record<string, string | number | boolean> | undefined {
  const flat: string[] = [];
  let depth = 0;
  let inString = false;
  let kept = 0; // start of the text not yet copied (or skipped)
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth === 2) flat.push(text.slice(kept, i), 'null');
    } else if (c === 0x5d || c === 0x7d) {
      if (depth-- === 2) kept = i + 1;
    }
  }
  flat.push(text.slice(kept));
  let value: unknown;
  try {
    value = JSON.parse(flat.join(''));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
  return out;
}
