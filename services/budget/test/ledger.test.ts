import { describe, expect, it } from 'vitest';
import {
  claimOp,
  commitOp,
  dropClaimOp,
  dropHoldOp,
  finalizeOp,
  HOLD_GRACE_MS,
  holdOp,
  HOUR_MS,
  releaseOp,
  runUsage,
  spendOp,
  sweepOp,
  windowUsage,
  type LedgerOp,
  type RunLedgerDoc,
  type WindowLedgerDoc,
  type WindowRef,
} from '../src/index.js';

const T0 = Date.UTC(2026, 10, 24, 10, 30);
const RETENTION_MS = 600_000;
const run = { runId: 'r1', pipeline: 'p', tenant: 't' };
/** $1,000 per million tokens: one token is 1,000,000 nano-dollars, so usage in tokens reads as nano-dollars / 1e6. */
const PRICE = { input: 1_000, output: 1_000 };
const usage = (tokens: number) => ({ inputTokens: tokens, outputTokens: 0, totalTokens: tokens });

/** Applies an operation the way the writer does: to a fresh copy of the stored document. */
function apply<D, R>(doc: D | undefined, op: LedgerOp<D, R>, now = T0): { doc: D | undefined; result: R; changed: boolean } {
  const copy = doc === undefined ? undefined : (JSON.parse(JSON.stringify(doc)) as D);
  const out = op(copy, now);
  return { doc: out.changed ? out.doc : doc, result: out.result, changed: out.changed };
}

const claim = (id: string, nano: number, limits: { maxUsd?: number; maxTokens?: number } = {}, expiresAt = T0 + 60_000, at = T0) =>
  claimOp({ ...run, reservationId: id, limits, amount: { nano, tokens: 100 }, price: PRICE, expiresAt, pruneBefore: at - RETENTION_MS, windowsMayDeny: true, owner: 'o1' });
/** A commit of `tokens` input tokens; the table's price is charged only where the record is gone. */
const commit = (id: string, tokens: number, at = T0, tablePrice: { input: number; output: number } | undefined = PRICE) =>
  commitOp({ runId: run.runId, reservationId: id, usage: usage(tokens), tablePrice, identity: { pipeline: 'p', tenant: 't' }, pruneBefore: at - RETENTION_MS });

