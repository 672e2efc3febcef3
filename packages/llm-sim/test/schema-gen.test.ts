import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { breakSchema, malformText } from '../src/corrupt.js';
import { generateFromSchema } from '../src/index.js';

const ajv = new Ajv2020({ strict: false, validateFormats: false });

const cases: Record<string, Record<string, unknown>> = {
  scalars: {
    type: 'object',
    properties: {
      i: { type: 'integer', minimum: -3, maximum: -1 },
      ex: { type: 'integer', exclusiveMinimum: 5, exclusiveMaximum: 7 },
      hi: { type: 'number', maximum: -1000 },
      n: { type: 'number' },
      b: { type: 'boolean' },
      short: { type: 'string', maxLength: 4 },
      long: { type: 'string', minLength: 50 },
      nullable: { type: ['string', 'null'] },
      nothing: { type: 'null' },
    },
    required: ['i', 'ex', 'hi', 'n', 'b', 'short', 'long', 'nullable', 'nothing'],
  },
  arrays: {
    type: 'object',
    properties: {
      many: { type: 'array', items: { type: 'integer' }, minItems: 3 },
      none: { type: 'array', items: { type: 'string' }, maxItems: 0 },
      tuple: { type: 'array', prefixItems: [{ type: 'string' }, { type: 'number' }], items: false },
    },
    required: ['many', 'none', 'tuple'],
  },
  combinators: {
    type: 'object',
    properties: {
      one: { oneOf: [{ type: 'null' }, { type: 'object', properties: { k: { const: 1 } }, required: ['k'] }] },
      all: { allOf: [{ type: 'object', properties: { a: { type: 'string' } }, required: ['a'] }, { properties: { b: { type: 'integer' } }, required: ['b'] }] },
      color: { enum: ['red', 'green'] },
    },
    required: ['one', 'all', 'color'],
  },
  refs: {
    $defs: { node: { type: 'object', properties: { name: { type: 'string' }, children: { type: 'array', items: { $ref: '#/$defs/node' } } }, required: ['name'] } },
    type: 'object',
    properties: { root: { $ref: '#/$defs/node' } },
    required: ['root'],
  },
  requiredWithoutProperties: { type: 'object', required: ['x'] },
};

describe('generateFromSchema', () => {
  for (const [name, schema] of Object.entries(cases)) {
    it(`produces a valid value: ${name}`, () => {
      const value = generateFromSchema(schema, 'seed');
      expect(ajv.validate(schema, value), `${ajv.errorsText()} ${JSON.stringify(value)}`).toBe(true);
      expect(generateFromSchema(schema, 'seed')).toEqual(value);
    });
  }

  it('honours formats and uses "<prop> of <hash>" strings', () => {
    const value = generateFromSchema(
      { type: 'object', properties: { at: { type: 'string', format: 'date-time' }, id: { type: 'string', format: 'uuid' }, note: { type: 'string' } } },
      's',
    ) as Record<string, string>;
    expect(value['at']).toBe('2024-01-01T00:00:00Z');
    expect(value['id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(value['note']).toMatch(/^note of [0-9a-f]{8}$/);
  });
});

describe('corruption', () => {
  it('breakSchema makes a valid value invalid', () => {
    for (const schema of Object.values(cases)) {
      const broken = breakSchema(generateFromSchema(schema, 'x'), schema);
      expect(ajv.validate(schema, broken), JSON.stringify(broken)).toBe(false);
    }
    const optional = { type: 'object', properties: { a: { type: 'string' } } };
    expect(ajv.validate(optional, breakSchema({ a: 'x' }, optional))).toBe(false);
  });

  it('malformText produces unparseable text', () => {
    for (const text of ['{}', '{"a":1}', JSON.stringify({ long: 'x'.repeat(100) })]) {
      expect(() => JSON.parse(malformText(text, 'fenced')) as unknown).toThrow();
      expect(() => JSON.parse(malformText(text, 'truncated')) as unknown).toThrow();
    }
  });
});
