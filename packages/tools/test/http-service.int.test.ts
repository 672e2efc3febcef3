import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { NatsConnection } from '@nats-io/transport-node';
import { startProcess, type ProcessHandle } from '@pipewright/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callTool, describeTool } from '../src/index.js';
import { startTestServer, type TestServer } from './http-fixture.js';
import { natsFixture, request } from './support.js';

const MAIN = fileURLToPath(new URL('../dist/http/main.js', import.meta.url));

/** The http tool as its own process (`node packages/tools/dist/http/main.js`), configured from the environment. */
describe('the http tool service', () => {
  let fx: Awaited<ReturnType<typeof natsFixture>>;
  let nc: NatsConnection;
  let target: TestServer;
  let proc: ProcessHandle | undefined;

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first (pnpm exec tsc -b)`);
    fx = await natsFixture();
    nc = await fx.connect();
    target = await startTestServer('127.0.0.1');
    proc = await startProcess({
      name: 'http-tool',
      command: process.execPath,
      args: [MAIN],
      env: { NATS_URL: fx.server.url, PW_HTTP_TOOL_ALLOW_HOSTS: '127.0.0.1,localhost', PW_HTTP_TOOL_ALLOW_PRIVATE: '127.0.0.1', PW_LOG_LEVEL: 'info' },
      readyPattern: /http tool ready/,
      readyTimeoutMs: 20_000,
    });
  });
  afterAll(async () => {
    await proc?.stop(5_000);
    await target?.close();
    await fx?.close();
  });

  it('serves `http` from the environment\'s policy, with KV receipts', async () => {
    expect(await describeTool(nc, 'http', { timeoutMs: 5_000 })).toMatchObject({ ok: true, description: { name: 'http', input: { properties: { url: { type: 'string' } } } } });
    const req = request('http', { url: `${target.origin}/echo`, method: 'POST', body: 'pay' }, { callId: 'svc1' });
    expect(await callTool(nc, req, { timeoutMs: 10_000 })).toMatchObject({ ok: true, result: { status: 200 } });
    expect(await callTool(nc, req, { timeoutMs: 10_000 })).toMatchObject({ ok: true, cached: true });
    expect(target.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
    const redirect = request('http', { url: `${target.origin}/redirect?to=${encodeURIComponent(`http://localhost:${target.port}/ok`)}` });
    expect(await callTool(nc, redirect, { timeoutMs: 10_000 })).toMatchObject({ ok: false, error: { code: 'address_not_allowed' } });
    expect(target.requests.map((r) => r.url.split('?')[0])).toEqual(['/echo', '/redirect']);
  });

  it('refuses to start with a bad allowlist and names the variable', async () => {
    const bad = await startProcess({ name: 'http-tool-bad', command: process.execPath, args: [MAIN], env: { NATS_URL: fx.server.url, PW_HTTP_TOOL_ALLOW_HOSTS: 'https://x.com' } });
    const code = await Promise.race([bad.exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), 10_000))]);
    if (code === 'still running') await bad.kill();
    expect(code).not.toBe(0);
    expect(bad.output()).toMatch(/PW_HTTP_TOOL_ALLOW_HOSTS.*https:\/\/x\.com/);
  });
});
