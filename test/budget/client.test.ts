import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BudgetClient,
  countTokens,
  estimatePromptTokens,
  leaseMsFor,
  REPLY_PRIMING_TOKENS,
  reservationIdFor,
  RESPONSE_SCHEMA_OVERHEAD_TOKENS,
  TOKENS_PER_MESSAGE,
} from '../../services/executor/src/budget/index.js';
import { loadTokenizer } from '../../services/executor/src/budget/tokens.js';
import { BudgetBed, TEST_PRICES } from './support.js';

describe('prompt token estimate (o200k_base)', () => {
  beforeAll(() => loadTokenizer());

  it('counts tokens with the real tokenizer, special-token text included', async () => {
    expect(await countTokens('hello world')).toBe(2);
    expect(await countTokens('')).toBe(0);
    // user text that looks like a special token is ordinary text: counted, never refused
    expect(await countTokens('<|endoftext|>')).toBeGreaterThan(1);
  });

  it('adds the chat framing per message, the reply priming, and the response schema', async () => {
    const messages = [
      { role: 'system' as const, content: 'You are terse.' },
      { role: 'user' as const, content: 'hello world' },
    ];
    const framed = REPLY_PRIMING_TOKENS + 2 * TOKENS_PER_MESSAGE + (await countTokens('system')) + (await countTokens('You are terse.')) + (await countTokens('user')) + 2;
    expect(await estimatePromptTokens({ messages })).toBe(framed);
    const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] };
    expect(await estimatePromptTokens({ messages, responseSchema: schema })).toBe(framed + RESPONSE_SCHEMA_OVERHEAD_TOKENS + (await countTokens(JSON.stringify(schema))));
  });

  it('names reservations per call and sizes leases past the call timeout', () => {
    expect(reservationIdFor('run-1', 'draft', 2, 3)).toBe('run-1:draft:2:3');
    // another delivery (a redelivery, a re-published park, a replay) is another reservation
    expect(reservationIdFor('run-1', 'draft', 2, 3, 's17d2')).toBe('run-1:draft:2:3:s17d2');
    expect(leaseMsFor(10_000)).toBe(40_000);
    expect(leaseMsFor(10 * 3_600_000)).toBe(3_600_000);
  });
});

describe('budget client when the budget service is away', () => {
  let bed: BudgetBed;
  beforeAll(async () => {
    bed = await BudgetBed.start('kv');
  });
  afterAll(() => bed?.stop());

  const req = (n: number) => ({
    reservationId: `run-x:s:1:${n}`,
    runId: 'run-x',
    stepId: 's',
    tenant: 'default',
    pipeline: 'p',
    model: { provider: 'default', model: 'sim-small' },
    estimatedInputTokens: 10,
    maxOutputTokens: 10,
    leaseMs: 60_000,
    limits: { maxUsd: 1 },
  });

  it('says unavailable within its deadline, so that a fail-closed pipeline makes no call', async () => {
    const budget = new BudgetClient(await bed.client(), { timeoutMs: 200, deadlineMs: 600 });
    const started = Date.now();
    const r = await budget.reserve(req(1));
    expect(r).toMatchObject({ kind: 'unavailable', reason: expect.stringMatching(/no responders|timeout/i) });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await budget.commit({ reservationId: 'run-x:s:1:1', runId: 'run-x', tenant: 'default', pipeline: 'p', model: { provider: 'default', model: 'sim-small' }, usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 } })).toMatchObject({ kind: 'unavailable' });
  });

  it('is served again when a replica comes back, with the ledger as it was', async () => {
    const env = { PW_BUDGET_CONFIG_JSON: JSON.stringify({ prices: TEST_PRICES }) };
    const first = await bed.startReplica(env);
    const budget = new BudgetClient(await bed.client(), { timeoutMs: 1_000, deadlineMs: 3_000 });
    expect(await budget.reserve(req(2))).toMatchObject({ kind: 'granted' });
    await first.stop(5_000);
    expect(await new BudgetClient(await bed.client(), { timeoutMs: 200, deadlineMs: 500 }).reserve(req(3))).toMatchObject({ kind: 'unavailable' });
    await bed.startReplica(env);
    expect(await budget.reserve(req(2))).toMatchObject({ kind: 'granted', repeated: true });
    const s = await budget.status('run', 'run-x');
    expect(s).toMatchObject({ kind: 'status', openReservations: 1, reservedTokens: 20, limitUsd: 1 });
  });
});
