import { monitorEventLoopDelay } from 'node:perf_hooks';
import { waitFor } from '@pipewright/devstack';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { LOOP_DELAY_METRICS, LOOP_DELAY_RESOLUTION_MS, loopDelayOf, registerLoopDelayGauges, startLoopDelayMonitor } from '../src/service/loop-delay.js';

/** Keeps the event loop busy for `ms`: the stall the monitors must see. */
function block(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

async function gauge(registry: Registry, name: string): Promise<number> {
  const text = await registry.getSingleMetricAsString(name);
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return Number(m?.[1]);
}

describe('event-loop delay', () => {
  it('reports nothing before the first sample', () => {
    expect(loopDelayOf(monitorEventLoopDelay(), LOOP_DELAY_RESOLUTION_MS)).toEqual({ p50Ms: 0, p99Ms: 0, maxMs: 0, samples: 0 });
  });

  it('sees a stall of the loop as its max, less the timer resolution', async () => {
    const m = startLoopDelayMonitor();
    // the first firing only sets the baseline: a stall before it is not measured
    await waitFor('the monitor to sample', () => (m.read().samples >= 2 ? true : undefined), { timeoutMs: 5_000, intervalMs: 10 });
    block(200);
    const seen = await waitFor('the stall to be sampled', () => (m.read().maxMs >= 150 ? m.read() : undefined), { timeoutMs: 5_000, intervalMs: 20 });
    const final = m.stop();
    expect(seen.maxMs).toBeGreaterThanOrEqual(150);
    expect(final.maxMs).toBeGreaterThanOrEqual(seen.maxMs);
    // p50 of a mostly idle loop is the lateness of a timer, far below the stall
    expect(final.p50Ms).toBeLessThan(final.maxMs);
    expect(final.samples).toBeGreaterThan(0);
  });

  it('exposes p50/p99/max gauges in seconds over a rolling window', async () => {
    const registry = new Registry();
    const g = registerLoopDelayGauges(registry, 200);
    try {
      await waitFor('the monitors to sample', () => (g.read().samples >= 2 ? true : undefined), { timeoutMs: 5_000, intervalMs: 10 });
      block(300);
      await waitFor('the stall on /metrics', async () => ((await gauge(registry, LOOP_DELAY_METRICS.max)) >= 0.25 ? true : undefined), { timeoutMs: 5_000, intervalMs: 20 });
      expect(await gauge(registry, LOOP_DELAY_METRICS.p99)).toBeGreaterThanOrEqual(0);
      expect(await gauge(registry, LOOP_DELAY_METRICS.p50)).toBeLessThan(0.25);
      // two rotations later the stall has left the window (the window is 200-400 ms here)
      await waitFor('the stall to leave the window', async () => ((await gauge(registry, LOOP_DELAY_METRICS.max)) < 0.25 ? true : undefined), { timeoutMs: 10_000, intervalMs: 50 });
    } finally {
      g.stop();
    }
  });
});
