import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Gauge, type Registry } from 'prom-client';

/**
 * How late the event loop runs, from `perf_hooks.monitorEventLoopDelay`: a native timer is due every
 * LOOP_DELAY_RESOLUTION_MS and the histogram records the time between two firings. What exceeds the
 * resolution is how long the loop was busy when the timer was due, i.e. how long a heartbeat, an ack
 * or a /healthz answer would have waited. Every figure here is that excess, in milliseconds.
 */

/** Tick of the native timer (Node's default). A stall shorter than this may go unseen. */
export const LOOP_DELAY_RESOLUTION_MS = 10;
/** The /metrics gauges cover the last one to two windows of this length. */
export const LOOP_DELAY_WINDOW_MS = 60_000;

/** Names of the gauges every service exposes on /metrics (seconds, like prom-client's own). */
export const LOOP_DELAY_METRICS = {
  p50: 'pw_event_loop_delay_p50_seconds',
  p99: 'pw_event_loop_delay_p99_seconds',
  max: 'pw_event_loop_delay_max_seconds',
} as const;

/** What `monitorEventLoopDelay` returns (`IntervalHistogram` in @types/node 20, `ELDHistogram` in 24). */
type LoopDelayHistogram = ReturnType<typeof monitorEventLoopDelay>;

export interface LoopDelay {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Timer firings behind the figures; 0 when nothing was sampled yet. */
  samples: number;
}

export interface LoopDelayMonitor {
  /** Figures since the monitor started. */
  read(): LoopDelay;
  /** Stops sampling and returns the figures of the whole time it ran. */
  stop(): LoopDelay;
}

/** Starts sampling this thread's event loop (e.g. around a benchmark). */
export function startLoopDelayMonitor(resolutionMs = LOOP_DELAY_RESOLUTION_MS): LoopDelayMonitor {
  const h = monitorEventLoopDelay({ resolution: resolutionMs });
  h.enable();
  return {
    read: () => loopDelayOf(h, resolutionMs),
    stop: () => {
      h.disable();
      return loopDelayOf(h, resolutionMs);
    },
  };
}

/** The excess over the resolution of a histogram's p50, p99 and max, in ms (3 decimals). */
export function loopDelayOf(h: LoopDelayHistogram, resolutionMs: number): LoopDelay {
  if (h.count === 0) return { p50Ms: 0, p99Ms: 0, maxMs: 0, samples: 0 };
  const late = (ns: number) => Math.round(Math.max(0, ns / 1e6 - resolutionMs) * 1000) / 1000;
  return { p50Ms: late(h.percentile(50)), p99Ms: late(h.percentile(99)), maxMs: late(h.max), samples: h.count };
}

export interface LoopDelayGauges {
  /** The figures the gauges report now. */
  read(): LoopDelay;
  stop(): void;
}

/**
 * Registers the LOOP_DELAY_METRICS gauges over a rolling window. A histogram cannot drop old samples,
 * so two monitors are reset in turn, one every `windowMs`: the one reset longer ago always covers the
 * last one to two windows (since start, during the first), and it is the one reported. A scrape never
 * resets anything, so any number of scrapers see the same figures.
 */
export function registerLoopDelayGauges(registry: Registry, windowMs = LOOP_DELAY_WINDOW_MS, resolutionMs = LOOP_DELAY_RESOLUTION_MS): LoopDelayGauges {
  const monitors = [monitorEventLoopDelay({ resolution: resolutionMs }), monitorEventLoopDelay({ resolution: resolutionMs })] as const;
  for (const m of monitors) m.enable();
  const resetAt = [Date.now(), Date.now()];
  let next = 0;
  const rotate = setInterval(() => {
    monitors[next]!.reset();
    resetAt[next] = Date.now();
    next = 1 - next;
  }, windowMs);
  // Sampling must never keep a process alive that is otherwise done.
  rotate.unref();
  const read = () => loopDelayOf(resetAt[0]! <= resetAt[1]! ? monitors[0] : monitors[1], resolutionMs);
  const windowText = `over the last ${windowMs / 1000}-${(2 * windowMs) / 1000} s`;
  const gauge = (name: string, what: string, pick: (d: LoopDelay) => number) =>
    new Gauge({
      name,
      help: `Event-loop delay ${what} ${windowText} (how late a ${resolutionMs} ms timer fired), seconds`,
      registers: [registry],
      collect() {
        this.set(pick(read()) / 1000);
      },
    });
  gauge(LOOP_DELAY_METRICS.p50, 'p50', (d) => d.p50Ms);
  gauge(LOOP_DELAY_METRICS.p99, 'p99', (d) => d.p99Ms);
  gauge(LOOP_DELAY_METRICS.max, 'max', (d) => d.maxMs);
  return {
    read,
    stop: () => {
      clearInterval(rotate);
      for (const m of monitors) m.disable();
    },
  };
}
