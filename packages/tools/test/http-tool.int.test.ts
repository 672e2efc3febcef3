import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { callTool, memoryReceipts, parseHostRules, serveHttpTool, type HttpPolicy, type Resolver, type ToolHandle } from '../src/index.js';
import { startTestServer, type TestServer } from './http-fixture.js';
import { natsFixture, request } from './support.js';

/**
 * The built-in http tool over a real nats-server. All traffic goes to loopback servers that count
 * their connections: a refusal is proven to happen before any connection. Refusals of other private
 * ranges (10/8, 169.254/16, ...) are covered without traffic in addresses.test.ts.
 */
describe('the http tool', () => {
  let fx: Awaited<ReturnType<typeof natsFixture>>;
  let nc: NatsConnection;
  let target: TestServer;
  let other: TestServer;
  let v6: TestServer;
  const handles: ToolHandle[] = [];
  let seq = 0;

  const rules = (...entries: string[]) => {
    const r = parseHostRules(entries);
    if (!r.ok) throw new Error(r.message);
    return r.rules;
  };
  /** A fresh http tool (own name) with this policy; returns a function that calls it. */
  const tool = async (over: Partial<HttpPolicy>, resolve?: Resolver) => {
    const name = `http-t${++seq}`;
    const policy: HttpPolicy = { allowHosts: rules('127.0.0.1'), allowPrivate: false, maxRedirects: 5, maxResponseBytes: 65_536, timeoutMs: 5_000, ...over };
    handles.push(await serveHttpTool(nc, { name, policy, dedupe: memoryReceipts(), ...(resolve ? { resolve } : {}) }));
    return (args: Record<string, unknown>, callId?: string) => callTool(nc, request(name, args, callId !== undefined ? { callId } : {}), { timeoutMs: 10_000 });
  };

  beforeAll(async () => {
    fx = await natsFixture();
    nc = await fx.connect();
    [target, other, v6] = await Promise.all([startTestServer('127.0.0.1'), startTestServer('127.0.0.1'), startTestServer('::1')]);
  });
  afterAll(async () => {
    await Promise.allSettled(handles.map((h) => h.stop(1_000)));
    await Promise.allSettled([target, other, v6].map((s) => s?.close()));
    await fx?.close();
  });
  beforeEach(() => {
    for (const s of [target, other, v6]) {
      s.connections = 0;
      s.requests = [];
    }
  });

  it('refuses loopback by IP, by [::1] and by a name that resolves to it, before connecting', async () => {
    const call = await tool({ allowHosts: rules('127.0.0.1', 'localhost', '::1') });
    for (const url of [`${target.origin}/ok`, `http://localhost:${target.port}/ok`, `${v6.origin}/ok`, `http://[::ffff:127.0.0.1]:${target.port}/ok`]) {
      const reply = await call({ url });
      if (url.includes('ffff')) expect(reply, url).toMatchObject({ ok: false, error: { code: 'host_not_allowed' } });
      else expect(reply, url).toMatchObject({ ok: false, error: { code: 'address_not_allowed', retryable: false, message: expect.stringContaining('private') } });
    }
    expect(target.connections + v6.connections).toBe(0);
  });

  it('refuses a host off the allowlist and a name whose DNS answer is private', async () => {
    const resolver: Resolver = (host) => Promise.resolve(host === 'api.example.test' ? [{ address: '127.0.0.1', family: 4 }] : []);
    const call = await tool({ allowHosts: rules('api.example.test') }, resolver);
    expect(await call({ url: `http://127.0.0.1:${target.port}/ok` })).toMatchObject({ ok: false, error: { code: 'host_not_allowed' } });
    expect(await call({ url: `http://api.example.test:${target.port}/ok` })).toMatchObject({ ok: false, error: { code: 'address_not_allowed', message: expect.stringContaining('resolves to 127.0.0.1') } });
    expect(await call({ url: 'file:///etc/passwd' })).toMatchObject({ ok: false, error: { code: 'scheme_not_allowed' } });
    expect(target.connections).toBe(0);
  });

  it('fetches from a host that private addresses are allowed for, and sends POST bodies with the idempotency key', async () => {
    const call = await tool({ allowPrivate: rules('127.0.0.1') });
    expect(await call({ url: `${target.origin}/ok` })).toMatchObject({
      ok: true,
      result: { status: 200, url: `${target.origin}/ok`, redirects: [], body: 'hello', bodyEncoding: 'utf8', truncated: false, headers: { 'content-type': 'text/plain' } },
    });
    const post = await call({ url: `${target.origin}/echo`, method: 'POST', body: { amount: 5 }, headers: { 'X-Trace': 'abc' } }, 'p1');
    if (!post.ok) throw new Error(JSON.stringify(post.error));
    const echoed = JSON.parse((post.result as { body: string }).body) as { method: string; headers: Record<string, string>; body: string };
    expect(echoed).toMatchObject({ method: 'POST', body: '{"amount":5}', headers: { 'content-type': 'application/json', 'idempotency-key': 'run-1:agent:p1', 'x-trace': 'abc' } });
    expect(await call({ url: `${target.origin}/bytes` })).toMatchObject({ ok: true, result: { body: 'AAEC/w==', bodyEncoding: 'base64' } });
    expect(await call({ url: `${target.origin}/ok`, headers: { Host: 'evil' } })).toMatchObject({ ok: false, error: { code: 'invalid_arguments', path: 'headers' } });
    expect(await call({ url: `${target.origin}/ok`, body: 'x' })).toMatchObject({ ok: false, error: { code: 'invalid_arguments', path: 'body' } });
  });

  it('refuses a redirect to a disallowed address or host, before connecting to it', async () => {
    // 127.0.0.1 may be private; localhost is allowed but not for private addresses; [::1] is not allowed at all
    const call = await tool({ allowHosts: rules('127.0.0.1', 'localhost'), allowPrivate: rules('127.0.0.1') });
    const toLocalhost = await call({ url: `${target.origin}/redirect?to=${encodeURIComponent(`http://localhost:${other.port}/ok`)}` });
    expect(toLocalhost).toMatchObject({ ok: false, error: { code: 'address_not_allowed', message: expect.stringContaining('localhost resolves to') } });
    const toV6 = await call({ url: `${target.origin}/redirect?status=307&to=${encodeURIComponent(`${v6.origin}/ok`)}` });
    expect(toV6).toMatchObject({ ok: false, error: { code: 'host_not_allowed', message: expect.stringContaining('::1') } });
    expect(target.requests.map((r) => r.url.split('?')[0])).toEqual(['/redirect', '/redirect']);
    expect(other.connections + v6.connections).toBe(0);
  });

  it('follows allowed redirects (307 keeps a POST, 303 turns it into a GET) and stops at the redirect limit', async () => {
    const call = await tool({ allowPrivate: true, maxRedirects: 3 });
    const chain = await call({ url: `${target.origin}/redirect?status=307&to=${encodeURIComponent(`${other.origin}/redirect?status=303&to=/echo`)}`, method: 'POST', body: 'data' });
    expect(chain).toMatchObject({ ok: true, result: { status: 200, url: `${other.origin}/echo`, redirects: [`${other.origin}/redirect?status=303&to=/echo`, `${other.origin}/echo`] } });
    expect([...target.requests, ...other.requests].map((r) => r.method)).toEqual(['POST', 'POST', 'GET']);
    const loop = await call({ url: `${target.origin}/loop` });
    expect(loop).toMatchObject({ ok: false, error: { code: 'too_many_redirects', retryable: false } });
    expect(target.requests.filter((r) => r.url === '/loop')).toHaveLength(4);
  });

  it('bounds the response size and the time', async () => {
    const call = await tool({ allowPrivate: true, maxResponseBytes: 1_000, timeoutMs: 300 });
    const big = await call({ url: `${target.origin}/big` });
    expect(big).toMatchObject({ ok: true, result: { truncated: true } });
    expect(big.ok && (big.result as { body: string }).body).toHaveLength(1_000);
    const t0 = Date.now();
    expect(await call({ url: `${target.origin}/hang` })).toMatchObject({ ok: false, error: { code: 'timeout', retryable: true } });
    expect(Date.now() - t0).toBeLessThan(3_000);
  });

  it('connects to the address it checked: the name is never resolved again', async () => {
    // The system resolver does not know this name; only the checked answer can have been used.
    const resolver: Resolver = (host) => Promise.resolve(host === 'pinned.test' ? [{ address: '127.0.0.1', family: 4 }] : []);
    const call = await tool({ allowHosts: rules('pinned.test'), allowPrivate: rules('pinned.test') }, resolver);
    const reply = await call({ url: `http://pinned.test:${target.port}/echo` });
    expect(reply).toMatchObject({ ok: true, result: { status: 200 } });
    expect(target.requests[0]?.headers.host).toBe(`pinned.test:${target.port}`);
  });
});
