import { loadCliConfig } from '../../packages/cli/src/config.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { budgetStatus, renderBudgetStatus, runBudgetStatus } from '../../packages/cli/src/commands/budget.js';
import { BudgetClient } from '../../services/executor/src/budget/index.js';
import { BudgetBed, TEST_PRICES } from './support.js';

/** `pipewright budget status` against a real budget service. */
describe('pipewright budget status', () => {
  let bed: BudgetBed;
  beforeAll(async () => {
    bed = await BudgetBed.start('kv');
    await bed.startReplica({ PW_BUDGET_CONFIG_JSON: JSON.stringify({ prices: TEST_PRICES, tenants: { acme: { maxUsd: 2, maxTokens: 10_000 } } }) });
    const budget = new BudgetClient(await bed.client());
    const base = { runId: 'cli-run', tenant: 'acme', pipeline: 'brief', model: { provider: 'default', model: 'sim-small' } };
    await budget.reserve({ ...base, reservationId: 'cli-run:a:1:1', stepId: 'a', estimatedInputTokens: 1_000, maxOutputTokens: 500, leaseMs: 60_000, limits: { maxUsd: 0.01 } });
    await budget.commit({ ...base, reservationId: 'cli-run:a:1:1', usage: { inputTokens: 900, outputTokens: 100, totalTokens: 1_000 } });
    await budget.reserve({ ...base, reservationId: 'cli-run:b:1:1', stepId: 'b', estimatedInputTokens: 100, maxOutputTokens: 100, leaseMs: 60_000, limits: { maxUsd: 0.01 } });
  });
  afterAll(() => bed?.stop());

  /** The command as `registerBudgetCommands` runs it for `pipewright budget status <flags>`. */
  const run = (o: Parameters<typeof runBudgetStatus>[0]) => runBudgetStatus(o, loadCliConfig({ NATS_URL: bed.nats.url }));

  it('shows a run against its own limits', async () => {
    const out = await run({ run: 'cli-run' });
    // 900 × $1/M + 100 × $2/M spent; 100 × $1/M + 100 × $2/M reserved
    expect(out).toContain('run cli-run  (all time');
    expect(out).toMatch(/USD {5}\$0\.0011 spent \+ \$0\.0003 reserved = \$0\.0014 of \$0\.01 \(14\.0 %\), \$0\.0086 left/);
    expect(out).toContain('tokens  1,000 spent + 200 reserved = 1,200  (no token limit)');
    expect(out).toContain('calls   1 committed, 1 reservation open');
  });

  it('shows a tenant over its window against the configured limits, and JSON on request', async () => {
    expect(await run({ tenant: 'acme' })).toContain('tokens  1,000 spent + 200 reserved = 1,200 of 10,000 (12.0 %), 8,800 left');
    expect(JSON.parse(await run({ pipeline: 'brief', json: true }))).toMatchObject({ outcome: 'status', scope: 'pipeline', id: 'brief', committedTokens: 1_000, windowHours: 24 });
  });

  it('refuses zero or several scopes, and says when the id is not valid', async () => {
    await expect(run({})).rejects.toThrow('exactly one of');
    await expect(run({ run: 'a', tenant: 'b' })).rejects.toThrow('exactly one of');
    await expect(budgetStatus(await bed.client(), 'tenant', 'not valid!')).rejects.toThrow('budget service: id:');
    expect(renderBudgetStatus({ schemaVersion: 1, outcome: 'status', scope: 'tenant', id: 'z', committedUsd: 0, committedTokens: 0, reservedUsd: 0, reservedTokens: 0, openReservations: 0, calls: 0, windowHours: 24, at: '2026-11-24T00:00:00.000Z' })).toContain('(no USD limit)');
  });
});
