import { SCHEMA_VERSION, type StepResult } from '@pipewright/contracts';
import { describe, expect, it } from 'vitest';
import type { ToolIntent, ToolReceipt } from '../../src/store/tool-calls.js';
import type { Handles } from '../store-conformance.js';
import { iso, uid } from '../store-fixtures.js';

const at = iso('2026-11-24T10:00:02Z');

function intent(runId: string, callId = 't1', attempt = 1): ToolIntent {
  return { runId, stepId: 'agent', callId, tool: 'refund', idempotencyKey: `${runId}:agent:${callId}`, turn: 1, attempt, at };
}

function receipt(runId: string, callId: string, output: unknown): ToolReceipt {
  const result: StepResult = {
    schemaVersion: SCHEMA_VERSION,
    type: 'step.completed',
    runId,
    stepId: 'agent',
    attempt: 1,
    task: 'tool',
    turn: 1,
    calls: 1,
    usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
    latencyMs: 3,
    at,
    model: { provider: 'tool', model: 'refund' },
    output,
    rung: 'direct',
  };
  return { runId, stepId: 'agent', callId, idempotencyKey: `${runId}:agent:${callId}`, result, at };
}

const ref = (runId: string, callId = 't1') => ({ runId, stepId: 'agent', callId });

export function toolCallConformance(get: () => Handles): void {
  describe('tool calls: intent and receipt, first write wins', () => {
    it('has nothing for a call never started, then the intent, then the receipt', async () => {
      const { a, b } = get();
      const runId = uid();
      expect(await a.toolCalls.get(ref(runId))).toEqual({});
      expect(await a.toolCalls.intend(intent(runId))).toBe('created');
      expect(await b.toolCalls.get(ref(runId))).toEqual({ intent: intent(runId) });
      expect(await b.toolCalls.complete(receipt(runId, 't1', { refundId: 'rf-1' }))).toBe('created');
      expect(await a.toolCalls.get(ref(runId))).toEqual({ intent: intent(runId), receipt: receipt(runId, 't1', { refundId: 'rf-1' }) });
    });

    it('keeps the first intent and the first receipt; later writes are "exists"', async () => {
      const { a, b } = get();
      const runId = uid();
      expect(await a.toolCalls.intend(intent(runId, 't1', 1))).toBe('created');
      expect(await b.toolCalls.intend(intent(runId, 't1', 2))).toBe('exists');
      expect(await a.toolCalls.complete(receipt(runId, 't1', 'first'))).toBe('created');
      expect(await b.toolCalls.complete(receipt(runId, 't1', 'second'))).toBe('exists');
      const got = await b.toolCalls.get(ref(runId));
      expect(got.intent?.attempt).toBe(1);
      expect(got.receipt?.result).toMatchObject({ output: 'first' });
    });

    it('lets exactly one of 10 racing receipts win, on two handles', async () => {
      const { a, b } = get();
      const runId = uid();
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).toolCalls.complete(receipt(runId, 't1', { writer: i }))));
      expect(results.filter((r) => r === 'created')).toHaveLength(1);
      expect((await a.toolCalls.get(ref(runId))).receipt?.result).toMatchObject({ output: { writer: results.indexOf('created') } });
    });

    it('keeps calls apart by call id, including ids with characters keys do not allow', async () => {
      const { a, b } = get();
      const runId = uid();
      const odd = 'call/1.$x*>';
      await a.toolCalls.intend(intent(runId, odd));
      await a.toolCalls.complete(receipt(runId, 't2', 2));
      expect(await b.toolCalls.get(ref(runId, odd))).toEqual({ intent: intent(runId, odd) });
      expect(await b.toolCalls.get(ref(runId, 't2'))).toEqual({ receipt: receipt(runId, 't2', 2) });
      expect(await b.toolCalls.get(ref(runId, 't1'))).toEqual({});
    });

    it('removes a run’s calls and no other run’s (even one whose id extends it)', async () => {
      const { a, b } = get();
      const runId = uid();
      await a.toolCalls.intend(intent(runId));
      await a.toolCalls.complete(receipt(runId, 't1', 1));
      await a.toolCalls.intend(intent(`${runId}-x`));
      await b.toolCalls.deleteRun(runId);
      expect(await a.toolCalls.get(ref(runId))).toEqual({});
      expect(await a.toolCalls.get(ref(`${runId}-x`))).toEqual({ intent: intent(`${runId}-x`) });
      expect(await a.toolCalls.intend(intent(runId))).toBe('created');
    });
  });
}
