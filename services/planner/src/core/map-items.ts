import { lookup, parseItemStepId, type MapStep, type PipelineSpec } from '@pipewright/contracts';

/** The map step an item's step id belongs to, and the item's index; undefined for any other id. */
export function itemOf(spec: Pick<PipelineSpec, 'steps'>, stepId: string): { map: MapStep; index: number } | undefined {
  const parsed = parseItemStepId(stepId);
  if (!parsed) return undefined;
  const map = spec.steps.find((s) => s.id === parsed.mapId);
  return map?.kind === 'map' ? { map, index: parsed.index } : undefined;
}

/** The value at a map's `over` path in a template context (a list when the map can run). */
export const valueAt = (context: Record<string, unknown>, path: string): unknown => lookup(context, path.split('.'));

/** How a reason names a step: `step x`, or for a map's item `step m__3 (item 3 of map m)`. */
export function stepLabel(spec: Pick<PipelineSpec, 'steps'>, stepId: string): string {
  const it = itemOf(spec, stepId);
  return it ? `step ${stepId} (item ${it.index} of map ${it.map.id})` : `step ${stepId}`;
}
