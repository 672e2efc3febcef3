import type { RunState } from '@pipewright/contracts';
import { Registry } from '@pipewright/kit';
import { describe, expect, it } from 'vitest';
import { createPlannerMetrics, decide, recordTransition, type Transition } from '../src/index.js';
import { completed, dagRequest, failed, later, T0 } from './fixtures.js';

function changed(t: Transition): RunState {
  if (t.kind !== 'changed') throw new Error(`expected a change, got: ${t.reason}`);
  return t.state;
}

async function values(registry: Registry, name: string): Promise<Record<string, number>> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  return Object.fromEntries((m?.values ?? []).map((v) => [`${v.metricName ?? name}${JSON.stringify(v.labels)}`, v.value]));
}

describe('planner metrics from stored transitions', () => {
  it('counts a run once, when it first becomes final, with its duration, and each step when it ends', async () => {
    const registry = new Registry();
    const m = createPlannerMetrics(registry);
    const states: (RunState | undefined)[] = [undefined];
    const step = (t: Transition) => {
      const after = changed(t);
      recordTransition(m, states.at(-1), after);
      states.push(after);
      return after;
    };
    let s = step(decide(undefined, { type: 'run.submitted', runId: 'run-1', request: dagRequest() }, T0));
    s = step(decide(s, completed(s, 'a', { title: 'Tides' }), later(1_000)));
    s = step(decide(s, completed(s, 'b', 'facts'), later(2_000)));
    s = step(decide(s, completed(s, 'c', 'tone'), later(3_000)));
    expect(await values(registry, 'pw_runs_total')).toEqual({});
    s = step(decide(s, completed(s, 'd', 'done'), later(4_000)));
    expect(s.status).toBe('succeeded');
    // the same final state stored again (a replay, a settle) counts nothing more
    recordTransition(m, s, { ...s, updatedAt: later(9_000).toISOString() });

    expect(await values(registry, 'pw_runs_total')).toEqual({ 'pw_runs_total{"pipeline":"dag","status":"succeeded"}': 1 });
    expect(await values(registry, 'pw_steps_total')).toEqual({ 'pw_steps_total{"kind":"llm","outcome":"succeeded"}': 4 });
    const duration = await values(registry, 'pw_run_duration_seconds');
    expect(duration['pw_run_duration_seconds_count{"pipeline":"dag","status":"succeeded"}']).toBe(1);
    expect(duration['pw_run_duration_seconds_sum{"pipeline":"dag","status":"succeeded"}']).toBe(4);
    expect(await values(registry, 'pw_cas_conflicts_total')).toEqual({ 'pw_cas_conflicts_total{"store":"runs"}': 0 });
  });

  it('counts a failed step and the run it fails', async () => {
    const registry = new Registry();
    const m = createPlannerMetrics(registry);
    const s0 = changed(decide(undefined, { type: 'run.submitted', runId: 'run-1', request: dagRequest({ pipeline: { ...dagRequest().pipeline, defaults: { model: 'sim-small', retry: { maxAttempts: 1 } } } }) }, T0));
    const s1 = changed(decide(s0, failed(s0, 'a'), later(500)));
    recordTransition(m, s0, s1);
    expect(s1.status).toBe('failed');
    expect(await values(registry, 'pw_runs_total')).toEqual({ 'pw_runs_total{"pipeline":"dag","status":"failed"}': 1 });
    expect((await values(registry, 'pw_steps_total'))['pw_steps_total{"kind":"llm","outcome":"failed"}']).toBe(1);
  });
});
