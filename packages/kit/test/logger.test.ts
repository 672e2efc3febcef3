import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { announcer, type Logger } from '../src/index.js';

function capture(level: string): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: pino({ level }, { write: (line: string) => lines.push(line) }), lines };
}

describe('announcer', () => {
  it('prints info lines whatever the level, for a supervisor to read', () => {
    for (const level of ['warn', 'error', 'fatal', 'info', 'debug']) {
      const { log, lines } = capture(level);
      log.info('a diagnostic');
      announcer(log).info({ port: 43121 }, 'ops server listening');
      expect(lines.filter((l) => l.includes('ops server listening')), level).toHaveLength(1);
      expect(JSON.parse(lines.at(-1)!)).toMatchObject({ port: 43121, msg: 'ops server listening' });
      expect(lines.some((l) => l.includes('a diagnostic')), level).toBe(level === 'info' || level === 'debug');
    }
  });

  it('keeps silent silent', () => {
    const { log, lines } = capture('silent');
    announcer(log).info({ port: 1 }, 'ops server listening');
    expect(lines).toEqual([]);
  });
});
