import { SCHEMA_VERSION, toolRegistration } from '@pipewright/contracts';
import { describe, expect, it } from 'vitest';
import { renderToolList } from '../src/commands/tools.js';

describe('pipewright tools list', () => {
  it('prints one aligned line per tool, then the entries that do not parse, with why', () => {
    const at = new Date('2026-12-06T08:00:00.000Z');
    const lookup = toolRegistration({ schemaVersion: SCHEMA_VERSION, name: 'lookup-order', description: 'Looks an order up\nby its id.', input: { type: 'object' }, version: '1.0.0' }, at);
    const refund = toolRegistration({ schemaVersion: SCHEMA_VERSION, name: 'refund', description: 'x'.repeat(80), input: { type: 'object', required: ['orderId'] }, version: '12.3.4' }, at);
    const text = renderToolList({ tools: [lookup, refund], invalid: [{ name: 'broken', reason: 'inputDigest: Invalid string' }] });
    expect(text.split('\n')).toEqual([
      'TOOL          VERSION  REGISTERED                INPUT         DESCRIPTION',
      `lookup-order  1.0.0    2026-12-06T08:00:00.000Z  ${lookup.inputDigest.slice(0, 12)}  Looks an order up by its id.`,
      `refund        12.3.4   2026-12-06T08:00:00.000Z  ${refund.inputDigest.slice(0, 12)}  ${'x'.repeat(59)}…`,
      'broken: invalid registry entry (inputDigest: Invalid string)',
    ]);
    expect(renderToolList({ tools: [], invalid: [] })).toBe('no tool has registered');
  });
});
