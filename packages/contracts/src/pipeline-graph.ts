import type { Step } from './pipeline.js';

/** Returns one cycle as a list of step ids (first repeated at the end), or undefined. */
export function findCycle(steps: readonly Pick<Step, 'id' | 'needs'>[]): string[] | undefined {
  const needs = new Map(steps.map((s) => [s.id, s.needs]));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string): string[] | undefined => {
    const st = state.get(id);
    if (st === 'done') return undefined;
    if (st === 'visiting') return [...stack.slice(stack.indexOf(id)), id];
    state.set(id, 'visiting');
    stack.push(id);
    for (const n of needs.get(id) ?? []) {
      const c = visit(n);
      if (c) return c;
    }
    stack.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const s of steps) {
    const c = visit(s.id);
    if (c) return c;
  }
  return undefined;
}

/** For each step, every step it depends on directly or transitively. Assumes no cycle. */
export function ancestorSets(steps: readonly Pick<Step, 'id' | 'needs'>[]): Map<string, Set<string>> {
  const needs = new Map(steps.map((s) => [s.id, s.needs]));
  const memo = new Map<string, Set<string>>();
  const of = (id: string): Set<string> => {
    const hit = memo.get(id);
    if (hit) return hit;
    const out = new Set<string>();
    memo.set(id, out);
    for (const n of needs.get(id) ?? []) {
      out.add(n);
      for (const a of of(n)) out.add(a);
    }
    return out;
  };
  for (const s of steps) of(s.id);
  return memo;
}
