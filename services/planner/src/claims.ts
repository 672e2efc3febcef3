import { createHash } from 'node:crypto';
import { isClaimRef, parseClaimUrl, type ClaimRef, type RunState } from '@pipewright/contracts';
import { resolveClaim, type BlobStore } from '@pipewright/kit';
import type { PlannerEvent } from './core/events.js';

/** Resolved claim-checked values kept in memory (least recently used out), so the events of a run do not fetch them again. */
const CACHE_MAX_BYTES = 64 * 1024 * 1024;

/**
 * The claim check on the planner's side. An executor stores a large step output once in the blob store
 * and sends a reference; the run document keeps the reference, so it does not grow with the outputs.
 * The pure core needs the values (templates, the final output), so the applier hydrates the run and
 * the event before deciding and puts the references back before writing: every value that came from a
 * reference is found again by the SHA-256 of its JSON, which is what the reference names.
 */
export class ClaimTable {
  private readonly cache = new Map<string, { value: unknown; bytes: number }>();
  private cachedBytes = 0;

  constructor(private readonly blobs: BlobStore) {}

  /** The run and the event with every claim reference replaced by its value, and the references seen. */
  async hydrate<E extends PlannerEvent>(state: RunState | undefined, event: E): Promise<{ state: RunState | undefined; event: E; refs: Map<string, ClaimRef> }> {
    const refs = new Map<string, ClaimRef>();
    const runId = event.runId;
    const resolve = async (v: unknown): Promise<unknown> => {
      // Only this run's blobs: a model that writes a reference-shaped object cannot pull in another run's data.
      if (!looksLikeRef(v) || !isClaimRef(v) || parseClaimUrl(v.$ref)?.runId !== runId) return v;
      refs.set(v.sha256, v);
      const hit = this.cache.get(v.$ref);
      if (hit !== undefined) {
        this.cache.delete(v.$ref); // most recently used goes last
        this.cache.set(v.$ref, hit);
        return hit.value;
      }
      const value = await resolveClaim(v, this.blobs);
      this.remember(v.$ref, value, v.bytes);
      return value;
    };
    const hydratedEvent = event.type === 'step.completed' && looksLikeRef(event.output) ? { ...event, output: await resolve(event.output) } : event;
    if (!state || !mayHoldRefs(state)) return { state, event: hydratedEvent, refs };
    const steps: RunState['steps'] = {};
    for (const [id, st] of Object.entries(state.steps)) {
      const output = await resolve(st.output);
      const approval = st.approval && { ...st.approval, output: await resolve(st.approval.output) };
      steps[id] = { ...st, output, ...(approval ? { approval } : {}) };
    }
    return { state: { ...state, steps, output: await resolve(state.output) }, event: hydratedEvent, refs };
  }

  /** The run as it is stored: every value that came from a reference is the reference again. */
  dehydrate(state: RunState, refs: ReadonlyMap<string, ClaimRef>): RunState {
    if (refs.size === 0) return state;
    const minBytes = Math.min(...[...refs.values()].map((r) => r.bytes));
    const back = (v: unknown): unknown => {
      if (v === undefined) return v;
      const json = JSON.stringify(v);
      if (json === undefined || json.length < minBytes / 4) return v; // UTF-8 is at most 4 bytes a character
      return refs.get(createHash('sha256').update(json).digest('hex')) ?? v;
    };
    const steps: RunState['steps'] = {};
    for (const [id, st] of Object.entries(state.steps)) steps[id] = { ...st, output: back(st.output), ...(st.approval ? { approval: { ...st.approval, output: back(st.approval.output) } } : {}) };
    const outbox = state.outbox && {
      ...state.outbox,
      messages: state.outbox.messages.map((m) => {
        const p = m.payload as { type?: string; output?: unknown; partial?: Record<string, unknown> };
        if (p.type !== 'run.finished') return m;
        const partial = p.partial && Object.fromEntries(Object.entries(p.partial).map(([k, v]) => [k, back(v)]));
        return { ...m, payload: { ...p, output: back(p.output), ...(partial ? { partial } : {}) } };
      }),
    };
    return { ...state, steps, output: back(state.output), ...(outbox ? { outbox } : {}) };
  }

  private remember(key: string, value: unknown, bytes: number): void {
    if (bytes > CACHE_MAX_BYTES / 4) return; // a huge value would push out everything else
    this.cache.set(key, { value, bytes });
    this.cachedBytes += bytes;
    for (const [oldest, entry] of this.cache) {
      if (this.cachedBytes <= CACHE_MAX_BYTES) break;
      this.cache.delete(oldest);
      this.cachedBytes -= entry.bytes;
    }
  }
}

/** Cheap test before the schema check: a reference is an object with a `$ref`. */
function looksLikeRef(v: unknown): boolean {
  return typeof v === 'object' && v !== null && '$ref' in v;
}

/** Whether the walk is needed at all: most runs hold no reference. */
function mayHoldRefs(state: RunState): boolean {
  return Object.values(state.steps).some((st) => looksLikeRef(st.output) || looksLikeRef(st.approval?.output)) || looksLikeRef(state.output);
}