describe('run ledger', () => {
  it('denies a claim that would pass the run limit, counting committed and live reserved amounts', () => {
    let doc: RunLedgerDoc | undefined;
    ({ doc } = apply(doc, claim('a', 400_000_000, { maxUsd: 1 })));
    ({ doc } = apply(doc, finalizeOp('a', { granted: true }, 'o1')));
    ({ doc } = apply(doc, commit('a', 300)));
    ({ doc } = apply(doc, claim('b', 500_000_000, { maxUsd: 1 })));
    const c = apply(doc, claim('c', 300_000_000, { maxUsd: 1 }));
    expect(c.result).toMatchObject({ kind: 'denied', limit: 'run.maxUsd', remaining: 0.2 });
    expect(c.doc!.records['c']?.state).toBe('denied');
    expect(runUsage(c.doc!, T0)).toMatchObject({ committed: { nano: 300_000_000, tokens: 300 }, reserved: { nano: 500_000_000, tokens: 100 }, live: 1 });
  });

  it('says in a denial that the call reserves its output cap, and how much is left', () => {
    const op = claimOp({ ...run, reservationId: 'big', limits: { maxTokens: 1_000 }, amount: { nano: 1, tokens: 4_146 }, price: PRICE, expiresAt: T0 + 60_000, pruneBefore: T0 - RETENTION_MS, windowsMayDeny: false, owner: 'o1', call: { inputTokens: 50, maxOutputTokens: 4_096 } });
    expect(apply(undefined, op).result).toEqual({
      kind: 'denied',
      limit: 'run.maxTokens',
      remaining: 1_000,
      reason: "the run's budget of 1000 tokens would be exceeded: the call reserves 4146 tokens (about 50 prompt tokens plus the call's output cap of 4096: maxOutputTokens, or the default cap when the step sets none), 1000 are left",
    });
  });

  it('stops counting a hold when its lease ends, before any sweep', () => {
    let { doc } = apply(undefined, claim('a', 900_000_000, { maxUsd: 1 }, T0 + 1_000));
    expect(apply(doc, claim('b', 200_000_000, { maxUsd: 1 })).result.kind).toBe('denied');
    ({ doc } = apply(doc, claim('b', 200_000_000, { maxUsd: 1 }), T0 + 1_000));
    expect(doc!.records['b']?.state).toBe('reserving');
  });

  it('lets only the claimant finalize or withdraw a claim, and never a finished one', () => {
    const { doc } = apply(undefined, claim('a', 100));
    expect(apply(doc, finalizeOp('a', { granted: true }, 'other'))).toMatchObject({ changed: false, result: { won: false, record: { state: 'reserving', owner: 'o1' } } });
    expect(apply(doc, dropClaimOp('a', 'other'))).toMatchObject({ changed: false, result: false });
    const held = apply(doc, finalizeOp('a', { granted: true }, 'o1'));
    expect(held).toMatchObject({ changed: true, result: { won: true, record: { state: 'held' } } });
    // a takeover finalized it: the claimant's late denial or withdrawal changes nothing
    expect(apply(held.doc, finalizeOp('a', { granted: false, limit: 'tenant.maxUsd', remaining: 0, reason: 'x' }, 'o1'))).toMatchObject({ changed: false, result: { won: false, record: { state: 'held' } } });
    expect(apply(held.doc, dropClaimOp('a', 'o1')).changed).toBe(false);
    expect(apply(doc, dropClaimOp('a', 'o1'))).toMatchObject({ changed: true, result: true });
  });

  it('answers a repeated claim from the record without a change', () => {
    const { doc } = apply(undefined, claim('a', 1));
    const again = apply(doc, claim('a', 1));
    expect(again).toMatchObject({ changed: false, result: { kind: 'existing', record: { state: 'reserving' } } });
  });

  it('commits once: a repeat wins nothing and counts nothing', () => {
    let { doc } = apply(undefined, claim('a', 100));
    ({ doc } = apply(doc, finalizeOp('a', { granted: true }, 'o1')));
    const first = apply(doc, commit('a', 50));
    expect(first.result).toMatchObject({ winner: true, previous: 'held', record: { late: false, chargedNano: 50_000_000 } });
    const second = apply(first.doc, commit('a', 50));
    expect(second).toMatchObject({ changed: false, result: { winner: false, previous: 'committed' } });
    expect(second.doc!.spent).toEqual({ nano: 50_000_000, tokens: 50, calls: 1 });
  });

  it('records a late commit after expiry and a commit for a record it never saw', () => {
    let { doc } = apply(undefined, claim('a', 100, {}, T0 + 1_000));
    ({ doc } = apply(doc, sweepOp(T0 + 2_000 - RETENTION_MS), T0 + 2_000));
    expect(doc!.records['a']?.state).toBe('expired');
    const late = apply(doc, commit('a', 5, T0 + 3_000), T0 + 3_000);
    expect(late.result).toMatchObject({ winner: true, previous: 'expired', record: { late: true } });
    const unknown = apply(late.doc, commit('zz', 1, T0 + 3_000), T0 + 3_000);
    expect(unknown.result).toMatchObject({ winner: true, previous: 'unknown' });
    expect(unknown.doc!.spent).toEqual({ nano: 6_000_000, tokens: 6, calls: 2 });
  });

  it('releases an open reservation once and prunes finished records after the retention', () => {
    let { doc } = apply(undefined, claim('a', 100));
    const rel = apply(doc, releaseOp('a', 'model call failed'));
    expect(rel.result).toBe('reserving');
    expect(apply(rel.doc, releaseOp('a', 'again'))).toMatchObject({ changed: false, result: 'released' });
    ({ doc } = apply(rel.doc, claim('b', 1, {}, T0 + 60_000, T0 + RETENTION_MS + 1), T0 + RETENTION_MS + 1));
    expect(Object.keys(doc!.records)).toEqual(['b']);
  });

  it('charges a commit at the price its reservation was granted at, and the table only for a record that is gone', () => {
    let { doc } = apply(undefined, claim('a', 100));
    ({ doc } = apply(doc, finalizeOp('a', { granted: true }, 'o1')));
    expect(doc!.records['a']?.price).toEqual(PRICE);
    // the table has doubled the price since: the grant's price is charged
    const doubled = { input: 2_000, output: 2_000 };
    ({ doc } = apply(doc, commit('a', 10, T0, doubled)));
    expect(doc!.records['a']).toMatchObject({ state: 'committed', chargedNano: 10_000_000 });
    // a reservation granted without a price costs $0, whatever the table says by the commit
    ({ doc } = apply(doc, claimOp({ ...run, reservationId: 'free', limits: {}, amount: { nano: 0, tokens: 10 }, price: undefined, expiresAt: T0 + 60_000, pruneBefore: 0, windowsMayDeny: false, owner: 'o1' })));
    expect(doc!.records['free']?.price).toBeNull();
    ({ doc } = apply(doc, commit('free', 10, T0, doubled)));
    expect(doc!.records['free']?.chargedNano).toBe(0);
    // no record (pruned, or never seen): the table's price now
    ({ doc } = apply(doc, commit('gone', 10, T0, doubled)));
    expect(doc!.records['gone']).toMatchObject({ chargedNano: 20_000_000, late: true });
    expect(doc!.spent).toEqual({ nano: 30_000_000, tokens: 30, calls: 3 });
  });

  it('keeps a committed record while the events before it are not booked, so a redelivery long after counts nothing', () => {
    let { doc } = apply(undefined, claim('a', 100));
    ({ doc } = apply(doc, commit('a', 10)));
    // an hour later, with the spend events of the last hour still waiting (the horizon at T0): kept
    const later = T0 + 3_600_000;
    ({ doc } = apply(doc, claimOp({ ...run, reservationId: 'b', limits: {}, amount: { nano: 1, tokens: 1 }, price: PRICE, expiresAt: later + 60_000, pruneBefore: T0 - RETENTION_MS, windowsMayDeny: false, owner: 'o2' }), later));
    expect(doc!.records['a']?.state).toBe('committed');
    const again = apply(doc, commitOp({ runId: run.runId, reservationId: 'a', usage: usage(10), tablePrice: PRICE, pruneBefore: T0 - RETENTION_MS }), later);
    expect(again).toMatchObject({ changed: false, result: { winner: false, previous: 'committed' } });
    // once they are booked, the record goes after the retention
    ({ doc } = apply(doc, sweepOp(later - RETENTION_MS), later));
    expect(Object.keys(doc!.records)).toEqual(['b']);
    expect(doc!.spent).toEqual({ nano: 10_000_000, tokens: 10, calls: 1 });
  });

  it('books an event for a run it never saw to the run alone, and takes the identity from the first reserve after', () => {
    let { doc } = apply(undefined, commitOp({ runId: 'r1', reservationId: 'x', usage: usage(1), tablePrice: PRICE, pruneBefore: 0 }));
    expect(doc).toMatchObject({ pipeline: '', tenant: '', spent: { tokens: 1 } });
    ({ doc } = apply(doc, claim('a', 1)));
    expect(doc).toMatchObject({ pipeline: 'p', tenant: 't' });
  });
});

