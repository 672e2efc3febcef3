import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toolInputDigest } from '@pipewright/contracts';
import { ToolRegistry } from '@pipewright/kit';
import { z } from 'zod';
import { callTool, describeTool, serveTool, ToolCallError, ToolRetryableError, type ToolHandle } from '../src/index.js';
import { natsFixture, request, sleep } from './support.js';

/** serveTool and callTool against a real nats-server: validation, description, errors, limits. */
describe('serveTool', () => {
  let fx: Awaited<ReturnType<typeof natsFixture>>;
  let nc: NatsConnection;
  const handles: ToolHandle[] = [];

  beforeAll(async () => {
    fx = await natsFixture();
    nc = await fx.connect();
  });
  afterAll(async () => {
    await Promise.allSettled(handles.map((h) => h.stop(1_000)));
    await fx?.close();
  });
  const serve: typeof serveTool = async (c, spec) => {
    const h = await serveTool(c, spec);
    handles.push(h);
    return h;
  };

  it('refuses invalid arguments with an error naming the field, and keeps serving', async () => {
    let ran = 0;
    await serve(nc, {
      name: 'lookup',
      description: 'looks an order up',
      input: z.object({ orderId: z.string().regex(/^o-\d+$/), include: z.object({ lines: z.boolean() }).optional() }).strict(),
      handler: (args) => Promise.resolve((ran++, { id: args.orderId })),
    });
    const bad = await callTool(nc, request('lookup', { orderId: 42 }), { timeoutMs: 2_000 });
    expect(bad).toMatchObject({ ok: false, error: { code: 'invalid_arguments', retryable: false, path: 'orderId', message: expect.stringContaining('orderId') } });
    const nested = await callTool(nc, request('lookup', { orderId: 'o-1', include: { lines: 'yes' } }), { timeoutMs: 2_000 });
    expect(nested).toMatchObject({ ok: false, error: { code: 'invalid_arguments', path: 'include.lines' } });
    const extra = await callTool(nc, request('lookup', { orderId: 'o-1', sneaky: true }), { timeoutMs: 2_000 });
    expect(extra).toMatchObject({ ok: false, error: { path: 'sneaky' } });
    expect(ran).toBe(0);
    expect(await callTool(nc, request('lookup', { orderId: 'o-7' }), { timeoutMs: 2_000 })).toEqual({ schemaVersion: 1, ok: true, result: { id: 'o-7' } });
  });

  it('checks a JSON Schema input the same way and describes itself', async () => {
    const input = { type: 'object', properties: { q: { type: 'string', minLength: 2 } }, required: ['q'], additionalProperties: false };
    await serve(nc, { name: 'search', description: 'searches', version: '2.1.0', input, handler: (args) => Promise.resolve({ hits: [String(args['q'])] }) });
    expect(await callTool(nc, request('search', {}), { timeoutMs: 2_000 })).toMatchObject({ ok: false, error: { code: 'invalid_arguments', path: 'q' } });
    expect(await callTool(nc, request('search', { q: 'x' }), { timeoutMs: 2_000 })).toMatchObject({ ok: false, error: { path: 'q' } });
    expect(await callTool(nc, request('search', { q: 'nats' }), { timeoutMs: 2_000 })).toMatchObject({ ok: true, result: { hits: ['nats'] } });
    expect(await describeTool(nc, 'search', { timeoutMs: 2_000 })).toEqual({ ok: true, description: { schemaVersion: 1, name: 'search', description: 'searches', input, version: '2.1.0' } });
    const zodTool = await describeTool(nc, 'lookup', { timeoutMs: 2_000 });
    expect(zodTool).toMatchObject({ ok: true, description: { input: { type: 'object', properties: { orderId: { type: 'string' } }, required: ['orderId'] } } });
  });

  it('registers itself in the tool registry, waiting for the bucket when the planner has not created it yet', async () => {
    const input = { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] };
    const h = await serve(nc, { name: 'shout', description: 'shouts', version: '3.0.0', input, handler: (args) => Promise.resolve(String(args['text']).toUpperCase()) });
    // No bucket yet: the tool serves meanwhile, and its registration keeps trying.
    expect(await callTool(nc, request('shout', { text: 'hi' }), { timeoutMs: 2_000 })).toMatchObject({ ok: true, result: 'HI' });
    expect(await Promise.race([h.registered.then(() => 'registered'), callTool(nc, request('shout', { text: 'x' }), { timeoutMs: 2_000 }).then(() => 'pending')])).toBe('pending');
    const registry = await ToolRegistry.open(nc, { create: true });
    const entry = await h.registered;
    expect(entry).toMatchObject({ name: 'shout', description: 'shouts', version: '3.0.0', input, inputDigest: toolInputDigest(input) });
    expect(await registry.get('shout')).toEqual(entry);
    // Opting out writes nothing.
    const quiet = await serve(nc, { name: 'quiet', description: 'unlisted', input, register: false, handler: () => Promise.resolve(null) });
    expect(await quiet.registered).toBeUndefined();
    expect(await registry.get('quiet')).toBeUndefined();
  });

  it('answers a malformed request (not JSON, wrong key, another tool) with invalid_request, never a crash', async () => {
    const raw = async (body: string) => (await nc.request('pw.tools.lookup', body, { timeout: 2_000 })).json();
    expect(await raw('{nope')).toMatchObject({ ok: false, error: { code: 'invalid_request', message: expect.stringContaining('not JSON') } });
    expect(await raw(JSON.stringify({ ...request('lookup', { orderId: 'o-1' }), idempotencyKey: 'random' }))).toMatchObject({ ok: false, error: { code: 'invalid_request', path: 'idempotencyKey' } });
    expect(await raw(JSON.stringify(request('search', { q: 'ab' })))).toMatchObject({ ok: false, error: { code: 'invalid_request', path: 'tool' } });
    expect(await callTool(nc, request('lookup', { orderId: 'o-2' }), { timeoutMs: 2_000 })).toMatchObject({ ok: true });
  });

  it('maps handler errors by type and refuses results that break the output schema', async () => {
    await serve(nc, {
      name: 'flaky',
      description: 'fails on purpose',
      input: z.object({ mode: z.enum(['terminal', 'retryable', 'bug', 'badResult']) }),
      output: z.object({ n: z.number() }),
      handler: ({ mode }) => {
        if (mode === 'terminal') throw new ToolCallError('order_not_found', 'no such order', 'orderId');
        if (mode === 'bug') throw new TypeError('undefined is not a function');
        if (mode === 'badResult') return Promise.resolve({ n: 'many' });
        return Promise.reject(new ToolRetryableError('upstream_unavailable', 'upstream 503', 2_000));
      },
    });
    const call = (mode: string) => callTool(nc, request('flaky', { mode }), { timeoutMs: 2_000 });
    expect(await call('terminal')).toMatchObject({ ok: false, error: { code: 'order_not_found', retryable: false, path: 'orderId' } });
    expect(await call('retryable')).toMatchObject({ ok: false, error: { code: 'upstream_unavailable', retryable: true, retryAfterMs: 2_000 } });
    expect(await call('bug')).toMatchObject({ ok: false, error: { code: 'tool_failed', retryable: true, message: expect.stringContaining('undefined is not a function') } });
    expect(await call('badResult')).toMatchObject({ ok: false, error: { code: 'invalid_result', retryable: false, message: expect.stringContaining('n') } });
  });

  it('maps no responders and no reply in time to retryable errors', async () => {
    expect(await callTool(nc, request('nobody-serves-this', {}), { timeoutMs: 2_000 })).toMatchObject({ ok: false, error: { code: 'tool_unavailable', retryable: true } });
    await serve(nc, { name: 'slow', description: 'sleeps', input: z.object({}), timeoutMs: 5_000, handler: async (_a, ctx) => (await sleep(3_000, ctx.signal), 'late') });
    const t0 = Date.now();
    expect(await callTool(nc, request('slow', {}), { timeoutMs: 300 })).toMatchObject({ ok: false, error: { code: 'timeout', retryable: true } });
    expect(Date.now() - t0).toBeLessThan(2_000);
    // a deadline sooner than the timeout wins; one already past is not even sent
    expect(await callTool(nc, request('slow', {}, { deadlineAt: new Date(Date.now() - 1).toISOString() }), { timeoutMs: 5_000 })).toMatchObject({ ok: false, error: { code: 'deadline_exceeded', retryable: false } });
  });

  it('answers timeout at the tool\'s own limit and aborts the handler\'s signal', async () => {
    let aborted = false;
    await serve(nc, {
      name: 'stuck',
      description: 'never finishes in time',
      input: z.object({}),
      timeoutMs: 200,
      handler: async (_a, ctx) => {
        await sleep(10_000, ctx.signal);
        aborted = ctx.signal.aborted;
        return 'never';
      },
    });
    expect(await callTool(nc, request('stuck', {}), { timeoutMs: 5_000 })).toMatchObject({ ok: false, error: { code: 'timeout', retryable: true } });
    await sleep(50);
    expect(aborted).toBe(true);
  });

  it('holds calls over its concurrency in a bounded queue and answers busy beyond it', async () => {
    let running = 0;
    let peak = 0;
    await serve(nc, {
      name: 'narrow',
      description: 'one at a time',
      input: z.object({}),
      concurrency: 1,
      maxWaiting: 2,
      handler: async () => {
        peak = Math.max(peak, ++running);
        await sleep(150);
        running--;
        return 'done';
      },
    });
    const replies = await Promise.all(Array.from({ length: 5 }, () => callTool(nc, request('narrow', {}), { timeoutMs: 5_000 })));
    expect(replies.filter((r) => r.ok)).toHaveLength(3);
    expect(replies.filter((r) => !r.ok)).toEqual([expect.objectContaining({ error: expect.objectContaining({ code: 'busy', retryable: true }) }), expect.objectContaining({ error: expect.objectContaining({ code: 'busy' }) })]);
    expect(peak).toBe(1);
  });
});
