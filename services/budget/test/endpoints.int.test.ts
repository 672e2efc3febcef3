import { connect, type NatsConnection } from '@nats-io/transport-node';
import { trace } from '@opentelemetry/api';
import { SCHEMA_VERSION, subjects } from '@pipewright/contracts';
import { Stack, startNatsServer } from '@pipewright/devstack';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics, dropHoldOp, holdOp, ledgerKeys, LedgerFullError, openKvLedgerStore, serveBudget, windowCodec, type BudgetEndpoints, type LedgerContext, type LedgerStore, type WindowRef } from '../src/index.js';
import { contextFor, reserveRequest, settingsWith } from './slow-store.js';

/**
 * The endpoints in-process on a real nats-server: how failures of the store reach the client. A failure
 * that is not the caller's fault must be retryable (the executor's client takes a non-retryable error
 * for a bug on its side), and a document that is full must refuse the one request, not the store.
 */
const stack = new Stack();
let nc: NatsConnection;
let store: LedgerStore;
const settings = settingsWith({ busy: { maxUsd: 1_000 } });

function serve(ctx: LedgerContext): BudgetEndpoints {
  return serveBudget(nc, ctx, { tracer: trace.getTracer('budget-test'), metrics: createMetrics(new Registry(), ctx.writer), maxInFlight: 1_000 });
}

const ask = async (subject: string, body: unknown) => (await nc.request(subject, JSON.stringify(body), { timeout: 5_000 })).json<{ outcome: string; error?: { code: string; retryable: boolean } }>();

beforeAll(async () => {
  const nats = await startNatsServer();
  stack.add('nats-server', () => nats.stop());
  nc = await connect({ servers: nats.url });
  stack.add('nats client', () => nc.close());
  store = await openKvLedgerStore(nc);
});
afterAll(() => stack.stopAll());

describe('budget endpoints when the store fails', () => {
  it('answers a store error as retryable `unavailable`, and a malformed request as non-retryable `invalid_request`', async () => {
    const reset = () => Promise.reject(new Error('connection reset'));
    const broken: LedgerStore = { kind: 'kv', get: reset, create: reset, update: reset, markOpen: () => Promise.resolve(), clearOpen: () => Promise.resolve(), openRuns: () => Promise.resolve([]), close: () => Promise.resolve() };
    const endpoints = serve(contextFor(broken, settings, { deadlineMs: 200 }));
    try {
      for (const scope of ['run', 'tenant'] as const) expect(await ask(subjects.budget.status, { schemaVersion: SCHEMA_VERSION, scope, id: 'x' })).toMatchObject({ outcome: 'error', error: { code: 'unavailable', retryable: true } });
      expect(await ask(subjects.budget.reserve, reserveRequest('broken-run', 'busy', 'p'))).toMatchObject({ outcome: 'error', error: { code: 'unavailable', retryable: true } });
      expect(await ask(subjects.budget.status, { schemaVersion: SCHEMA_VERSION, scope: 'run', id: 'a b' })).toMatchObject({ outcome: 'error', error: { code: 'invalid_request', retryable: false } });
    } finally {
      await endpoints.stop(1_000);
    }
  });
});

describe('a tenant with more open reservations than one ledger document takes', () => {
  it('refuses the next hold alone, at once and retryably, long before the store would, and keeps the document writable', async () => {
    const ctx = contextFor(store, settings);
    const ref: WindowRef = { scope: 'tenant', id: 'busy', windowHours: 24, limit: { maxUsd: 1_000, windowHours: 24 } };
    // Reservation ids as long as the contract allows (200 characters): the fewest holds that fill it.
    const id = (n: number) => `${'r'.repeat(190)}:${String(n).padStart(8, '0')}`;
    const expiresAt = Date.now() + 600_000;
    let added = 0;
    let refused: unknown[] = [];
    while (refused.length === 0 && added < 10_000) {
      const chunk = await Promise.allSettled(Array.from({ length: 256 }, (_, i) => ctx.writer.run(ledgerKeys.tenant('busy'), windowCodec, holdOp(ref, id(added + i), { nano: 1, tokens: 1 }, expiresAt))));
      added += chunk.filter((r) => r.status === 'fulfilled').length;
      refused = chunk.flatMap((r): unknown[] => (r.status === 'rejected' ? [r.reason as unknown] : []));
    }
    expect(refused.length).toBeGreaterThan(0);
    for (const err of refused) expect(err).toBeInstanceOf(LedgerFullError);
    const stored = await store.get(ledgerKeys.tenant('busy'));
    expect(Buffer.byteLength(stored!.text)).toBeLessThan(1024 * 1024);
    console.log(`tenant window full at ${added} open holds with 200-character ids: ${Buffer.byteLength(stored!.text)} bytes, ${(Buffer.byteLength(stored!.text) / added).toFixed(0)} bytes per hold`);

    // A reserve is answered at once with a retryable error that says why; a release batched with refused
    // holds still goes through.
    const endpoints = serve(ctx);
    try {
      const started = Date.now();
      expect(await ask(subjects.budget.reserve, reserveRequest('busy-run', 'busy', 'p'))).toMatchObject({ outcome: 'error', error: { code: 'ledger_full', retryable: true } });
      expect(Date.now() - started).toBeLessThan(1_000);
      const [more, drop] = await Promise.allSettled([ctx.writer.run(ledgerKeys.tenant('busy'), windowCodec, holdOp(ref, id(99_999_999), { nano: 1, tokens: 1 }, expiresAt)), ctx.writer.run(ledgerKeys.tenant('busy'), windowCodec, dropHoldOp(id(0)))]);
      expect(more.status).toBe('rejected');
      expect(drop).toEqual({ status: 'fulfilled', value: true });
    } finally {
      await endpoints.stop(1_000);
    }
  });
});
