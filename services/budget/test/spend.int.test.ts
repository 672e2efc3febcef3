import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { SCHEMA_VERSION, streams, subjects, type Spend } from '@pipewright/contracts';
import { Stack, startNatsServer, waitFor } from '@pipewright/devstack';
import { ensureStream, type ConsumerHandle } from '@pipewright/kit';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BookingHorizon,
  bookSpend,
  BudgetSettings,
  commit,
  createMetrics,
  ledgerKeys,
  openKvLedgerStore,
  reserve,
  runCodec,
  SPEND_CONSUMER,
  startSpendConsumer,
  sweepOnce,
  windowCodec,
  windowUsage,
  type BudgetMetrics,
  type LedgerContext,
  type LedgerStore,
} from '../src/index.js';
import { contextFor, log, PRICES, reserveRequest } from './slow-store.js';

/**
 * The spend consumer in-process on a real nats-server: task events carry what each model call used, and
 * the budget books them from the stream, once each, at the price the reservation was granted at.
 */
const stack = new Stack();
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;
let store: LedgerStore;
let ctx: LedgerContext;
let horizon: BookingHorizon;
let metrics: BudgetMetrics;
let consumer: ConsumerHandle | undefined;
/** The price table the service reads now: a test changes it as an operator would. */
let table = new BudgetSettings({ prices: PRICES, pipelines: {}, tenants: { full: { maxUsd: 0.0003, windowHours: 24 } }, defaults: {} });
const model = { provider: 'default', model: 'sim-small' };
const usage = (inputTokens: number, outputTokens: number) => ({ inputTokens, outputTokens, totalTokens: inputTokens + outputTokens });
/** Nano-dollars by PRICES (sim-small: $1 and $2 per million tokens). */
const nanoOf = (u: { inputTokens: number; outputTokens: number }) => u.inputTokens * 1_000 + u.outputTokens * 2_000;

beforeAll(async () => {
  const nats = await startNatsServer();
  stack.add('nats-server', () => nats.stop());
  nc = await connect({ servers: nats.url });
  stack.add('nats client', () => nc.close());
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
  await ensureStream(jsm, streams.events);
  await ensureStream(jsm, streams.dlq);
  store = await openKvLedgerStore(nc);
  horizon = new BookingHorizon(jsm, SPEND_CONSUMER, log);
  // Records are kept no longer than the booking horizon allows (retention 0): what the horizon is for.
  const base = contextFor(store, table);
  ctx = { ...base, retentionMs: 0, bookedThrough: horizon.bookedThrough, get settings() { return table; } };
  metrics = createMetrics(new Registry(), ctx.writer);
  // history: a result published before the budget's consumer existed
  await granted('history', 1, 'old');
  await publishResult('history', [spendOf('history:s:1:1', usage(10, 10))]);
  consumer = await startSpendConsumer({ js, jsm, log }, ctx, metrics);
  stack.add('spend consumer', () => consumer?.stop(1_000) ?? Promise.resolve());
});
afterAll(() => stack.stopAll());

let published = 0;
/** A task's result as the executor publishes it, with its spend. */
async function publishResult(runId: string, spend: Spend[], type: 'step.completed' | 'step.parked' = 'step.completed'): Promise<void> {
  const at = new Date().toISOString();
  const event =
    type === 'step.completed'
      ? { schemaVersion: SCHEMA_VERSION, type, runId, stepId: 's', attempt: 1, calls: spend.length, usage: usage(0, 0), spend, latencyMs: 1, at, model, output: 'ok' }
      : { schemaVersion: SCHEMA_VERSION, type, runId, stepId: 's', attempt: 1, reason: 'test', retryAt: at, spend, at };
  // A distinct message each time: a republish the stream's dedupe window does not catch.
  await js.publish(subjects.taskEvent(runId, type, 's=1'), JSON.stringify(event), { msgID: `test-${++published}` });
}

