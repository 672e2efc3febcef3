import { MAX_VALUE_DEPTH, parseJsonBounded, schemaValidator, type JsonSchemaDoc, type ValidationIssue } from '@pipewright/contracts';

export type ParsedOutput =
  | { ok: true; value: unknown; rung: 'direct' | 'tolerant-parse' }
  | { ok: false; reason: string; issues: ValidationIssue[] };

/**
 * Turns model text into the step's output. Without a schema the text is the output. With one, the text
 * must be JSON valid against it: first as it is, then tolerantly (code fences, prose around the JSON).
 * Output that breaks the schema never passes.
 */
export function parseOutput(text: string, schema: JsonSchemaDoc | undefined): ParsedOutput {
  if (!schema) return { ok: true, value: text, rung: 'direct' };
  const direct = tryJson(text);
  if (direct.ok) {
    const issues = schemaValidator.validate(schema, direct.value);
    return issues.length === 0 ? { ok: true, value: direct.value, rung: 'direct' } : invalid(issues);
  }
  const extracted = extractJson(text);
  if (extracted === undefined) return { ok: false, reason: 'the output is not JSON', issues: [{ path: '(root)', message: 'not JSON' }] };
  const tolerant = tryJson(extracted);
  if (!tolerant.ok) return { ok: false, reason: 'the output is not JSON', issues: [{ path: '(root)', message: 'not JSON' }] };
  const issues = schemaValidator.validate(schema, tolerant.value);
  return issues.length === 0 ? { ok: true, value: tolerant.value, rung: 'tolerant-parse' } : invalid(issues);
}

function invalid(issues: ValidationIssue[]): ParsedOutput {
  return { ok: false, reason: `the output breaks its schema: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues };
}

/** Model output deeper than MAX_VALUE_DEPTH is refused like text that is not JSON: nothing recursive walks it. */
function tryJson(text: string): { ok: true; value: unknown } | { ok: false } {
  const parsed = parseJsonBounded(text, MAX_VALUE_DEPTH);
  return parsed.ok ? parsed : { ok: false };
}

/** The first balanced JSON object or array in the text (inside code fences or prose), if any. */
export function extractJson(text: string): string | undefined {
  const fenced = /```(?:json)?\s*([\s\S]*?)```/i.exec(text);
  const source = fenced?.[1] ?? text;
  const start = source.search(/[[{]/);
  if (start < 0) return undefined;
  let depth = 0;
  let inString = false;
  let escaped = false;
  for (let i = start; i < source.length; i++) {
    const ch = source[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (ch === '\\') escaped = true;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === '{' || ch === '[') depth++;
    else if (ch === '}' || ch === ']') {
      depth--;
      if (depth === 0) return source.slice(start, i + 1);
    }
  }
  return undefined;
}
