import type { LocalStack } from '@pipewright/cli';
import { LOOP_DELAY_METRICS, startLoopDelayMonitor } from '@pipewright/kit';

/** What every benchmark prints for an event loop: how late a due timer ran, p99 and max, in ms. */
export interface LoopDelayFigures {
  p99Ms: number;
  maxMs: number;
}

/** Watches this process's event loop from now on; `stop()` gives the figures to print. */
export function watchLoopDelay(): { stop(): LoopDelayFigures } {
  const monitor = startLoopDelayMonitor();
  return {
    stop: () => {
      const d = monitor.stop();
      return { p99Ms: d.p99Ms, maxMs: d.maxMs };
    },
  };
}

/** A service's own loop-delay gauges (over its last 1-2 minutes) from its /metrics; undefined when it does not answer. */
export async function serviceLoopDelay(opsPort: number): Promise<LoopDelayFigures | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${opsPort}/metrics`, { signal: AbortSignal.timeout(2_000) });
    if (!res.ok) return undefined;
    const text = await res.text();
    const seconds = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1]);
    const p99 = seconds(LOOP_DELAY_METRICS.p99);
    const max = seconds(LOOP_DELAY_METRICS.max);
    if (!Number.isFinite(p99) || !Number.isFinite(max)) return undefined;
    return { p99Ms: Math.round(p99 * 1e6) / 1e3, maxMs: Math.round(max * 1e6) / 1e3 };
  } catch {
    return undefined;
  }
}

/** Every live service process of a stack (by process id, e.g. `executor-2`), read before the stack stops. */
export async function stackLoopDelays(stack: LocalStack): Promise<Record<string, LoopDelayFigures>> {
  const out: Record<string, LoopDelayFigures> = {};
  for (const [id, port] of stack.opsPorts) {
    const d = await serviceLoopDelay(port);
    if (d) out[id] = d;
  }
  return out;
}
