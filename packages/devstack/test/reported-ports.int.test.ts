import { createServer, type Server } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { PortsTakenError, ProcessExitedError, Stack, WaitTimeoutError, canConnect, portFromLine, retryWhilePortsTaken, startProcess } from '../src/index.js';

const node = process.execPath;
const stack = new Stack();
afterAll(() => stack.stopAll());

/** A node program that listens on `port` (0: any) and prints `listening on <port>` once bound. */
function listener(port: number): string[] {
  return ['-e', `const s = require('node:net').createServer(); s.listen(${port}, '127.0.0.1', () => console.log('listening on ' + s.address().port));`];
}

/** A TCP server of this test process on a port of the kernel's choosing. */
async function holdPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stack.add('held port', () => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { port: address.port, server };
}

const LISTENING = portFromLine(/^listening on (\d+)$/);

describe('reported ports', () => {
  it('reads the port a process bound on port 0, and the port answers', async () => {
    const procs = await Promise.all(
      [1, 2, 3].map((n) => startProcess({ name: `listener-${n}`, command: node, args: listener(0), reportedPorts: { tcp: LISTENING }, readyTimeoutMs: 10_000 })),
    );
    for (const proc of procs) stack.add(proc.name, () => proc.stop());
    const ports = procs.map((proc) => proc.port('tcp'));
    expect(new Set(ports).size).toBe(3);
    for (const port of ports) expect(await canConnect('127.0.0.1', port)).toBe(true);
    expect(() => procs[0]!.port('udp')).toThrow(/listener-1 has reported no port named "udp"/);
  });

  it('times out naming the port line when the process never prints it', async () => {
    const started = startProcess({ name: 'mute', command: node, args: ['-e', 'setInterval(() => {}, 1000)'], reportedPorts: { tcp: LISTENING }, readyTimeoutMs: 300 });
    await expect(started).rejects.toThrow(WaitTimeoutError);
    await expect(started).rejects.toThrow(/waiting for mute to be ready \(the line reporting its tcp port\)/);
  });

  it('fails with the output when the process exits before it reports the port', async () => {
    const { port } = await holdPort();
    const started = startProcess({ name: 'taken', command: node, args: listener(port), reportedPorts: { tcp: LISTENING }, readyTimeoutMs: 10_000 });
    await expect(started).rejects.toThrow(ProcessExitedError);
    await expect(started).rejects.toThrow(/taken exited with code 1 before it was ready[\s\S]*EADDRINUSE/);
  });
});

describe('retryWhilePortsTaken', () => {
  it('starts again when the picked port was taken in between, and gives up after the attempts with PortsTakenError', async () => {
    const { port: held } = await holdPort();
    const tried: number[] = [];
    const start = (pick: () => number) => () => {
      const port = pick();
      tried.push(port);
      return startProcess({ name: 'picky', command: node, args: listener(port), reportedPorts: { tcp: LISTENING }, readyTimeoutMs: 10_000 });
    };
    // The first pick was taken by someone else; the second is one nobody holds (0 stands in for it).
    const proc = await retryWhilePortsTaken('picky', 3, start(() => (tried.length === 0 ? held : 0)));
    stack.add('picky', () => proc.stop());
    expect(tried).toEqual([held, 0]);
    expect(proc.port('tcp')).not.toBe(held);

    tried.length = 0;
    const doomed = retryWhilePortsTaken('picky', 3, start(() => held));
    await expect(doomed).rejects.toThrow(PortsTakenError);
    await expect(doomed).rejects.toThrow(/picky: a port picked as free was taken by another process before picky could bind it, on all 3 attempts[\s\S]*EADDRINUSE/);
    expect(tried).toEqual([held, held, held]);
  });

  it('does not retry a failure that is not a taken port', async () => {
    let calls = 0;
    const failing = retryWhilePortsTaken('broken', 3, () => {
      calls++;
      return startProcess({ name: 'broken', command: node, args: ['-e', 'process.exit(2)'], readyPattern: /never/ });
    });
    await expect(failing).rejects.toThrow(/broken exited with code 2 before it was ready/);
    expect(calls).toBe(1);
  });
});
