import type { NatsConnection } from '@nats-io/transport-node';
import { BudgetReserveReply, BudgetStatusReply, SCHEMA_VERSION, subjects } from '@pipewright/contracts';
import { sleep, waitFor } from '@pipewright/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BudgetClient, BudgetRequestError } from '../../services/executor/src/budget/index.js';
import { BudgetBed, expectedNano, isAlive, STORES, TEST_PRICES } from './support.js';

/**
 * The budget service as deployed: two replicas (processes) in one queue group, on each store, driven
 * over NATS with the executor's real client.
 */
const model = { provider: 'default', model: 'sim-small' };
/** Long enough that a loaded FerretDB answers the next reserve before the lease runs out. */
const LEASE_MS = 2_000;
const config = {
  prices: TEST_PRICES,
  tenants: { capped: { maxUsd: 0.001, windowHours: 24 } },
  pipelines: { 'token-capped': { maxTokens: 1_000 } },
};

describe.each(STORES)('budget service on the %s store', (store, available) => {
  let bed: BudgetBed;
  let nc: NatsConnection;
  let budget: BudgetClient;
  const reserveReq = (runId: string, n: number, extra: Partial<Parameters<BudgetClient['reserve']>[0]> = {}) => ({
    reservationId: `${runId}:s:1:${n}`,
    runId,
    stepId: 's',
    tenant: 'default',
    pipeline: 'p',
    model,
    estimatedInputTokens: 100,
    maxOutputTokens: 50,
    leaseMs: 60_000,
    ...extra,
  });
  const commitReq = (runId: string, n: number, usage = { inputTokens: 90, outputTokens: 40, totalTokens: 130 }, extra: { tenant?: string; pipeline?: string } = {}) => ({
    reservationId: `${runId}:s:1:${n}`,
    runId,
    tenant: extra.tenant ?? 'default',
    pipeline: extra.pipeline ?? 'p',
    model,
    usage,
  });
  const runStatus = async (runId: string) => {
    const s = await budget.status('run', runId);
    if (s.kind !== 'status') throw new Error(s.reason);
    return s;
  };

  beforeAll(async () => {
    if (!available) return;
    bed = await BudgetBed.start(store);
    const env = { PW_BUDGET_CONFIG_JSON: JSON.stringify(config), PW_BUDGET_SWEEP_INTERVAL_MS: '200' };
    await Promise.all([bed.startReplica(env), bed.startReplica(env)]);
    nc = await bed.client();
    budget = new BudgetClient(nc, { timeoutMs: 2_000, deadlineMs: 5_000 });
  });
  afterAll(() => bed?.stop());

  it.skipIf(!available)('reserves, commits at the price table, and answers repeats without counting twice', async () => {
    const r = await budget.reserve(reserveReq('run-a', 1, { limits: { maxUsd: 1 } }));
    // 100 × $1/M + 50 × $2/M
    // the grant says the price it was granted at: the commit charges that, and the executor reports the cost with it
    expect(r).toMatchObject({ kind: 'granted', reservedUsd: 0.0002, reservedTokens: 150, price: TEST_PRICES['sim-small'], repeated: false });
    expect(await budget.reserve(reserveReq('run-a', 1, { limits: { maxUsd: 1 } }))).toMatchObject({ kind: 'granted', price: TEST_PRICES['sim-small'], repeated: true });
    expect(await runStatus('run-a')).toMatchObject({ reservedUsd: 0.0002, committedUsd: 0, openReservations: 1, limitUsd: 1 });

    const usage = { inputTokens: 90, outputTokens: 40, totalTokens: 130, cachedInputTokens: 20 };
    const c1 = await budget.commit(commitReq('run-a', 1, usage));
    expect(c1).toMatchObject({ kind: 'committed', chargedUsd: expectedNano(usage) / 1e9, chargedTokens: 130, repeated: false, previous: 'held', late: false });
    // a retried commit, several at once, and a release after the commit: all harmless
    const repeats = await Promise.all([budget.commit(commitReq('run-a', 1, usage)), budget.commit(commitReq('run-a', 1, usage)), budget.release({ reservationId: 'run-a:s:1:1', runId: 'run-a', reason: 'late' })]);
    expect(repeats).toMatchObject([
      { kind: 'committed', repeated: true, chargedUsd: expectedNano(usage) / 1e9 },
      { kind: 'committed', repeated: true },
      { kind: 'released', repeated: true, previous: 'committed' },
    ]);
    expect(await runStatus('run-a')).toMatchObject({ committedUsd: expectedNano(usage) / 1e9, committedTokens: 130, reservedUsd: 0, calls: 1 });
    const tenant = await budget.status('tenant', 'default');
    expect(tenant).toMatchObject({ kind: 'status', committedUsd: expectedNano(usage) / 1e9, calls: 1, windowHours: 24 });
  });

  it.skipIf(!available)('denies what would pass a run, pipeline or tenant limit, and says which and what is left', async () => {
    expect(await budget.reserve(reserveReq('run-b', 1, { limits: { maxUsd: 0.0003 } }))).toMatchObject({ kind: 'granted' });
    const runDenial = await budget.reserve(reserveReq('run-b', 2, { limits: { maxUsd: 0.0003 } }));
    expect(runDenial).toMatchObject({ kind: 'denied', limit: 'run.maxUsd', remaining: 0.0001 });
    // a run's budget never frees up by itself: no time to retry at
    expect(runDenial).not.toHaveProperty('retryAfterMs');
    expect(await budget.reserve(reserveReq('run-b', 3, { limits: { maxTokens: 200 } }))).toMatchObject({ kind: 'denied', limit: 'run.maxTokens', remaining: 50 });
    // the denied reservation holds nothing: the run still has room for a small one
    expect(await budget.reserve(reserveReq('run-b', 4, { estimatedInputTokens: 10, maxOutputTokens: 10, limits: { maxUsd: 0.0003 } }))).toMatchObject({ kind: 'granted' });

    const t = (n: number) => reserveReq('run-c', n, { tenant: 'capped', maxOutputTokens: 200 }); // $0.0005 each against $0.001
    const tenantReplies = await Promise.all([t(1), t(2), t(3)].map((q) => budget.reserve(q)));
    expect(tenantReplies.map((r) => r.kind).sort()).toEqual(['denied', 'granted', 'granted']);
    // the window is full of holds: it has room when their leases (60 s) end, if nothing is spent meanwhile
    const tenantDenial = tenantReplies.find((r) => r.kind === 'denied');
    expect(tenantDenial).toMatchObject({ limit: 'tenant.maxUsd', retryAfterMs: expect.any(Number) });
    expect(tenantDenial?.kind === 'denied' && tenantDenial.retryAfterMs).toBeGreaterThan(50_000);
    expect(tenantDenial?.kind === 'denied' && tenantDenial.retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(await budget.reserve(reserveReq('run-d', 1, { pipeline: 'token-capped', estimatedInputTokens: 900, maxOutputTokens: 200 }))).toMatchObject({ kind: 'denied', limit: 'pipeline.maxTokens', remaining: 1_000 });
    // a model without a price cannot be metered against a USD limit
    expect(await budget.reserve(reserveReq('run-e', 1, { model: { provider: 'default', model: 'unpriced' }, limits: { maxUsd: 5 } }))).toMatchObject({ kind: 'denied', limit: 'price' });
    expect(await budget.reserve(reserveReq('run-e', 2, { model: { provider: 'default', model: 'unpriced' } }))).toMatchObject({ kind: 'granted', reservedUsd: 0, reservedTokens: 150 });
  });

  it.skipIf(!available)('gives the budget back when a lease expires, and still records a late commit', async () => {
    const limits = { maxUsd: 0.0003 };
    const pipeline = 'lease-p';
    // a holder that never comes back (a killed executor): its lease runs out
    const leasedAt = performance.now();
    expect(await budget.reserve(reserveReq('run-f', 1, { limits, pipeline, leaseMs: LEASE_MS }))).toMatchObject({ kind: 'granted' });
    expect(await budget.reserve(reserveReq('run-f', 2, { limits, pipeline }))).toMatchObject({ kind: 'denied', limit: 'run.maxUsd' });
    // a denial is final for its reservation id, so each try is a new call (as a re-dispatched step would be)
    let n = 2;
    const back = await waitFor('the expired lease to be returned', async () => ((await budget.reserve(reserveReq('run-f', ++n, { limits, pipeline }))).kind === 'granted' ? n : undefined), { timeoutMs: LEASE_MS + 10_000, intervalMs: 100 });
    // given back only once the lease had run out (the service set its expiry after leasedAt)
    expect(performance.now() - leasedAt).toBeGreaterThanOrEqual(LEASE_MS);
    // the sweeper (every ~200 ms) records the expiry; the late commit is counted all the same
    await sleep(600);
    const late = await budget.commit(commitReq('run-f', 1, undefined, { pipeline }));
    expect(late).toMatchObject({ kind: 'committed', repeated: false, previous: 'expired', late: true, chargedUsd: 0.00017 });
    expect(await runStatus('run-f')).toMatchObject({ committedUsd: 0.00017, reservedUsd: 0.0002, openReservations: 1 });
    expect(await budget.status('pipeline', pipeline)).toMatchObject({ committedUsd: 0.00017, reservedUsd: 0.0002, calls: 1 });
    // released reservations give their budget back at once
    expect(await budget.release({ reservationId: `run-f:s:1:${back}`, runId: 'run-f', reason: 'model call failed' })).toMatchObject({ kind: 'released', repeated: false, previous: 'held' });
    expect(await runStatus('run-f')).toMatchObject({ reservedUsd: 0, openReservations: 0 });
  });

  it.skipIf(!available)('answers malformed requests with the field named and keeps serving', async () => {
    const ask = async (subject: string, body: string) => (await nc.request(subject, body, { timeout: 2_000 })).json<{ outcome: string; error?: { code: string; path?: string } }>();
    expect(await ask(subjects.budget.reserve, 'not json')).toMatchObject({ outcome: 'error', error: { code: 'invalid_request', path: '(root)' } });
    const good = { schemaVersion: SCHEMA_VERSION, ...reserveReq('run-g', 1) };
    expect(await ask(subjects.budget.reserve, JSON.stringify({ ...good, estimatedInputTokens: -1 }))).toMatchObject({ error: { code: 'invalid_request', path: 'estimatedInputTokens' } });
    expect(await ask(subjects.budget.reserve, JSON.stringify({ ...good, runId: 'has.dot' }))).toMatchObject({ error: { path: 'runId' } });
    expect(await ask(subjects.budget.reserve, JSON.stringify({ ...good, extra: 1 }))).toMatchObject({ error: { path: 'extra' } });
    expect(await ask(subjects.budget.commit, JSON.stringify({ schemaVersion: 1, reservationId: 'x' }))).toMatchObject({ error: { code: 'invalid_request' } });
    expect(await ask(subjects.budget.status, JSON.stringify({ schemaVersion: 1, scope: 'tenant', id: 'a b' }))).toMatchObject({ error: { code: 'invalid_request', path: 'id' } });
    expect(await ask(subjects.budget.status, JSON.stringify({ schemaVersion: 2, scope: 'run', id: 'x' }))).toMatchObject({ error: { path: 'schemaVersion' } });
    // the client surfaces a refused request as a bug, not an outcome
    await expect(budget.reserve({ ...reserveReq('run-g', 2), leaseMs: 1 })).rejects.toBeInstanceOf(BudgetRequestError);
    for (const p of bed.processes) expect(isAlive(p.pid)).toBe(true);
    const ok = BudgetReserveReply.parse(await ask(subjects.budget.reserve, JSON.stringify(good)));
    expect(ok.outcome).toBe('granted');
    expect(BudgetStatusReply.parse(await ask(subjects.budget.status, JSON.stringify({ schemaVersion: 1, scope: 'pipeline', id: 'p' }))).outcome).toBe('status');
  });
});
