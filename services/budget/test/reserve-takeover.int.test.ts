import { connect, type NatsConnection } from '@nats-io/transport-node';
import { SCHEMA_VERSION, type BudgetReserveRequest } from '@pipewright/contracts';
import { Stack, startNatsServer } from '@pipewright/devstack';
import { RetryableError } from '@pipewright/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commit, ledgerKeys, openKvLedgerStore, release, reserve, runCodec, windowCodec, windowUsage, type LedgerContext, type LedgerStore } from '../src/index.js';
import { contextFor, RESERVATION_USD, reserveRequest, reserveUntilDecided, settingsWith, sleep, slowed, type Stall } from './slow-store.js';

/**
 * A reserve whose handler is slow, not dead, racing a repeat of the same reservation on another replica
 * (the client retries after 1 s). Whatever each of them answers, the ledger must stay consistent: a
 * reservation recorded `held` has its holds in the pipeline and tenant windows (its commit turns them into
 * spend), and one that is not open has none. Real nats-server, two writers as two replicas.
 */
const stack = new Stack();
let nc: NatsConnection;
let store: LedgerStore;
const settings = settingsWith({ 'slow-1': { maxUsd: RESERVATION_USD }, 'slow-2': { maxUsd: RESERVATION_USD }, 'slow-3': { maxUsd: 1 } });

beforeAll(async () => {
  const nats = await startNatsServer();
  stack.add('nats-server', () => nats.stop());
  nc = await connect({ servers: nats.url });
  stack.add('nats client', () => nc.close());
  store = await openKvLedgerStore(nc);
});
afterAll(() => stack.stopAll());

type LedgerView = { state: string | undefined; pipelineHold: boolean; tenantHold: boolean };

const consistent = (s: LedgerView) => {
  const open = s.state === 'held' || s.state === 'reserving';
  return s.pipelineHold === open && s.tenantHold === open;
};

/**
 * The reservation's record and holds, once they agree. Holds are given back off the request path, so
 * this reads again (bounded, 5 s) until those writes have landed; a ledger that stays inconsistent is
 * returned as it is, for the assertion to fail on.
 */
async function ledgerState(ctx: LedgerContext, req: BudgetReserveRequest): Promise<LedgerView> {
  const holdIn = async (key: string) => (await ctx.writer.read(key, windowCodec))?.holds[req.reservationId] !== undefined;
  const deadline = Date.now() + 5_000;
  for (;;) {
    const run = await ctx.writer.read(ledgerKeys.run(req.runId), runCodec);
    const s = { state: run?.records[req.reservationId]?.state, pipelineHold: await holdIn(ledgerKeys.pipeline(req.pipeline)), tenantHold: await holdIn(ledgerKeys.tenant(req.tenant)) };
    if (consistent(s) || Date.now() > deadline) return s;
    await sleep(50);
  }
}

function expectConsistent(s: LedgerView) {
  const open = s.state === 'held' || s.state === 'reserving';
  expect(s, JSON.stringify(s)).toEqual({ state: s.state, pipelineHold: open, tenantHold: open });
}

/** Fills a tenant's limit with a reservation of another run, then gives it back after `ms`. */
async function blockTenantFor(ctx: LedgerContext, tenant: string, pipeline: string, ms: number): Promise<() => Promise<unknown>> {
  const blocker = reserveRequest(`blocker-${tenant}`, tenant, pipeline);
  expect((await reserve(ctx, blocker)).outcome).toBe('granted');
  return async () => {
    await sleep(ms);
    return release(ctx, { schemaVersion: SCHEMA_VERSION, reservationId: blocker.reservationId, runId: blocker.runId, reason: 'done' });
  };
}

describe('a slow reserve and a repeat of it on another replica', () => {
  it('does not take over a handler slower than the old 2 s stale age: both answer what the record says', async () => {
    const [tenant, pipeline] = ['slow-1', 'p-slow-1'];
    const fast = contextFor(store, settings);
    const stall: Stall = { active: false, match: (k) => k === ledgerKeys.tenant(tenant), delayMs: 2_600 };
    const slow = contextFor(slowed(store, stall), settings);
    const unblock = await blockTenantFor(fast, tenant, pipeline, 100);
    const req = reserveRequest('slow-run-1', tenant, pipeline);
    stall.active = true;
    // The slow handler sees the tenant full (denied), but its answer comes 2.6 s later; meanwhile the
    // blocker is released and the client's repeat arrives past 2 s, on the other replica.
    const first = reserve(slow, req);
    await unblock();
    await sleep(2_000);
    const again = await reserveUntilDecided(fast, req);
    const original = await first;
    expect(again.outcome).toBe(original.outcome);
    expectConsistent(await ledgerState(fast, req));
  });

  it('lets a takeover of a stale claim stand: the overtaken handler neither gives its holds back nor answers otherwise', async () => {
    const [tenant, pipeline] = ['slow-2', 'p-slow-2'];
    const fast = contextFor(store, settings, { staleReservingMs: 300 });
    const stall: Stall = { active: false, match: (k) => k === ledgerKeys.tenant(tenant), delayMs: 1_500 };
    const slow = contextFor(slowed(store, stall), settings, { staleReservingMs: 300 });
    const unblock = await blockTenantFor(fast, tenant, pipeline, 100);
    const req = reserveRequest('slow-run-2', tenant, pipeline);
    stall.active = true;
    const first = reserve(slow, req);
    await unblock();
    await sleep(500);
    // Past the (shortened) stale age: the repeat's own window checks decide, and the tenant has room now.
    const again = await reserveUntilDecided(fast, req);
    expect(again).toMatchObject({ outcome: 'granted', repeated: true });
    // The overtaken handler's tenant check said "denied"; it must not act on it.
    expect(await first).toMatchObject({ outcome: 'granted' });
    const s = await ledgerState(fast, req);
    expect(s).toEqual({ state: 'held', pipelineHold: true, tenantHold: true });
    // and the commit turns the holds into spend in both windows
    const usage = { inputTokens: 100, outputTokens: 50, totalTokens: 150 };
    expect(await commit(fast, { schemaVersion: SCHEMA_VERSION, reservationId: req.reservationId, runId: req.runId, tenant, pipeline, model: req.model, usage })).toMatchObject({ previous: 'held', repeated: false });
    const window = await fast.writer.read(ledgerKeys.tenant(tenant), windowCodec);
    expect(windowUsage(window!, Date.now(), 24)).toMatchObject({ committed: { nano: RESERVATION_USD * 1e9, calls: 1 }, live: 0 });
  });

  it('keeps a taken-over reservation when the overtaken handler then fails on a window', async () => {
    const [tenant, pipeline] = ['slow-3', 'p-slow-3'];
    const fast = contextFor(store, settings, { staleReservingMs: 300 });
    const stall: Stall = { active: false, match: (k) => k === ledgerKeys.tenant(tenant), delayMs: 300, fail: true };
    const slow = contextFor(slowed(store, stall), settings, { staleReservingMs: 300, deadlineMs: 1_200 });
    const req = reserveRequest('slow-run-3', tenant, pipeline);
    stall.active = true;
    const first = reserve(slow, req);
    await sleep(500);
    expect(await reserveUntilDecided(fast, req)).toMatchObject({ outcome: 'granted', repeated: true });
    // The slow handler's tenant hold fails (store errors until its write deadline): it must not withdraw
    // the claim the repeat took over and answered from.
    await expect(first).rejects.toBeInstanceOf(RetryableError);
    expect(await ledgerState(fast, req)).toEqual({ state: 'held', pipelineHold: true, tenantHold: true });
  });
});
