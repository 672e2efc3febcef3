import type { Registry } from 'prom-client';

/**
 * Remembers which metrics a registry holds now; the function returned removes every metric registered
 * since. A start-up attempt that failed half-way is undone with it, so the next attempt can register its
 * metrics again (prom-client refuses a second metric of the same name).
 */
export function metricsMark(registry: Registry): () => void {
  const before = new Set(registry.getMetricsAsArray().map((m) => m.name));
  return () => {
    for (const m of registry.getMetricsAsArray()) if (!before.has(m.name)) registry.removeSingleMetric(m.name);
  };
}
