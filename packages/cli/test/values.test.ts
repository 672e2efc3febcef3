import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { duration, label, pointInTime, positiveInt, positiveNumber, runId, statuses, stepId } from '../src/cli/values.js';

const refused = (f: () => unknown, message: string | RegExp) => expect(f).toThrow(expect.objectContaining({ constructor: InvalidArgumentError, message: expect.stringMatching(message) }));

describe('flag values', () => {
  it('positive integers: digits only, at least 1, at most the cap', () => {
    expect(positiveInt()('25')).toBe(25);
    expect(positiveInt(500)('500')).toBe(500);
    for (const bad of ['abc', '', '0', '-3', '1.5', '1e3', '0x10', ' ']) refused(() => positiveInt()(bad), /^not a positive integer$/);
    refused(() => positiveInt(500)('501'), /^at most 500$/);
  });

  it('positive numbers', () => {
    expect(positiveNumber('0.25')).toBe(0.25);
    for (const bad of ['0', '-1', 'x', '', 'Infinity']) refused(() => positiveNumber(bad), /not a positive number/);
  });

  it('durations: a bare number is milliseconds; units ms, s, m, h, d; at most 30 days', () => {
    expect([duration('500'), duration('500ms'), duration('30s'), duration('1.5s'), duration('5m'), duration('2h'), duration('1d')]).toEqual([500, 500, 30_000, 1_500, 300_000, 7_200_000, 86_400_000]);
    for (const bad of ['', 'abc', '10x', '-5s', '0', '0s', 's']) refused(() => duration(bad), /duration/);
    refused(() => duration('31d'), /at most 30 days/);
  });

  it('points in time: ISO with a zone, a date (midnight UTC), or an age back from now', () => {
    const now = () => Date.parse('2026-11-24T12:00:00.000Z');
    const at = pointInTime(now);
    expect(at('2026-11-24T10:00:00Z')).toBe('2026-11-24T10:00:00.000Z');
    expect(at('2026-11-24T10:00:00.5+01:00')).toBe('2026-11-24T09:00:00.500Z');
    expect(at('2026-11-20')).toBe('2026-11-20T00:00:00.000Z');
    expect(at('2h')).toBe('2026-11-24T10:00:00.000Z');
    expect(at('1d')).toBe('2026-11-23T12:00:00.000Z');
    for (const bad of ['yesterday', '2026-11-24T10:00:00', '2026-13-45', '']) refused(() => at(bad), /not a (time|valid date)/);
  });

  it('labels accumulate; a key is required and sizes are the API’s', () => {
    expect(label('batch=nightly', undefined)).toEqual({ batch: 'nightly' });
    expect(label('b=x=y', { a: '1' })).toEqual({ a: '1', b: 'x=y' });
    expect(label('empty=', undefined)).toEqual({ empty: '' });
    refused(() => label('nokey', undefined), /expected key=value/);
    refused(() => label('=v', undefined), /expected key=value/);
    refused(() => label(`${'k'.repeat(65)}=v`, undefined), /at most 64/);
    refused(() => label(`k=${'v'.repeat(257)}`, undefined), /at most 256/);
  });

  it('statuses: comma-separated or repeated, each a known status, no duplicates', () => {
    expect(statuses('failed,timed_out', undefined)).toEqual(['failed', 'timed_out']);
    expect(statuses('failed', ['failed', 'running'])).toEqual(['failed', 'running']);
    refused(() => statuses('failed,done', undefined), /'done' is not a status \(queued, running/);
  });

  it('run and step ids cannot smuggle subject wildcards or separators', () => {
    expect(runId('r-1_a')).toBe('r-1_a');
    for (const bad of ['>', '*', 'a.b', 'a b', '', 'x'.repeat(65)]) refused(() => runId(bad), /a run id is/);
    expect(stepId('draft')).toBe('draft');
    refused(() => stepId('1st'), /a step id/);
  });
});