const ref = (limit?: WindowRef['limit']): WindowRef => ({ scope: 'tenant', id: 't', windowHours: limit?.windowHours ?? 24, limit });

describe('window ledger', () => {
  it('holds within the limit and denies what would pass it', () => {
    const lim = ref({ maxTokens: 250, windowHours: 24 });
    let doc: WindowLedgerDoc | undefined;
    ({ doc } = apply(doc, holdOp(lim, 'a', { nano: 0, tokens: 100 }, T0 + 60_000)));
    ({ doc } = apply(doc, holdOp(lim, 'b', { nano: 0, tokens: 100 }, T0 + 60_000)));
    expect(apply(doc, holdOp(lim, 'a', { nano: 0, tokens: 100 }, T0 + 60_000)).result.kind).toBe('existing');
    expect(apply(doc, holdOp(lim, 'c', { nano: 0, tokens: 100 }, T0 + 60_000)).result).toMatchObject({ kind: 'denied', limit: 'tenant.maxTokens', remaining: 50 });
    ({ doc } = apply(doc, dropHoldOp('b')));
    expect(apply(doc, holdOp(lim, 'c', { nano: 0, tokens: 100 }, T0 + 60_000)).result.kind).toBe('held');
  });

  it('turns a hold into spend exactly once, and creates spend only when asked', () => {
    let { doc } = apply<WindowLedgerDoc, unknown>(undefined, holdOp(ref(), 'a', { nano: 100, tokens: 10 }, T0 + 60_000));
    const first = apply(doc, spendOp(ref(), 'a', { nano: 60, tokens: 8 }, false));
    expect(first.result).toBe('converted');
    expect(apply(first.doc, spendOp(ref(), 'a', { nano: 60, tokens: 8 }, false))).toMatchObject({ changed: false, result: 'none' });
    ({ doc } = apply(first.doc, spendOp(ref(), 'late', { nano: 1, tokens: 1 }, true)));
    expect(windowUsage(doc!, T0, 24)).toEqual({ committed: { nano: 61, tokens: 9, calls: 2 }, reserved: { nano: 0, tokens: 0 }, live: 0 });
  });

  it('counts spend over the rolling window of whole hours and forgets what falls out of it', () => {
    const lim = ref({ maxUsd: 1, windowHours: 2 });
    let { doc } = apply<WindowLedgerDoc, unknown>(undefined, spendOp(lim, 'a', { nano: 900_000_000, tokens: 1 }, true));
    expect(apply(doc, holdOp(lim, 'b', { nano: 200_000_000, tokens: 1 }, T0 + 3 * HOUR_MS), T0 + 2 * HOUR_MS).result.kind).toBe('denied');
    ({ doc } = apply(doc, holdOp(lim, 'b', { nano: 200_000_000, tokens: 1 }, T0 + 4 * HOUR_MS), T0 + 3 * HOUR_MS));
    expect(Object.keys(doc!.buckets)).toEqual([]);
    expect(windowUsage(doc!, T0 + 3 * HOUR_MS, 2).reserved.nano).toBe(200_000_000);
  });

  it('deletes holds a grace period after their lease ended', () => {
    let { doc } = apply<WindowLedgerDoc, unknown>(undefined, holdOp(ref(), 'a', { nano: 1, tokens: 1 }, T0 + 1_000));
    expect(windowUsage(doc!, T0 + 1_000, 24).live).toBe(0);
    ({ doc } = apply(doc, holdOp(ref(), 'b', { nano: 1, tokens: 1 }, T0 + HOUR_MS), T0 + 1_001 + HOLD_GRACE_MS));
    expect(Object.keys(doc!.holds)).toEqual(['b']);
  });
});

