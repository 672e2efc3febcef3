import type { JsonSchemaDoc } from '@pipewright/contracts';
import { z } from 'zod';

/** A zod schema (zod 4) or a JSON Schema document written out. */
export type SchemaSource = z.ZodType | JsonSchemaDoc;

/** zod 4 schemas carry `_zod`; checking the marker (not `instanceof`) works across copies of zod. */
export function isZodSchema(s: unknown): s is z.ZodType {
  return typeof s === 'object' && s !== null && '_zod' in s;
}

/**
 * A zod schema as the JSON Schema (draft 2020-12, the dialect the planner validates with) of the values
 * a step produces or a run takes, by zod's own converter. `io: 'output'` (step outputs): the value zod
 * would hand back, so objects are closed (`additionalProperties: false`), as providers' strict
 * structured outputs require. `io: 'input'` (the run input): what a caller may send, so fields with
 * defaults are optional and objects stay open unless declared strict. `$schema` is left out (the
 * dialect is implied). A schema JSON cannot express (a function, a Date…) throws, naming the field.
 */
export function jsonSchemaOf(schema: SchemaSource, io: 'input' | 'output'): JsonSchemaDoc {
  if (!isZodSchema(schema)) return schema;
  const { $schema: _dialect, ...doc } = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'throw' }) as JsonSchemaDoc;
  return doc;
}

/**
 * A tool's argument schema exactly as `serveTool` (@pipewright/tools) publishes it in the tool's
 * description, so a pipeline's declaration and the tool's registration are the same document.
 */
export function toolSchemaOf(schema: SchemaSource): JsonSchemaDoc {
  if (!isZodSchema(schema)) return schema;
  return z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' });
}
