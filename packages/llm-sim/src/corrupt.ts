// Bad model output, on purpose. `malformed` is content a strict JSON.parse rejects; `schema-break` is
// valid JSON that a schema validator rejects. Both are what a repair ladder has to cope with.
import type { JsonSchema } from './request.js';

/** How a malformed answer is broken. `fenced` is repairable by a tolerant parser; `truncated` is not. */
export type MalformedVariant = 'fenced' | 'truncated';

/**
 * `fenced`: the JSON inside a ```json code fence followed by chatty prose.
 * `truncated`: the first half of the text, cut before its closing brace (as if the stream died).
 */
export function malformText(text: string, variant: MalformedVariant): string {
  if (variant === 'fenced') return '```json\n' + text + '\n```\nLet me know if you need anything else!';
  const cut = Math.max(1, Math.min(Math.floor(text.length / 2), text.length - 1));
  const truncated = text.slice(0, cut);
  // Half of `{}` is `{`, which still fails; a text answer (no JSON) just ends early.
  return truncated.length > 0 ? truncated : '{';
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function rootObjectSchema(schema: JsonSchema | undefined): JsonSchema | undefined {
  if (schema === undefined) return undefined;
  const ref = schema['$ref'];
  if (typeof ref === 'string' && ref.startsWith('#/')) {
    let node: unknown = schema;
    for (const key of ref.slice(2).split('/')) node = isObject(node) ? node[key] : undefined;
    return isObject(node) ? node : schema;
  }
  return schema;
}

/** A value of a different JSON type than `schema` asks for. */
function wrongTypeFor(schema: unknown): unknown {
  const type = isObject(schema) ? schema['type'] : undefined;
  return type === 'string' ? 12345 : 'not-a-' + (typeof type === 'string' ? type : 'value');
}

/**
 * Valid JSON that breaks `schema`: drops the first required property present in `value`; with none
 * required, gives the first declared property a wrong type; otherwise returns a value of the wrong
 * JSON type. Without a schema, drops the first property of an object.
 */
export function breakSchema(value: unknown, schema: JsonSchema | undefined): unknown {
  const s = rootObjectSchema(schema);
  if (!isObject(value)) return { __sim_schema_break: true };
  const copy: Record<string, unknown> = { ...value };
  const required = s !== undefined && Array.isArray(s['required']) ? (s['required'] as unknown[]).map(String) : [];
  const victim = required.find((k) => k in copy) ?? (s === undefined ? Object.keys(copy)[0] : undefined);
  if (victim !== undefined) {
    delete copy[victim];
    return copy;
  }
  const props = s !== undefined && isObject(s['properties']) ? s['properties'] : {};
  const first = Object.keys(props).find((k) => k in copy);
  if (first !== undefined) {
    copy[first] = wrongTypeFor(props[first]);
    return copy;
  }
  return [value];
}
