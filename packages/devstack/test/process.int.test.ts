import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ProcessExitedError, Stack, WaitTimeoutError, liveChildCount, portFromJsonLog, startProcess } from '../src/index.js';

const node = process.execPath;
const stack = new Stack();
afterAll(() => stack.stopAll());

/** A node program as `node -e` arguments. */
function script(source: string): string[] {
  return ['-e', source];
}

describe('startProcess', () => {
  it('is ready when an output line matches readyPattern, and keeps the output', async () => {
    const logDir = mkdtempSync(join(tmpdir(), 'pw-devstack-test-'));
    try {
      const logFile = join(logDir, 'out.log');
      const proc = await startProcess({
        name: 'pattern',
        command: node,
        args: script(`console.log('starting'); console.error('warming up'); setTimeout(() => console.log('listening on ' + process.env.GREETING), 200); setInterval(() => {}, 1000);`),
        env: { GREETING: 'port 1234' },
        readyPattern: /listening on port \d+/,
        readyTimeoutMs: 5_000,
        logFile,
      });
      stack.add('pattern', () => proc.stop());
      expect(proc.pid).toBeGreaterThan(0);
      expect(proc.output()).toContain('starting');
      expect(proc.output()).toContain('warming up');
      expect(await proc.waitForOutput(/listening/, 1_000)).toBe('listening on port 1234');
      await proc.stop();
      expect(await proc.exited).toBeNull(); // ended by SIGTERM
      expect(readFileSync(logFile, 'utf8')).toContain('listening on port 1234');
    } finally {
      rmSync(logDir, { recursive: true, force: true });
    }
  });

  it('is ready when readyUrl, built from the port the process reported, answers 200', async () => {
    const proc = await startProcess({
      name: 'http',
      command: node,
      args: script(`
        let ready = false;
        setTimeout(() => { ready = true; }, 300);
        const server = require('node:http').createServer((req, res) => { res.statusCode = ready ? 200 : 503; res.end(); });
        server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ msg: 'http listening', port: server.address().port })));
      `),
      reportedPorts: { http: portFromJsonLog('http listening') },
      readyUrl: (port) => `http://127.0.0.1:${port('http')}/health`,
      readyTimeoutMs: 5_000,
    });
    stack.add('http', () => proc.stop());
    const res = await fetch(`http://127.0.0.1:${proc.port('http')}/health`);
    expect(res.status).toBe(200);
    await proc.stop();
  });

  it('passes the parent environment plus env, or only env with inheritEnv: false', async () => {
    process.env.PW_DEVSTACK_TEST_STRAY = 'stray';
    try {
      const show = script(`console.log(JSON.stringify({ stray: process.env.PW_DEVSTACK_TEST_STRAY ?? null, mine: process.env.MINE ?? null }))`);
      const inherited = await startProcess({ name: 'inherit', command: node, args: show, env: { MINE: 'yes' } });
      await inherited.exited;
      expect(JSON.parse(inherited.output())).toEqual({ stray: 'stray', mine: 'yes' });
      const isolated = await startProcess({ name: 'isolated', command: node, args: show, env: { MINE: 'yes' }, inheritEnv: false });
      await isolated.exited;
      expect(JSON.parse(isolated.output())).toEqual({ stray: null, mine: 'yes' });
    } finally {
      delete process.env.PW_DEVSTACK_TEST_STRAY;
    }
  });

  it('rejects with the exit code and last output when the process exits before it is ready', async () => {
    const started = startProcess({
      name: 'early-exit',
      command: node,
      args: script(`console.log('config is bad: missing FOO'); process.exit(3);`),
      readyPattern: /never/,
      readyTimeoutMs: 10_000,
    });
    await expect(started).rejects.toThrow(ProcessExitedError);
    await expect(started).rejects.toThrow(/early-exit exited with code 3 before it was ready[\s\S]*config is bad: missing FOO/);
  });

  it('rejects with a clear error when the command does not exist', async () => {
    await expect(startProcess({ name: 'missing', command: '/nonexistent/binary', args: [] })).rejects.toThrow(
      /could not start missing \(\/nonexistent\/binary\): spawn \/nonexistent\/binary ENOENT/,
    );
  });

  it('kills the process and names the conditions when readiness times out', async () => {
    const started = startProcess({
      name: 'slow',
      command: node,
      args: script(`
        console.log('still thinking');
        const server = require('node:http').createServer((req, res) => { res.statusCode = 503; res.end(); });
        server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ msg: 'http listening', port: server.address().port })));
      `),
      readyPattern: /ready/,
      reportedPorts: { http: portFromJsonLog('http listening') },
      readyUrl: (port) => `http://127.0.0.1:${port('http')}/`,
      // long enough for a child on a loaded machine to print its line before the deadline
      readyTimeoutMs: 5_000,
    });
    await expect(started).rejects.toThrow(WaitTimeoutError);
    await expect(started).rejects.toThrow(
      /timed out after 5000ms waiting for slow to be ready \(the line reporting its http port and an output line matching \/ready\/ and HTTP 200 from http:\/\/127\.0\.0\.1:\d+\/\)[\s\S]*still thinking/,
    );
    expect(liveChildCount()).toBe(0);
  });

  it('stop() sends SIGTERM, waits the grace period, then SIGKILLs a process that ignores it', async () => {
    const proc = await startProcess({
      name: 'stubborn',
      command: node,
      args: script(`process.on('SIGTERM', () => console.log('ignoring SIGTERM')); console.log('ready'); setInterval(() => {}, 1000);`),
      readyPattern: /^ready$/,
    });
    const startedAt = Date.now();
    await proc.stop(700);
    const tookMs = Date.now() - startedAt;
    expect(tookMs).toBeGreaterThanOrEqual(650);
    expect(tookMs).toBeLessThan(5_000);
    expect(await proc.exited).toBeNull();
    expect(proc.output()).toContain('ignoring SIGTERM');
  });

  it('kill() ends the process at once; waitForOutput rejects when the process exits', async () => {
    const proc = await startProcess({ name: 'victim', command: node, args: script(`setInterval(() => {}, 1000);`) });
    const waiting = proc.waitForOutput(/never printed/, 10_000);
    await proc.kill();
    await expect(waiting).rejects.toThrow(/victim exited by signal SIGKILL before printing a line matching \/never printed\//);
    await expect(proc.waitForOutput(/x/, 100)).rejects.toThrow(ProcessExitedError);
  });

  it('waitForOutput times out with a message naming the pattern', async () => {
    const proc = await startProcess({ name: 'quiet', command: node, args: script(`setInterval(() => {}, 1000);`) });
    stack.add('quiet', () => proc.stop());
    await expect(proc.waitForOutput(/hello/, 200)).rejects.toThrow('timed out after 200ms waiting for a line matching /hello/ from quiet');
    await proc.stop();
  });

  it('resolves exited with the exit code of a process that ends on its own', async () => {
    const proc = await startProcess({ name: 'short', command: node, args: script(`console.log('done'); process.exitCode = 7;`) });
    expect(await proc.exited).toBe(7);
    expect(proc.output()).toBe('done');
    await proc.stop(); // already exited: a no-op
  });

  it('keeps only the last 200 lines', async () => {
    const proc = await startProcess({ name: 'chatty', command: node, args: script(`for (let i = 1; i <= 500; i++) console.log('line ' + i);`) });
    await proc.exited;
    const lines = proc.output().split('\n');
    expect(lines).toHaveLength(200);
    expect(lines[0]).toBe('line 301');
    expect(lines[199]).toBe('line 500');
  });
});

