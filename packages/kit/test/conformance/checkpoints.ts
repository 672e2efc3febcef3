import { describe, expect, it } from 'vitest';
import type { Handles } from '../store-conformance.js';
import { decision, stepDone, uid } from '../store-fixtures.js';

export function checkpointConformance(get: () => Handles): void {
  describe('step checkpoints: first write wins', () => {
    it('keeps the first completion of a step; a second write is "exists"', async () => {
      const { a, b } = get();
      const runId = uid();
      const first = stepDone(runId, 'a', { answer: 1 });
      expect(await a.steps.get(runId, 'a')).toBeUndefined();
      expect(await a.steps.put(first)).toBe('created');
      expect(await b.steps.put({ ...stepDone(runId, 'a', { answer: 2 }), attempt: 2 })).toBe('exists');
      expect(await b.steps.get(runId, 'a')).toEqual(first);
    });

    it('lets exactly one of 10 racing writers of one step win, on two handles', async () => {
      const { a, b } = get();
      const runId = uid();
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).steps.put(stepDone(runId, 'a', { writer: i }))));
      expect(results.filter((r) => r === 'created')).toHaveLength(1);
      const winner = results.indexOf('created');
      expect((await a.steps.get(runId, 'a'))?.output).toEqual({ writer: winner });
    });

    it('keeps each turn of an agent step apart from the others and from the step itself', async () => {
      const { a, b } = get();
      const runId = uid();
      const turn = (n: number, output: unknown) => ({ ...stepDone(runId, 'agent', output), task: 'agent-turn' as const, turn: n });
      expect(await a.steps.put(turn(1, { action: 'final', output: 1 }))).toBe('created');
      expect(await b.steps.put(turn(2, { action: 'final', output: 2 }))).toBe('created');
      expect(await b.steps.put(turn(1, { action: 'final', output: 'again' }))).toBe('exists');
      expect((await b.steps.get(runId, 'agent', 1))?.output).toEqual({ action: 'final', output: 1 });
      expect((await a.steps.get(runId, 'agent', 2))?.turn).toBe(2);
      expect(await a.steps.get(runId, 'agent', 3)).toBeUndefined();
      expect(await a.steps.get(runId, 'agent')).toBeUndefined();
      await b.steps.deleteRun(runId);
      expect(await a.steps.get(runId, 'agent', 1)).toBeUndefined();
      expect(await a.steps.get(runId, 'agent', 2)).toBeUndefined();
    });

    it('removes a run’s checkpoints and no other run’s (even one whose id extends it)', async () => {
      const { a, b } = get();
      const runId = uid();
      await a.steps.put(stepDone(runId, 'a', 1));
      await a.steps.put(stepDone(runId, 'b', 2));
      await a.steps.put(stepDone(`${runId}-x`, 'a', 3));
      await b.steps.deleteRun(runId);
      expect(await a.steps.get(runId, 'a')).toBeUndefined();
      expect(await a.steps.get(runId, 'b')).toBeUndefined();
      expect((await a.steps.get(`${runId}-x`, 'a'))?.output).toBe(3);
      expect(await a.steps.put(stepDone(runId, 'a', 4))).toBe('created');
    });
  });

  describe('decision trail: ordered, idempotent', () => {
    it('lists a run’s decisions in seq order whatever the order they were appended in', async () => {
      const { a, b } = get();
      const runId = uid();
      await a.decisions.append([decision(runId, 10), decision(runId, 2)]);
      await b.decisions.append([decision(runId, 0), decision(runId, 1), decision(runId, 11)]);
      expect((await a.decisions.list(runId)).map((d) => d.seq)).toEqual([0, 1, 2, 10, 11]);
      expect((await a.decisions.list(runId))[3]).toEqual(decision(runId, 10));
    });

    it('stores a decision appended twice (a replayed outbox) once', async () => {
      const { a, b } = get();
      const runId = uid();
      const batch = [decision(runId, 0), decision(runId, 1)];
      await Promise.all([a.decisions.append(batch), b.decisions.append(batch)]);
      await a.decisions.append([...batch, decision(runId, 2)]);
      await a.decisions.append([]);
      expect(await b.decisions.list(runId)).toEqual([...batch, decision(runId, 2)]);
    });

    it('keeps the trails of two runs apart and deletes one without the other', async () => {
      const { a, b } = get();
      const runId = uid();
      await a.decisions.append([decision(runId, 0), decision(`${runId}-x`, 0), decision(`${runId}-x`, 1)]);
      expect(await b.decisions.list(runId)).toEqual([decision(runId, 0)]);
      await b.decisions.deleteRun(runId);
      expect(await a.decisions.list(runId)).toEqual([]);
      expect(await a.decisions.list(`${runId}-x`)).toHaveLength(2);
      expect(await a.decisions.list(uid('none'))).toEqual([]);
    });
  });
}
