import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { callTool, kvReceipts, memoryReceipts, serveTool, ToolCallError, ToolRetryableError, type ReceiptStore, type ToolHandle } from '../src/index.js';
import { natsFixture, request, sleep } from './support.js';

/**
 * Effects once: a repeated call with the same idempotency key gets the stored reply instead of running
 * again, across replicas in one queue group (KV receipts) and within one process (memory receipts).
 */
describe('receipts and replicas', () => {
  let fx: Awaited<ReturnType<typeof natsFixture>>;
  let a: NatsConnection;
  let b: NatsConnection;
  let caller: NatsConnection;
  const handles: ToolHandle[] = [];

  beforeAll(async () => {
    fx = await natsFixture();
    [a, b, caller] = await Promise.all([fx.connect(), fx.connect(), fx.connect()]);
  });
  afterAll(async () => {
    await Promise.allSettled(handles.map((h) => h.stop(1_000)));
    await fx?.close();
  });

  /** A refund tool on one connection; `effects` counts what it did, per replica. */
  const refundTool = async (nc: NatsConnection, dedupe: ReceiptStore, effects: string[], name = 'refund', delayMs = 0) => {
    const h = await serveTool(nc, {
      name,
      description: 'refunds an order',
      input: z.object({ orderId: z.string(), cents: z.number().int().positive() }),
      dedupe,
      handler: async (args, ctx) => {
        await sleep(delayMs);
        if (args.orderId === 'missing') throw new ToolCallError('order_not_found', 'no such order');
        if (args.orderId === 'flaky' && !effects.includes(`flaky:${ctx.idempotencyKey}`)) {
          effects.push(`flaky:${ctx.idempotencyKey}`);
          throw new ToolRetryableError('psp_unavailable', 'payment provider down');
        }
        effects.push(ctx.idempotencyKey);
        return { refundId: `r-${effects.length}`, cents: args.cents };
      },
    });
    handles.push(h);
    return h;
  };

  it('runs the handler once for two calls with the same key, on either replica, and says the second is cached', async () => {
    const effects: string[] = [];
    await refundTool(a, await kvReceipts(a), effects);
    await refundTool(b, await kvReceipts(b), effects);
    const req = request('refund', { orderId: 'o-1', cents: 500 }, { callId: 't1' });
    const first = await callTool(caller, req, { timeoutMs: 5_000 });
    expect(first).toEqual({ schemaVersion: 1, ok: true, result: { refundId: 'r-1', cents: 500 } });
    for (let i = 0; i < 6; i++) expect(await callTool(caller, req, { timeoutMs: 5_000 })).toEqual({ schemaVersion: 1, ok: true, result: { refundId: 'r-1', cents: 500 }, cached: true });
    expect(effects).toEqual(['run-1:agent:t1']);
    // another call id is another call
    expect(await callTool(caller, request('refund', { orderId: 'o-1', cents: 500 }, { callId: 't2' }), { timeoutMs: 5_000 })).toMatchObject({ ok: true, result: { refundId: 'r-2' } });
  });

  it('runs concurrent repeats once: the others wait (in_progress) and then get the stored result', async () => {
    const effects: string[] = [];
    await refundTool(a, await kvReceipts(a), effects, 'refund-slow', 300);
    await refundTool(b, await kvReceipts(b), effects, 'refund-slow', 300);
    const req = request('refund-slow', { orderId: 'o-9', cents: 100 }, { callId: 't5' });
    const replies = await Promise.all(Array.from({ length: 4 }, () => callTool(caller, req, { timeoutMs: 5_000 })));
    expect(replies.filter((r) => r.ok && r.cached !== true)).toHaveLength(1);
    for (const r of replies.filter((x) => !x.ok)) expect(r).toMatchObject({ ok: false, error: { code: 'in_progress', retryable: true, retryAfterMs: expect.any(Number) } });
    await sleep(400);
    expect(await callTool(caller, req, { timeoutMs: 5_000 })).toMatchObject({ ok: true, cached: true });
    expect(effects).toEqual(['run-1:agent:t5']);
  });

  it('stores a failure a retry cannot fix, and lets a retryable failure run again', async () => {
    const effects: string[] = [];
    await refundTool(a, memoryReceipts(), effects, 'refund-mem');
    const missing = request('refund-mem', { orderId: 'missing', cents: 1 });
    expect(await callTool(caller, missing, { timeoutMs: 5_000 })).toMatchObject({ ok: false, error: { code: 'order_not_found' } });
    expect(await callTool(caller, missing, { timeoutMs: 5_000 })).toMatchObject({ ok: false, error: { code: 'order_not_found' } });
    const flaky = request('refund-mem', { orderId: 'flaky', cents: 2 }, { callId: 'f1' });
    expect(await callTool(caller, flaky, { timeoutMs: 5_000 })).toMatchObject({ ok: false, error: { code: 'psp_unavailable', retryable: true } });
    expect(await callTool(caller, flaky, { timeoutMs: 5_000 })).toMatchObject({ ok: true, result: { cents: 2 } });
    expect(await callTool(caller, flaky, { timeoutMs: 5_000 })).toMatchObject({ ok: true, cached: true });
    expect(effects).toEqual(['flaky:run-1:agent:f1', 'run-1:agent:f1']);
  });

  it('shares calls between two processes in one queue group, each call answered once, each within its concurrency', async () => {
    const served = { a: 0, b: 0 };
    const peak = { a: 0, b: 0 };
    const running = { a: 0, b: 0 };
    for (const [nc, who] of [[a, 'a'], [b, 'b']] as const)
      handles.push(
        await serveTool(nc, {
          name: 'echo',
          description: 'echoes',
          input: z.object({ n: z.number() }),
          concurrency: 4,
          handler: async ({ n }) => {
            served[who]++;
            peak[who] = Math.max(peak[who], ++running[who]);
            await sleep(20);
            running[who]--;
            return { n, by: who };
          },
        }),
      );
    const replies = await Promise.all(Array.from({ length: 60 }, (_, n) => callTool(caller, request('echo', { n }), { timeoutMs: 10_000 })));
    expect(replies.map((r) => (r.ok ? (r.result as { n: number }).n : -1))).toEqual(Array.from({ length: 60 }, (_, n) => n));
    expect(served.a + served.b).toBe(60);
    expect(served.a).toBeGreaterThan(0);
    expect(served.b).toBeGreaterThan(0);
    expect(Math.max(peak.a, peak.b)).toBeLessThanOrEqual(4);
  });

  it('refuses to run an effect when the receipt store is unreachable', async () => {
    // A real KV store whose bucket is then deleted: every claim fails as it would with JetStream gone.
    const down = await kvReceipts(a, { bucket: 'receipts_gone' });
    const deleted = (await a.request('$JS.API.STREAM.DELETE.KV_receipts_gone', undefined, { timeout: 5_000 })).json<{ success?: boolean }>();
    expect(deleted.success).toBe(true);
    const effects: string[] = [];
    await refundTool(a, down, effects, 'refund-down');
    expect(await callTool(caller, request('refund-down', { orderId: 'o-1', cents: 1 }), { timeoutMs: 5_000 })).toMatchObject({ ok: false, error: { code: 'receipts_unavailable', retryable: true } });
    expect(effects).toEqual([]);
  });

  it('KV receipts: a claim whose lease ran out is taken over, and the old holder can no longer write', async () => {
    const store = await kvReceipts(a, { bucket: 'receipts_lease' });
    const first = await store.claim('t', 'run-1:s:c1', 100);
    if (first.kind !== 'claimed') throw new Error(`expected a claim, got ${first.kind}`);
    expect(await store.claim('t', 'run-1:s:c1', 100)).toMatchObject({ kind: 'busy' });
    await sleep(150);
    const second = await store.claim('t', 'run-1:s:c1', 10_000);
    if (second.kind !== 'claimed') throw new Error(`expected a takeover, got ${second.kind}`);
    await store.complete(first.token, { schemaVersion: 1, ok: true, result: 'stale' });
    await store.complete(second.token, { schemaVersion: 1, ok: true, result: 'fresh' });
    expect(await store.claim('t', 'run-1:s:c1', 100)).toEqual({ kind: 'done', reply: { schemaVersion: 1, ok: true, result: 'fresh' } });
  });
});
