import { BudgetStatus } from '@pipewright/contracts';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BudgetClient } from '../../services/executor/src/budget/index.js';
import { BudgetBed, expectedNano, isAlive, STORES, TEST_PRICES } from './support.js';

/**
 * Many executors, one limit: 20 connections × 50 reservations against one tenant's USD limit, served by
 * two budget replicas (processes) on each store. A sampler reads the tenant's status all along: what is
 * committed plus what is reserved must never pass the limit, and at the end the committed total must be
 * exactly what the commits reported, once each, however often they were retried.
 *
 * On MongoDB the stand-in is FerretDB 1.24 (SQLite), which finds every document by scanning its
 * collection and takes one writer at a time: the same race with 10 × 30 reservations and a lower limit
 * keeps the run near a minute instead of several.
 */
const SHAPE = {
  kv: { clients: 20, perClient: 50, limitUsd: 0.05 },
  mongo: { clients: 10, perClient: 30, limitUsd: 0.02 },
} as const;
const TENANT = 'stress';
const model = { provider: 'default', model: 'sim-small' };
/** Between two status samples: continuous, without making the sampler the main load. */
const SAMPLE_PAUSE_MS = 5;
/** A tiny epsilon for adding two USD floats that the service computed from exact nano-dollars. */
const EPS = 1e-12;

interface Tally {
  granted: number;
  denied: number;
  released: number;
  committedNano: number;
  committedTokens: number;
  chargedNano: number;
  repeatsCounted: number;
}

async function runClient(nc: NatsConnection, c: number, perClient: number, tally: Tally): Promise<void> {
  // FerretDB (SQLite, one writer at a time) is far slower than NATS KV: generous waits, still bounded.
  const budget = new BudgetClient(nc, { timeoutMs: 10_000, deadlineMs: 60_000 });
  const runId = `stress-run-${c}`;
  for (let i = 1; i <= perClient; i++) {
    const reservationId = `${runId}:step:1:${i}`;
    const req = { reservationId, runId, stepId: 'step', tenant: TENANT, pipeline: 'stress-pipe', model, estimatedInputTokens: 100, maxOutputTokens: 50, leaseMs: 30_000 };
    // every fifth reservation is sent twice at once, as a retry racing its original would be
    const replies = await Promise.all(i % 5 === 0 ? [budget.reserve(req), budget.reserve(req)] : [budget.reserve(req)]);
    const r = replies[0];
    if (replies.length === 2) expect(replies[1].kind, reservationId).toBe(r.kind);
    if (r.kind === 'unavailable') throw new Error(`budget unavailable: ${r.reason}`);
    if (r.kind === 'denied') {
      tally.denied += 1;
      continue;
    }
    tally.granted += 1;
    await new Promise((resolve) => setTimeout(resolve, (c * 7 + i * 13) % 4));
    if (i % 10 === 3) {
      await budget.release({ reservationId, runId, reason: 'model call failed' });
      tally.released += 1;
      continue;
    }
    // actual use within what was reserved: the prompt as estimated, part of the output cap
    const usage = { inputTokens: 100, outputTokens: 1 + ((c * 31 + i * 17) % 50), totalTokens: 0, ...(i % 4 === 0 ? { cachedInputTokens: 40 } : {}) };
    usage.totalTokens = usage.inputTokens + usage.outputTokens;
    const commit = { reservationId, runId, tenant: TENANT, pipeline: 'stress-pipe', model, usage };
    // every third commit is retried concurrently: it must count once. (A single commit may also say
    // `repeated` when the client retried it after a timeout and the first try had counted.)
    const acks = await Promise.all(i % 3 === 0 ? [budget.commit(commit), budget.commit(commit), budget.commit(commit)] : [budget.commit(commit)]);
    const charged = acks.map((a) => {
      if (a.kind !== 'committed') throw new Error(`commit unavailable: ${a.reason}`);
      return Math.round(a.chargedUsd * 1e9);
    });
    expect(new Set(charged).size, reservationId).toBe(1);
    tally.repeatsCounted += Math.max(0, acks.filter((a) => a.kind === 'committed' && !a.repeated).length - 1);
    tally.committedNano += expectedNano(usage);
    tally.committedTokens += usage.totalTokens;
    tally.chargedNano += charged[0]!;
  }
}