const spendOf = (reservationId: string, u: { inputTokens: number; outputTokens: number }): Spend => ({ reservationId, model, usage: { ...u, totalTokens: u.inputTokens + u.outputTokens } });
const granted = async (runId: string, n: number, tenant = 't') => {
  const r = await reserve(ctx, { ...reserveRequest(runId, tenant, 'p'), reservationId: `${runId}:s:1:${n}` });
  if (r.outcome !== 'granted') throw new Error(`not granted: ${JSON.stringify(r)}`);
  return r;
};
const runDoc = async (runId: string) => (await ctx.writer.read(ledgerKeys.run(runId), runCodec))!;
const booked = async (outcome: string) => (await metrics.booked.get()).values.find((v) => v.labels['outcome'] === outcome)?.value ?? 0;

/** Every event published so far is booked (or refused): nothing pending, nothing unacknowledged. */
const caughtUp = () =>
  waitFor('the spend consumer to catch up', async () => {
    const i = await jsm.consumers.info(streams.events.name, SPEND_CONSUMER);
    return i.num_pending === 0 && i.num_ack_pending === 0 ? i : undefined;
  }, { timeoutMs: 10_000, intervalMs: 20 });

describe('booking spend from task events', () => {
  it('starts with the events published after the consumer was created, not with the stream history', async () => {
    await publishResult('history', []);
    await caughtUp();
    expect((await runDoc('history')).spent.calls).toBe(0);
  });

  it('books an event delivered twice once, and releases a call that used nothing', async () => {
    await granted('twice', 1);
    await granted('twice', 2);
    const spend = [spendOf('twice:s:1:1', usage(90, 40)), spendOf('twice:s:1:2', usage(0, 0))];
    const before = { committed: await booked('committed'), repeated: await booked('repeated') };
    await publishResult('twice', spend);
    await publishResult('twice', spend);
    await caughtUp();
    const doc = await runDoc('twice');
    expect(doc.spent).toEqual({ nano: nanoOf(usage(90, 40)), tokens: 130, calls: 1 });
    expect(doc.records['twice:s:1:2']?.state).toBe('released');
    const tenant = windowUsage((await ctx.writer.read(ledgerKeys.tenant('t'), windowCodec))!, Date.now(), 24);
    expect(tenant.committed.nano).toBe(nanoOf(usage(90, 40)));
    expect(tenant.reserved.nano).toBe(0);
    expect(await booked('committed')).toBe(before.committed + 1);
    expect(await booked('repeated')).toBe(before.repeated + 2);
  });

  it('charges the price a reservation was granted at, after the table changed, from an event and from a request', async () => {
    const old = await granted('priced', 1);
    await granted('priced', 2);
    expect(old.outcome === 'granted' && old.price).toEqual(PRICES['sim-small']);
    table = new BudgetSettings({ ...table.doc, prices: { 'sim-small': { input: 10, output: 20 } } });
    try {
      const fresh = await granted('priced', 3);
      expect(fresh.outcome === 'granted' && fresh.price).toEqual({ input: 10, output: 20 });
      await publishResult('priced', [spendOf('priced:s:1:1', usage(100, 10)), spendOf('priced:s:1:3', usage(100, 10))], 'step.parked');
      await caughtUp();
      const byRequest = await commit(ctx, { schemaVersion: SCHEMA_VERSION, reservationId: 'priced:s:1:2', runId: 'priced', tenant: 't', pipeline: 'p', model, usage: usage(100, 10) });
      expect(byRequest).toMatchObject({ outcome: 'committed', chargedUsd: nanoOf(usage(100, 10)) / 1e9, repeated: false });
      const doc = await runDoc('priced');
      expect(doc.records['priced:s:1:1']?.chargedNano).toBe(nanoOf(usage(100, 10)));
      expect(doc.records['priced:s:1:3']?.chargedNano).toBe(10 * nanoOf(usage(100, 10)));
      expect(doc.spent.nano).toBe(12 * nanoOf(usage(100, 10)));
    } finally {
      table = new BudgetSettings({ ...table.doc, prices: PRICES });
    }
  });

  it('acknowledges events of other types and events without spend, and refuses malformed ones to the DLQ', async () => {
    const dlqBefore = (await jsm.streams.info(streams.dlq.name)).state.messages;
    await granted('odd', 1);
    await js.publish(subjects.taskEvent('odd', 'step.failed', 's=1'), 'not json');
    await js.publish(subjects.taskEvent('odd', 'step.completed', 's=1'), JSON.stringify({ type: 'step.completed', runId: 'odd', spend: [{ reservationId: 'odd:s:1:1', model, usage: { inputTokens: -1, outputTokens: 0, totalTokens: 0 } }] }));
    await js.publish(subjects.taskEvent('odd', 'step.completed', 's=1'), JSON.stringify({ type: 'run.decided', runId: 'odd', spend: [spendOf('odd:s:1:1', usage(5, 5))] }));
    await publishResult('odd', [], 'step.parked');
    await caughtUp();
    expect((await jsm.streams.info(streams.dlq.name)).state.messages).toBe(dlqBefore + 2);
    const doc = await runDoc('odd');
    expect(doc.spent.calls).toBe(0);
    expect(doc.records['odd:s:1:1']?.state).toBe('held');
  });

  it('books a window full, and a denial then says when the spend leaves the window', async () => {
    await granted('full-run', 1, 'full');
    await publishResult('full-run', [spendOf('full-run:s:1:1', usage(100, 50))]);
    await caughtUp();
    const committedAt = (await runDoc('full-run')).records['full-run:s:1:1']!.endedAt!;
    // $0.0002 spent of $0.0003: a second reservation of $0.0002 fits once this hour's bucket leaves the 24 h window
    const r = await reserve(ctx, { ...reserveRequest('full-run', 'full', 'p'), reservationId: 'full-run:s:1:2' });
    const leaves = Math.floor(committedAt / 3_600_000) * 3_600_000 + 25 * 3_600_000;
    expect(r).toMatchObject({ outcome: 'denied', limit: 'tenant.maxUsd' });
    const retryAfterMs = r.outcome === 'denied' ? r.retryAfterMs : undefined;
    expect(retryAfterMs).toBeGreaterThan(leaves - Date.now() - 5_000);
    expect(retryAfterMs).toBeLessThanOrEqual(leaves - committedAt);
  });

  it('keeps a booked record while its event is unacknowledged, however long: the redelivery after an outage counts nothing', async () => {
    await consumer!.stop(1_000);
    consumer = undefined;
    await granted('outage', 1);
    const spend = [spendOf('outage:s:1:1', usage(30, 20))];
    await publishResult('outage', spend);
    // a replica booked the event and died before its ack: the record is written, the event still pending
    expect(await bookSpend(ctx, 'outage', spend)).toMatchObject({ committed: 1 });
    await horizon.refresh();
    expect(horizon.bookedThrough()).toBeLessThanOrEqual((await runDoc('outage')).records['outage:s:1:1']!.endedAt!);
    // with retention 0 the wall clock would prune it now; the horizon keeps it
    await sweepOnce(ctx, store);
    await granted('outage', 2);
    expect((await runDoc('outage')).records['outage:s:1:1']?.state).toBe('committed');
    // the service is back: the event is delivered again and counts nothing
    consumer = await startSpendConsumer({ js, jsm, log }, ctx, metrics);
    await caughtUp();
    expect((await runDoc('outage')).spent).toEqual({ nano: nanoOf(usage(30, 20)), tokens: 50, calls: 1 });
    // once it is booked, the record may go
    await horizon.refresh();
    await sweepOnce(ctx, store);
    expect((await runDoc('outage')).records['outage:s:1:1']).toBeUndefined();
  });
});
