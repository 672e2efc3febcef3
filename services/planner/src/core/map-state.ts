import type { MapStep, RunRequest, ValidationIssue } from '@pipewright/contracts';

/**
 * What a finished item of a map costs the stored run until the map finishes: its record keeps status,
 * attempt and output, and an output above `ITEM_INLINE_BYTES` is kept as a reference to the task result
 * (see claims.ts). So the largest record is one with a reference: measured here on the longest run id
 * and a large stream sequence, for the map's own id.
 */
export function itemStateBytes(mapId: string): number {
  const ref = { $result: { runId: 'r'.repeat(64), seq: 999_999_999_999, bytes: 99_999_999 } };
  return JSON.stringify({ [`${mapId}__99999`]: { status: 'succeeded', attempt: 99, output: ref } }).length; // the braces stand for the comma
}

/** Room kept for what else a run stores while a map runs: items in flight, the outbox, decisions' ids. */
export const STATE_HEADROOM_BYTES = 64 * 1024;

/**
 * Checks at submit that the run's state can hold its maps' finished items (each map's `maxItems`, all
 * maps at once, as they may run side by side) with the request itself, within `maxStateBytes`
 * (PW_RUN_STATE_MAX_BYTES), so a map too large for the store is refused with its field named rather
 * than failing midway.
 */
export function checkMapState(request: RunRequest, maps: { step: MapStep; index: number }[], maxStateBytes: number): ValidationIssue[] {
  if (maps.length === 0) return [];
  const requestBytes = JSON.stringify(request).length;
  const room = maxStateBytes - requestBytes - STATE_HEADROOM_BYTES;
  const needed = maps.reduce((n, m) => n + m.step.maxItems * itemStateBytes(m.step.id), 0);
  if (needed <= room) return [];
  return maps.map(({ step, index }) => {
    const fits = Math.max(0, Math.floor(room / itemStateBytes(step.id) / maps.length));
    return {
      path: `pipeline.steps[${index}].maxItems`,
      message: `a map keeps each finished item (up to ${itemStateBytes(step.id)} bytes) in the run's state until it finishes: ${maps.length > 1 ? `the pipeline's maps together (${needed} bytes)` : `maxItems ${step.maxItems} (${needed} bytes)`} with this request (${requestBytes} bytes) would pass the ${maxStateBytes}-byte state limit (PW_RUN_STATE_MAX_BYTES); at most about ${fits} items fit: lower maxItems, or raise PW_RUN_STATE_MAX_BYTES`,
    };
  });
}
