// Deterministic JSON Schema instance generator: given a schema and a seed string, produce a small
// value that validates. Covers what structured-output schemas use in practice (objects, arrays,
// scalars with bounds, enum/const, anyOf/oneOf/allOf, local $ref); `pattern` is not honoured.
import { hashInt, shortHash } from './prng.js';
import type { JsonSchema } from './request.js';

/** Past this depth only required properties and minItems items are generated (recursive schemas). */
const SOFT_DEPTH = 8;
/** Hard recursion guard for schemas that require their own recursion. */
const MAX_DEPTH = 24;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface Ctx {
  root: JsonSchema;
  seed: string;
}

const isSchema = (v: unknown): v is JsonSchema => typeof v === 'object' && v !== null && !Array.isArray(v);

function resolveRef(ref: string, root: JsonSchema): JsonSchema {
  if (ref === '#') return root;
  if (!ref.startsWith('#/')) return {};
  let node: unknown = root;
  for (const raw of ref.slice(2).split('/')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    node = isSchema(node) ? node[key] : undefined;
  }
  return isSchema(node) ? node : {};
}

function typeOf(schema: JsonSchema): string | undefined {
  const t = schema['type'];
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) return (t.find((x) => x !== 'null') ?? t[0]) as string | undefined;
  if (isSchema(schema['properties'])) return 'object';
  if (schema['items'] !== undefined) return 'array';
  return undefined;
}

const list = (v: unknown): unknown[] | undefined => (Array.isArray(v) ? (v as unknown[]) : undefined);

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

function genNumber(schema: JsonSchema, integer: boolean, h: number): number {
  const exMin = num(schema['exclusiveMinimum']);
  const exMax = num(schema['exclusiveMaximum']);
  let lo = num(schema['minimum']) ?? (exMin !== undefined ? exMin + (integer ? 1 : 0) : undefined);
  let hi = num(schema['maximum']) ?? (exMax !== undefined ? exMax - (integer ? 1 : 0) : undefined);
  if (integer) {
    lo = lo === undefined ? undefined : Math.ceil(lo);
    hi = hi === undefined ? undefined : Math.floor(hi);
  }
  if (lo === undefined && hi === undefined) lo = 0;
  if (lo === undefined) lo = (hi as number) - 100;
  if (hi === undefined) hi = lo + 100;
  if (integer) return hi < lo ? lo : lo + (h % (hi - lo + 1));
  // Strictly inside the range, so exclusive bounds hold too.
  const frac = 0.25 + ((h % 1000) / 1000) * 0.5;
  return Math.round((lo + (hi - lo) * frac) * 100) / 100;
}

function genString(schema: JsonSchema, name: string, hash: string): string {
  const format = schema['format'];
  let s: string;
  if (format === 'date-time') s = '2024-01-01T00:00:00Z';
  else if (format === 'date') s = '2024-01-01';
  else if (format === 'time') s = '00:00:00Z';
  else if (format === 'email') s = `sim-${hash}@example.com`;
  else if (format === 'uri' || format === 'url') s = `https://example.com/${hash}`;
  else if (format === 'uuid') {
    const x = shortHash(hash, 32);
    s = `${x.slice(0, 8)}-${x.slice(8, 12)}-4${x.slice(13, 16)}-8${x.slice(17, 20)}-${x.slice(20, 32)}`;
  } else s = `${name} of ${hash}`;
  const min = num(schema['minLength']) ?? 0;
  const max = num(schema['maxLength']);
  if (s.length < min) s = s.padEnd(min, 'x');
  if (max !== undefined && s.length > max) s = s.slice(0, max);
  return s;
}

function gen(schema: unknown, path: string, name: string, depth: number, ctx: Ctx): Json {
  if (!isSchema(schema) || depth > MAX_DEPTH) return null;
  if (typeof schema['$ref'] === 'string') {
    return gen(resolveRef(schema['$ref'], ctx.root), path, name, depth + 1, ctx);
  }
  if ('const' in schema) return schema['const'] as Json;
  const en = schema['enum'];
  if (Array.isArray(en) && en.length > 0) return en[0] as Json;
  for (const key of ['anyOf', 'oneOf'] as const) {
    const options = list(schema[key]);
    if (options !== undefined && options.length > 0) {
      // Prefer the first non-null branch: a null answer is valid but useless.
      const pick = options.find((o) => !(isSchema(o) && o['type'] === 'null')) ?? options[0];
      return gen(pick, path, name, depth + 1, ctx);
    }
  }
  const allOf = list(schema['allOf']);
  if (allOf !== undefined && allOf.length > 0) {
    const merged: JsonSchema = {
      ...schema,
      properties: isSchema(schema['properties']) ? { ...schema['properties'] } : {},
      required: Array.isArray(schema['required']) ? [...(schema['required'] as string[])] : [],
    };
    for (const part of allOf) {
      const p = isSchema(part) && typeof part['$ref'] === 'string' ? resolveRef(part['$ref'], ctx.root) : part;
      if (!isSchema(p)) continue;
      Object.assign(merged, p, {
        properties: { ...(merged['properties'] as object), ...(isSchema(p['properties']) ? p['properties'] : {}) },
        required: [...(merged['required'] as string[]), ...(Array.isArray(p['required']) ? (p['required'] as string[]) : [])],
      });
    }
    delete merged['allOf'];
    return gen(merged, path, name, depth + 1, ctx);
  }
  const hash = shortHash(`${ctx.seed}|${path}`);
  const h = hashInt(`${ctx.seed}|${path}|n`);
  switch (typeOf(schema)) {
    case 'object': {
      const props = isSchema(schema['properties']) ? schema['properties'] : {};
      const required = Array.isArray(schema['required']) ? (schema['required'] as unknown[]).map(String) : [];
      const out: Record<string, Json> = {};
      for (const [key, sub] of Object.entries(props)) {
        if (depth <= SOFT_DEPTH || required.includes(key)) out[key] = gen(sub, `${path}/${key}`, key, depth + 1, ctx);
      }
      for (const key of required) {
        if (!(key in out)) out[key] = `${key} of ${shortHash(`${ctx.seed}|${path}/${key}`)}`;
      }
      return out;
    }
    case 'array': {
      const max = num(schema['maxItems']);
      const min = num(schema['minItems']) ?? 0;
      const count = Math.min(depth <= SOFT_DEPTH ? Math.max(1, min) : min, max ?? Infinity);
      const prefix = Array.isArray(schema['prefixItems']) ? (schema['prefixItems'] as unknown[]) : [];
      const items: Json[] = [];
      for (let i = 0; i < Math.max(count, prefix.length); i++) {
        items.push(gen(prefix[i] ?? schema['items'] ?? {}, `${path}/${i}`, name, depth + 1, ctx));
      }
      return items;
    }
    case 'string':
      return genString(schema, name, hash);
    case 'integer':
      return genNumber(schema, true, h);
    case 'number':
      return genNumber(schema, false, h);
    case 'boolean':
      return h % 2 === 0;
    case 'null':
      return null;
    default:
      // No type at all: any value validates; a string is the most useful.
      return `${name} of ${hash}`;
  }
}

/**
 * A value that satisfies `schema`, the same for the same `seed`. Strings look like
 * `"<propName> of <hash>"`, enums take their first value, arrays have max(1, minItems) items.
 */
export function generateFromSchema(schema: JsonSchema, seed: string): unknown {
  return gen(schema, '', 'value', 0, { root: schema, seed });
}
