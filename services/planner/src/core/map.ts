import { addUsage, itemStepId, roundUsd, stepSpecOf, TERMINAL_STATUSES, ZERO_USAGE, type MapStep, type RunState } from '@pipewright/contracts';
import type { Builder } from './builder.js';
import { templateContext } from './dispatch.js';
import { itemOf, valueAt } from './map-items.js';
import { maxStepsOf } from './run-limits.js';

/**
 * A `map` step starts: the list at `over` is looked up once, checked against the step's and the run's
 * limits before any item runs, and the first `concurrency` items are dispatched as steps `<map>__<i>`.
 * Each item is an ordinary model step (its own dispatches, task ids, retries, checkpoint and spending);
 * only a pending item has no record in the run, so the stored run grows with the items that ran, and a
 * succeeded item keeps its output only (see `onItemSucceeded`). An empty list succeeds at once with `[]`.
 *
 * Started again (a resume of a run that stopped mid-map), the items that succeeded keep their outputs
 * and the rest run again (resume made them pending, with their attempt counts, so their tasks are new).
 * Says whether the run goes on.
 */
export function startMap(b: Builder, step: MapStep): boolean {
  const s = b.state;
  const list = valueAt(templateContext(s), step.over);
  if (!Array.isArray(list)) {
    b.finish('failed', `step ${step.id}: map over ${step.over} found ${describe(list)}, not a list`, [step.id]);
    return false;
  }
  if (list.length > step.maxItems) {
    b.finish('failed', `step ${step.id}: the list at ${step.over} has ${list.length} items, more than maxItems ${step.maxItems} (guard: maxItems)`, [step.id]);
    return false;
  }
  const { succeeded } = scan(s, step.id, list.length, 0);
  const toRun = list.length - succeeded;
  const planned = s.dispatches + reservedDispatches(s);
  if (planned + toRun > maxStepsOf(s)) {
    b.finish('failed', `step ${step.id}: ${toRun} item(s) to run after ${planned} dispatch(es) made or planned would pass the step limit of ${maxStepsOf(s)} (guard: limits.maxSteps)`, [step.id]);
    return false;
  }
  const st = s.steps[step.id]!;
  s.steps[step.id] = { ...st, status: 'dispatched', attempt: st.attempt + 1, dispatchedAt: b.at, map: { total: list.length } };
  b.decide('map', [step.id], `map ${step.id} over ${step.over}: ${list.length} item(s), at most ${step.concurrency} at a time${succeeded > 0 ? `; ${succeeded} already succeeded` : ''}`);
  return fill(b, step) !== 'ended';
}

/**
 * An item's output was accepted (`Builder.completeStep`): its record is trimmed to what the map needs
 * (status, attempt, output), its spending is added to the map's, and the next pending item is
 * dispatched — or, when every item has succeeded, the map succeeds with their outputs in list order and
 * the DAG advances. Says false when `stepId` is not a map's item.
 */
export function onItemSucceeded(b: Builder, stepId: string): boolean {
  const it = itemOf(b.state.pipeline, stepId);
  if (!it) return false;
  const s = b.state;
  const st = s.steps[stepId]!;
  const mapSt = s.steps[it.map.id]!;
  s.steps[it.map.id] = {
    ...mapSt,
    usage: addUsage(mapSt.usage ?? ZERO_USAGE, st.usage ?? ZERO_USAGE),
    ...(st.costUsd !== undefined ? { costUsd: roundUsd((mapSt.costUsd ?? 0) + st.costUsd) } : {}),
  };
  s.steps[stepId] = { status: 'succeeded', attempt: st.attempt, ...(st.output !== undefined ? { output: st.output } : {}) };
  if (mapSt.status !== 'dispatched' || TERMINAL_STATUSES.has(s.status) || b.timedOut()) return true;
  if (fill(b, it.map) === 'completed') b.advance();
  return true;
}

/**
 * Dispatches pending items while fewer than `concurrency` are unfinished; completes the map when every
 * item has succeeded (without advancing: the caller does).
 */
function fill(b: Builder, map: MapStep): 'running' | 'completed' | 'ended' {
  const s = b.state;
  const total = s.steps[map.id]!.map?.total ?? 0;
  const { succeeded, unfinished, pending } = scan(s, map.id, total, map.concurrency);
  if (succeeded === total) {
    complete(b, map, total);
    return 'completed';
  }
  const next = pending.slice(0, Math.max(0, map.concurrency - unfinished));
  if (next.length === 0) return 'running';
  if (s.dispatches + next.length > maxStepsOf(s)) {
    // Reserved at the map's start; only a step dispatched again since (more budget granted) gets here.
    b.finish('failed', `step ${map.id}: step limit of ${maxStepsOf(s)} reached with ${total - succeeded - unfinished} item(s) left (guard: limits.maxSteps)`, [map.id]);
    return 'ended';
  }
  const ids = next.map((i) => itemStepId(map.id, i));
  for (const id of ids) if (!b.redispatch(stepSpecOf(s.pipeline, id)!)) return 'ended';
  b.decide('dispatch', ids, `map ${map.id}: item(s) ${next.join(', ')} of ${total} (${unfinished + next.length} in flight, at most ${map.concurrency})`);
  return 'running';
}

/** The map succeeds: its output is the items' outputs in list order; the items' records are dropped. */
function complete(b: Builder, map: MapStep, total: number): void {
  const s = b.state;
  const outputs: unknown[] = [];
  for (let i = 0; i < total; i++) {
    const id = itemStepId(map.id, i);
    outputs.push(s.steps[id]?.output ?? null);
    delete s.steps[id];
  }
  s.steps[map.id] = { ...s.steps[map.id]!, status: 'succeeded', output: outputs, finishedAt: b.at };
  b.decide('complete-step', [map.id], `map ${map.id}: ${total === 0 ? 'the list is empty' : `all ${total} item(s) succeeded`}`);
}

/**
 * Dispatches the running maps will still make: their items not yet dispatched. Counted with the
 * dispatches made against `limits.maxSteps`, so a map's items are reserved when it starts and the
 * steps (and maps) that start later cannot take them.
 */
export function reservedDispatches(s: RunState): number {
  let n = 0;
  for (const step of s.pipeline.steps) {
    const st = s.steps[step.id];
    if (step.kind !== 'map' || st?.status !== 'dispatched' || !st.map) continue;
    const c = scan(s, step.id, st.map.total, 0);
    n += st.map.total - c.succeeded - c.unfinished;
  }
  return n;
}

/** Counts a map's items: succeeded, unfinished (dispatched, held for approval, failed), and up to `want` pending indexes. */
function scan(s: RunState, mapId: string, total: number, want: number): { succeeded: number; unfinished: number; pending: number[] } {
  let succeeded = 0;
  let unfinished = 0;
  const pending: number[] = [];
  for (let i = 0; i < total; i++) {
    const st = s.steps[itemStepId(mapId, i)];
    if (st === undefined || st.status === 'pending') {
      if (pending.length < want) pending.push(i);
    } else if (st.status === 'succeeded') succeeded++;
    else unfinished++;
  }
  return { succeeded, unfinished, pending };
}

/** How many of a map's items have succeeded. */
export const succeededItems = (s: RunState, mapId: string, total: number): number => scan(s, mapId, total, 0).succeeded;

/** What was found instead of a list, briefly. */
function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'object') return `an object (${Object.keys(v).slice(0, 5).join(', ') || 'no fields'})`;
  const text = JSON.stringify(v);
  return `a ${typeof v} (${text.length > 60 ? `${text.slice(0, 60)}…` : text})`;
}
