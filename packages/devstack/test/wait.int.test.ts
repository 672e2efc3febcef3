import { describe, expect, it } from 'vitest';
import { Stack, WaitTimeoutError, freePort, waitFor } from '../src/index.js';

describe('waitFor', () => {
  it('resolves with the first value that is not undefined', async () => {
    let calls = 0;
    const value = await waitFor('the third call', () => (++calls >= 3 ? `call ${calls}` : undefined), { intervalMs: 10 });
    expect(value).toBe('call 3');
  });

  it('treats a throw as "not yet" and accepts falsy values other than undefined', async () => {
    let calls = 0;
    const value = await waitFor(
      'a zero',
      async () => {
        calls++;
        if (calls < 2) throw new Error('connection refused');
        return Promise.resolve(0);
      },
      { intervalMs: 10 },
    );
    expect(value).toBe(0);
  });

  it('times out with a message naming what it waited for and the last error', async () => {
    const started = Date.now();
    const waiting = waitFor(
      'the moon to turn blue',
      () => {
        throw new Error('still grey');
      },
      { timeoutMs: 300, intervalMs: 50 },
    );
    await expect(waiting).rejects.toThrow(WaitTimeoutError);
    await expect(waiting).rejects.toThrow(/^timed out after 300ms waiting for the moon to turn blue\nlast error: still grey$/);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('cuts off a call that hangs', async () => {
    const waiting = waitFor('a hanging call', () => new Promise<string>(() => undefined), { timeoutMs: 200 });
    await expect(waiting).rejects.toThrow('timed out after 200ms waiting for a hanging call');
  });
});

describe('Stack', () => {
  it('stops in reverse order, runs every cleanup even when some fail or hang, then throws them all', async () => {
    const stack = new Stack({ itemTimeoutMs: 200 });
    const order: string[] = [];
    stack.add('first', () => {
      order.push('first');
      return Promise.resolve();
    });
    stack.add('hangs', () => {
      order.push('hangs');
      return new Promise<void>(() => undefined);
    });
    stack.add('fails', () => {
      order.push('fails');
      return Promise.reject(new Error('boom'));
    });
    stack.add('last', () => {
      order.push('last');
      return Promise.resolve();
    });
    expect(stack.size).toBe(4);
    const stopping = stack.stopAll();
    await expect(stopping).rejects.toThrow(AggregateError);
    await expect(stopping).rejects.toThrow(/2 of 4 cleanups failed/);
    const err = (await stopping.catch((e: unknown) => e)) as AggregateError;
    expect(err.errors.map((e: Error) => e.message)).toEqual([
      'stopping fails failed: boom',
      'stopping hangs failed: timed out after 200ms waiting for hangs to stop',
    ]);
    expect(order).toEqual(['last', 'fails', 'hangs', 'first']);
    expect(stack.size).toBe(0);
    await stack.stopAll(); // empty: nothing to do
  });
});

describe('freePort', () => {
  it('returns distinct usable ports', async () => {
    const ports = await Promise.all([freePort(), freePort(), freePort()]);
    for (const port of ports) expect(port).toBeGreaterThan(0);
    expect(new Set(ports).size).toBe(3);
  });
});