describe.each(STORES)('budget under concurrency on the %s store', (store, available) => {
  let bed: BudgetBed;
  const { clients: CLIENTS, perClient: PER_CLIENT, limitUsd: LIMIT_USD } = SHAPE[store];

  beforeAll(async () => {
    if (!available) return;
    bed = await BudgetBed.start(store);
    const env = { PW_BUDGET_CONFIG_JSON: JSON.stringify({ prices: TEST_PRICES, tenants: { [TENANT]: { maxUsd: LIMIT_USD } } }), PW_BUDGET_SWEEP_INTERVAL_MS: '1000' };
    await Promise.all([bed.startReplica(env), bed.startReplica(env)]);
  });
  afterAll(() => bed?.stop());

  it.skipIf(!available)(`never lets committed + reserved pass the limit: ${CLIENTS} clients × ${PER_CLIENT} reservations, 2 replicas`, { timeout: 240_000 }, async () => {
    const conns = await Promise.all(Array.from({ length: CLIENTS }, () => bed.client()));
    const sampler = await bed.client();
    const samples: BudgetStatus[] = [];
    let sampleErrors = 0;
    let done = false;
    const sampling = (async () => {
      // Bounded by the clients: it stops when they are done, or when the connection closes.
      while (!done && !sampler.isClosed()) {
        try {
          const msg = await sampler.request('pw.budget.status', JSON.stringify({ schemaVersion: 1, scope: 'tenant', id: TENANT }), { timeout: 10_000 });
          samples.push(BudgetStatus.parse(msg.json()));
          await new Promise((resolve) => setTimeout(resolve, SAMPLE_PAUSE_MS));
        } catch {
          sampleErrors += 1;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    })();
    const tally: Tally = { granted: 0, denied: 0, released: 0, committedNano: 0, committedTokens: 0, chargedNano: 0, repeatsCounted: 0 };
    try {
      await Promise.all(conns.map((nc, c) => runClient(nc, c, PER_CLIENT, tally)));
    } finally {
      done = true;
      await sampling;
    }

    const over = samples.filter((s) => s.committedUsd + s.reservedUsd > LIMIT_USD + EPS);
    expect(over, JSON.stringify(over.slice(0, 3))).toEqual([]);
    expect(samples.length).toBeGreaterThan(20);
    expect(sampleErrors).toBeLessThan(samples.length / 10);
    // the limit was actually contended: the test could have failed
    expect(tally.denied).toBeGreaterThan(0);
    expect(tally.granted).toBeGreaterThan(50);
    expect(Math.max(...samples.map((s) => s.committedUsd + s.reservedUsd))).toBeGreaterThan(LIMIT_USD * 0.9);

    const final = BudgetStatus.parse((await sampler.request('pw.budget.status', JSON.stringify({ schemaVersion: 1, scope: 'tenant', id: TENANT }), { timeout: 10_000 })).json());
    expect(final.reservedUsd).toBe(0);
    expect(tally.repeatsCounted).toBe(0);
    expect(tally.chargedNano).toBe(tally.committedNano);
    expect(Math.round(final.committedUsd * 1e9)).toBe(tally.committedNano);
    expect(final.committedTokens).toBe(tally.committedTokens);
    expect(final.calls).toBe(tally.granted - tally.released);
    for (const p of bed.processes) expect(isAlive(p.pid)).toBe(true);
    console.log(`[${store}] granted ${tally.granted}, denied ${tally.denied}, released ${tally.released}, committed $${final.committedUsd} of $${LIMIT_USD}, ${samples.length} status samples`);
  });
});
