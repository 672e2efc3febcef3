import { fromZodError, schemaValidator, type JsonSchemaDoc, type ValidationIssue } from '@pipewright/contracts';
import { z } from 'zod';

/**
 * A tool declares its input (and output) as a zod schema or as a JSON Schema document. Either way it
 * is published as JSON Schema (for the model and for tools in other languages) and checked here, with
 * issues that name the offending field.
 */
export type SchemaLike = z.ZodType | JsonSchemaDoc;

/** What a handler receives: the parsed zod output, or the raw JSON value checked against the JSON Schema. */
export type ValueOf<S extends SchemaLike> = S extends z.ZodType ? z.output<S> : Record<string, unknown>;

export type Checked<T> = { ok: true; value: T } | { ok: false; issues: ValidationIssue[] };

export interface CompiledSchema<T> {
  /** The JSON Schema published in the tool's description. */
  readonly jsonSchema: JsonSchemaDoc;
  check(value: unknown): Checked<T>;
}

/** zod 4 schemas carry `_zod`; checking the marker (not `instanceof`) works across copies of zod. */
function isZod(s: SchemaLike): s is z.ZodType {
  return typeof s === 'object' && s !== null && '_zod' in s;
}

/** Compiles a schema once. A JSON Schema that Ajv cannot compile is a programming error: it throws. */
export function compileSchema<S extends SchemaLike>(schema: S): CompiledSchema<ValueOf<S>> {
  return compile(schema) as CompiledSchema<ValueOf<S>>;
}

function compile(schema: SchemaLike): CompiledSchema<unknown> {
  if (isZod(schema)) {
    const jsonSchema = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' }) as JsonSchemaDoc;
    return {
      jsonSchema,
      check(value) {
        const parsed = schema.safeParse(value);
        return parsed.success ? { ok: true, value: parsed.data } : { ok: false, issues: fromZodError(parsed.error) };
      },
    };
  }
  const compiled = schemaValidator.compile(schema);
  if (!compiled.ok) throw new Error(`invalid JSON Schema: ${compiled.message}`);
  return {
    jsonSchema: schema,
    check(value) {
      const issues = schemaValidator.validate(schema, value);
      return issues.length === 0 ? { ok: true, value } : { ok: false, issues };
    },
  };
}
