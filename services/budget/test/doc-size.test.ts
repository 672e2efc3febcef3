import { describe, expect, it } from 'vitest';
import { claimOp, holdOp, LEDGER_DOC_BUDGET_BYTES, LedgerFullError, type LedgerOp, type RunLedgerDoc, type WindowLedgerDoc, type WindowRef } from '../src/index.js';

/**
 * How big ledger documents get: the estimates the operations use must never be below what is stored,
 * and must stop a document well before NATS KV's 1 MiB. The figures printed are those in docs/budget.md.
 */
const T0 = Date.UTC(2026, 10, 24, 10, 30);
const MIB = 1024 * 1024;
const ref: WindowRef = { scope: 'tenant', id: 't', windowHours: 24, limit: { maxUsd: 1e9, windowHours: 24 } };
/** A price with as many digits as a decimal in the table can have: the largest a record carries. */
const LONG_PRICE = { input: 0.15000000000000002, cachedInput: 0.07500000000000001, output: 0.6000000000000001 };
/** A reservation id as the executor makes them: `<runId>:<stepId>:<attempt>:<call>:d<delivery>`. */
const typicalId = (n: number) => `01JD3QZ8W5X7K2M9N4P6R8T0V${n % 10}:summarise-section-${n}:1:${n % 7}:d1`;

/** Applies `op(n)` for n = from, from + 1, ... until it throws (what comes before `from` is `prefilled`). */
function fill<D>(prefilled: D | undefined, from: number, op: (n: number) => LedgerOp<D, unknown>): { doc: D; added: number; error: unknown } {
  let doc = prefilled;
  for (let n = from; ; n++) {
    try {
      doc = op(n)(doc, T0).doc;
    } catch (error) {
      return { doc: doc!, added: n, error };
    }
  }
}

describe('ledger document sizes', () => {
  it('fills a tenant window with open holds up to the budget, never past 1 MiB', () => {
    for (const [name, id] of [
      ['typical', typicalId],
      ['200-character', (n: number) => `${'r'.repeat(191)}:${String(n).padStart(8, '0')}`],
    ] as const) {
      // Each operation looks at every hold: most are put in directly, the last few hundred by the operation.
      const amount = { nano: 123_456_789_012, tokens: 12_345_678 };
      const start = Math.floor(LEDGER_DOC_BUDGET_BYTES / (id(1).length + 72)) - 300;
      const holds = Object.fromEntries(Array.from({ length: start }, (_, n) => [id(n), { ...amount, expiresAt: T0 + 3_600_000 }]));
      const { doc, added, error } = fill<WindowLedgerDoc>({ kind: 'window', scope: 'tenant', id: 't', buckets: {}, holds, updatedAt: T0 }, start, (n) => holdOp(ref, id(n), amount, T0 + 3_600_000));
      expect(error).toBeInstanceOf(LedgerFullError);
      const bytes = Buffer.byteLength(JSON.stringify(doc));
      expect(bytes).toBeLessThanOrEqual(LEDGER_DOC_BUDGET_BYTES);
      expect(bytes).toBeGreaterThan(LEDGER_DOC_BUDGET_BYTES * 0.85);
      console.log(`${name} ids (${id(1).length} chars): ${added} open holds per window document, ${(bytes / added).toFixed(0)} bytes each, ${bytes} bytes`);
    }
  });

  it('fills a run document with reservation records up to the budget, never past 1 MiB', () => {
    const record = { state: 'reserving' as const, nano: 123_456_789_012, tokens: 12_345_678, createdAt: T0, expiresAt: T0 + 3_600_000, price: LONG_PRICE, owner: 'AbCdEf12' };
    const start = Math.floor(LEDGER_DOC_BUDGET_BYTES / (typicalId(1).length + 350)) - 300;
    const records = Object.fromEntries(Array.from({ length: start }, (_, n) => [typicalId(n), { ...record }]));
    const prefilled: RunLedgerDoc = { kind: 'run', runId: 'r', pipeline: 'p', tenant: 't', limits: {}, spent: { nano: 0, tokens: 0, calls: 0 }, records, updatedAt: T0 };
    const { doc, added, error } = fill<RunLedgerDoc>(prefilled, start, (n) =>
      claimOp({ runId: 'r', pipeline: 'p', tenant: 't', reservationId: typicalId(n), limits: {}, amount: { nano: 123_456_789_012, tokens: 12_345_678 }, price: LONG_PRICE, expiresAt: T0 + 3_600_000, pruneBefore: T0 - 600_000, windowsMayDeny: true, owner: 'AbCdEf12' }),
    );
    expect(error).toBeInstanceOf(LedgerFullError);
    expect((error as Error).message).toMatch(/run r: its ledger holds \d+ recent reservations/);
    const bytes = Buffer.byteLength(JSON.stringify(doc));
    expect(bytes).toBeLessThan(MIB);
    console.log(`run document: ${added} reservation records of typical ids, ${(bytes / added).toFixed(0)} bytes each while open, ${bytes} bytes`);
    // Finished records are larger (charges, a denial's reason): the estimate must still cover them.
    for (const r of Object.values(doc.records))
      Object.assign(r, { state: 'denied', endedAt: T0, limit: 'tenant.maxUsd', remaining: 123.456789, reason: `tenant t: $1000000 per 24 h would be exceeded`, retryAt: T0 + 90_000_000, owner: undefined });
    expect(Buffer.byteLength(JSON.stringify(doc))).toBeLessThan(MIB);
  });
});
