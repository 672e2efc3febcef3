import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { lazyChild } from '../src/index.js';

describe('lazyChild', () => {
  const capture = (level: string) => {
    const lines: string[] = [];
    let children = 0;
    const log = pino({ level }, { write: (line: string) => lines.push(line) });
    // eslint-disable-next-line @typescript-eslint/unbound-method -- re-bound below, to whichever logger it is called on
    const original = log.child;
    // counts every child made, from the root or from a child (children inherit this property)
    log.child = function (this: typeof log, ...a: Parameters<typeof original>) {
      children++;
      return original.apply(this, a);
    } as typeof log.child;
    return { log, lines, children: () => children };
  };

  it('makes no child when nothing is logged at an enabled level', () => {
    const c = capture('warn');
    const l = lazyChild(c.log, { runId: 'r1' });
    l.info('not printed');
    l.debug({ x: 1 }, 'not printed');
    expect(l.isLevelEnabled('info')).toBe(false);
    expect(c.children()).toBe(0);
    expect(c.lines).toEqual([]);
  });

  it('logs with its bindings, through one child, once something is printed', () => {
    const c = capture('info');
    const l = lazyChild(c.log, { runId: 'r1', stepId: 'a' });
    l.info({ calls: 1 }, 'step completed');
    l.warn('again');
    l.child({ more: true }).error('nested');
    expect(c.children()).toBe(2); // ours, then the nested one asked for
    expect(c.lines.map((x) => JSON.parse(x) as Record<string, unknown>)).toEqual([
      expect.objectContaining({ runId: 'r1', stepId: 'a', calls: 1, msg: 'step completed' }),
      expect.objectContaining({ runId: 'r1', msg: 'again' }),
      expect.objectContaining({ runId: 'r1', more: true, msg: 'nested' }),
    ]);
  });
});
