import type { Condition } from '@pipewright/contracts';
import { isRef, makeRef, refPath } from './ref.js';
import { jsonSchemaOf } from './schema.js';
import { refTemplate } from './template.js';
import type { Field, MapItemDef, OutputSchema, Scope } from './types.js';

// Turning a step definition's fields into spec fields: functions of the scope are called with typed
// references, references become paths or templates, zod schemas become JSON Schema.

/** The scope a step's callbacks receive: references rooted at `input` and `steps`. */
export const rootScope = { input: makeRef('input'), steps: makeRef('steps') } as unknown as Scope<unknown, Record<string, unknown>>;
/** The scope of a map's item step: the root scope plus `item` and `index`. */
export const itemScope = { ...rootScope, item: makeRef('item'), index: makeRef('index') };

/** A field's value: the callback's result over `scope`, or the value as given. */
export function resolve<C, V>(field: Field<C, V>, scope: C): V {
  return typeof field === 'function' && !isRef(field) ? (field as (s: C) => V)(scope) : (field as V);
}

/** A template field, given as text or computed from references. */
export function template<C>(field: Field<C, string> | undefined, scope: C, what: string): string | undefined {
  if (field === undefined) return undefined;
  const value = resolve(field, scope);
  if (typeof value !== 'string') throw new TypeError(`${what} must be a string (use tpl\`…\` to interpolate references)`);
  return value;
}

/** A path field (a map's `over`, an end's `result`), which must be a reference. */
export function path(value: unknown, what: string): string {
  if (!isRef(value)) throw new TypeError(`${what} must be a reference such as input.lines or steps.<id>.output.<field>`);
  return refPath(value);
}

/** A sub-pipeline input field: a reference (kept whole: `{{path}}`) or a template. */
export function inputField(value: unknown, what: string): string {
  if (isRef(value)) return refTemplate(value);
  if (typeof value !== 'string') throw new TypeError(`${what} must be a reference or a template string`);
  return value;
}

/** A condition, cloned so the spec owns it. */
export function condition<C>(field: Field<C, Condition> | undefined, scope: C): Condition | undefined {
  return field === undefined ? undefined : structuredClone(resolve(field, scope));
}

/** Leaves out the fields that are undefined, so the spec holds only what was given. */
export function defined<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** The model fields of an llm/agent step or a map's item step, over `scope`. */
export function modelBody<C>(def: MapItemDef<C, string, OutputSchema>, scope: C, at: string): Record<string, unknown> & { kind: 'llm' | 'agent'; prompt: string; system?: string } {
  const { system, prompt, output, kind, ...rest } = def as MapItemDef<C, string, OutputSchema> & { kind?: 'llm' | 'agent' };
  return defined({
    kind: kind ?? 'llm',
    system: template(system, scope, `${at}.system`),
    prompt: template(prompt, scope, `${at}.prompt`) as string,
    ...structuredClone(rest),
    output: output === undefined ? undefined : jsonSchemaOf(output, 'output'),
  });
}