describe('when a full window has room again (retryAt)', () => {
  const hour = (h: number) => Date.UTC(2026, 10, 24, h);

  it('is when enough spend has left the rolling window for the reservation to fit, bucket by bucket', () => {
    const lim = ref({ maxUsd: 1, windowHours: 2 });
    // $0.50 spent at 10:30 (bucket 10:00), $0.40 at 11:30 (bucket 11:00); a 2 h window counts a bucket for 3 h
    let { doc } = apply<WindowLedgerDoc, unknown>(undefined, spendOp(lim, 'a', { nano: 500_000_000, tokens: 1 }, true), T0);
    ({ doc } = apply(doc, spendOp(lim, 'b', { nano: 400_000_000, tokens: 1 }, true), T0 + HOUR_MS));
    const now = T0 + HOUR_MS + 60_000;
    const ask = (nano: number) => apply(doc, holdOp(lim, 'c', { nano, tokens: 1 }, now + 60_000), now).result;
    expect(ask(300_000_000)).toMatchObject({ kind: 'denied', limit: 'tenant.maxUsd', remaining: 0.1, retryAt: hour(13) });
    expect(ask(700_000_000)).toMatchObject({ kind: 'denied', retryAt: hour(14) });
    // more than the limit itself: it never fits
    const never = ask(1_100_000_000);
    expect(never).toMatchObject({ kind: 'denied' });
    expect(never).toHaveProperty('retryAt', undefined);
    // the first moment it fits, it is granted
    expect(apply(doc, holdOp(lim, 'c', { nano: 300_000_000, tokens: 1 }, hour(14)), hour(13)).result.kind).toBe('held');
    expect(apply(doc, holdOp(lim, 'c', { nano: 300_000_000, tokens: 1 }, hour(14)), hour(13) - 1).result.kind).toBe('denied');
  });

  it('counts a live hold until its lease ends, and every limit of the window', () => {
    const lim = ref({ maxUsd: 1, maxTokens: 100, windowHours: 24 });
    let { doc } = apply<WindowLedgerDoc, unknown>(undefined, holdOp(lim, 'a', { nano: 1, tokens: 80 }, T0 + 90_000));
    expect(apply(doc, holdOp(lim, 'b', { nano: 1, tokens: 30 }, T0 + 60_000)).result).toMatchObject({ kind: 'denied', limit: 'tenant.maxTokens', retryAt: T0 + 90_000 });
    // the tokens fit after the hold ends, the dollars only when the 10:00 bucket leaves the window
    ({ doc } = apply(doc, spendOp(lim, 's', { nano: 999_000_000, tokens: 1 }, true)));
    expect(apply(doc, holdOp(lim, 'b', { nano: 2_000_000, tokens: 30 }, T0 + 60_000)).result).toMatchObject({ kind: 'denied', limit: 'tenant.maxUsd', retryAt: hour(10) + 25 * HOUR_MS });
  });
});
