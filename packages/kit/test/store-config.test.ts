import { describe, expect, it } from 'vitest';
import { commonEnv, parseEnv } from '../src/config.js';
import { ConfigError } from '../src/errors.js';
import { Expiry, MAX_RUN_LIFETIME_MS, toDate } from '../src/store/mongo/expiry.js';
import { onlyDuplicates } from '../src/store/mongo/errors.js';
import { writeConcernFor } from '../src/store/mongo/write-concern.js';

describe('store configuration', () => {
  it('defaults to the default profile, 7 days of retention and a 10-minute sweep', () => {
    const c = parseEnv(commonEnv, {});
    expect([c.PW_DURABILITY, c.PW_RETENTION_MS, c.PW_RETENTION_SWEEP_MS]).toEqual(['default', 7 * 86_400_000, 600_000]);
    expect(parseEnv(commonEnv, { PW_DURABILITY: 'strict', PW_RETENTION_MS: '3600000', PW_RETENTION_SWEEP_MS: '0' })).toMatchObject({ PW_DURABILITY: 'strict', PW_RETENTION_MS: 3_600_000, PW_RETENTION_SWEEP_MS: 0 });
  });

  it('names the variable of a bad value', () => {
    for (const [name, value] of [['PW_DURABILITY', 'paranoid'], ['PW_RETENTION_MS', '10'], ['PW_RETENTION_SWEEP_MS', 'soon']] as const) {
      const err = (() => {
        try {
          parseEnv(commonEnv, { [name]: value });
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems[0]).toMatch(new RegExp(`^${name}:`));
    }
  });

  it('maps profiles to MongoDB write concerns', () => {
    expect(writeConcernFor('default')).toEqual({ w: 'majority' });
    expect(writeConcernFor('strict')).toEqual({ w: 'majority', journal: true });
  });
});

describe('document expiry', () => {
  const e = new Expiry(86_400_000);
  const t = new Date('2026-11-24T10:00:00Z');

  it('keeps a finished run for the retention and a child of a live run for at least as long as its run', () => {
    expect(e.ofFinishedRun(t).toISOString()).toBe('2026-11-25T10:00:00.000Z');
    // a run that starts when its child is written and lives as long as any run may still outlives it
    expect(e.ofChild(t).getTime()).toBe(e.ofFinishedRun(new Date(t.getTime() + MAX_RUN_LIFETIME_MS)).getTime());
  });

  it('reads zone offsets as instants and treats a missing time as now', () => {
    expect(toDate('2026-11-24T12:00:00+02:00').toISOString()).toBe('2026-11-24T10:00:00.000Z');
    expect(toDate(undefined, t)).toBe(t);
    expect(toDate('garbage', t)).toBe(t);
  });
});

describe('duplicate-key classification', () => {
  it('accepts a bulk error made only of duplicates and nothing else', () => {
    expect(onlyDuplicates({ code: 11000, writeErrors: [{ code: 11000 }, { code: 11000 }] })).toBe(true);
    expect(onlyDuplicates({ code: 11000 })).toBe(true);
    expect(onlyDuplicates({ code: 11000, writeErrors: [{ code: 11000 }, { code: 2 }] })).toBe(false);
    expect(onlyDuplicates(new Error('network'))).toBe(false);
    expect(onlyDuplicates(undefined)).toBe(false);
  });
});
