import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { ValidationIssue } from './common.js';

// ajv-formats is CommonJS; under NodeNext its default import is the module object.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

/**
 * Validates JSON values against user-supplied JSON Schemas (pipeline inputs, step outputs, tool
 * arguments). Compiled validators are cached by schema text, so a schema is compiled once per process.
 */
export class SchemaValidator {
  private readonly ajv: Ajv2020;
  private readonly cache = new Map<string, ValidateFunction>();

  constructor() {
    this.ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: true });
    addFormats(this.ajv);
  }

  /** Compiles a schema; returns the reason when the schema itself is invalid. */
  compile(schema: Record<string, unknown>): { ok: true; validate: ValidateFunction } | { ok: false; message: string } {
    const key = JSON.stringify(schema);
    const hit = this.cache.get(key);
    if (hit) return { ok: true, validate: hit };
    try {
      const validate = this.ajv.compile(schema);
      if (this.cache.size > 1000) this.cache.clear();
      this.cache.set(key, validate);
      return { ok: true, validate };
    } catch (err) {
      return { ok: false, message: err instanceof Error ? err.message : String(err) };
    }
  }

  /** Validates a value; an empty list means valid. `basePath` prefixes every issue's path. */
  validate(schema: Record<string, unknown>, value: unknown, basePath = ''): ValidationIssue[] {
    const compiled = this.compile(schema);
    if (!compiled.ok) return [{ path: basePath || '(schema)', message: `invalid JSON Schema: ${compiled.message}` }];
    if (compiled.validate(value)) return [];
    return (compiled.validate.errors ?? []).map((e) => toIssue(e, basePath));
  }
}

function toIssue(e: ErrorObject, basePath: string): ValidationIssue {
  const pointer = e.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  let path = basePath;
  for (const seg of pointer) path += /^\d+$/.test(seg) ? `[${seg}]` : path ? `.${seg}` : seg;
  if (e.keyword === 'required' && typeof e.params['missingProperty'] === 'string') {
    const missing = e.params['missingProperty'];
    path = path ? `${path}.${missing}` : missing;
    return { path, message: 'is required' };
  }
  if (e.keyword === 'additionalProperties' && typeof e.params['additionalProperty'] === 'string') {
    const extra = e.params['additionalProperty'];
    return { path: path ? `${path}.${extra}` : extra, message: 'is not allowed' };
  }
  return { path: path || '(root)', message: e.message ?? e.keyword };
}

/** One shared instance per process. */
export const schemaValidator = new SchemaValidator();
