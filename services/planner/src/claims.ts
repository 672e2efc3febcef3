import { createHash } from 'node:crypto';
import { isClaimRef, parseClaimUrl, parseItemStepId, type ClaimRef, type RunState } from '@pipewright/contracts';
import { checkIn, resolveClaim, type BlobStore } from '@pipewright/kit';
import { LRUCache } from 'lru-cache';
import type { PlannerEvent } from './core/events.js';
import { isResultRef, type ResultReader, type ResultRef } from './result-refs.js';

/** Resolved values kept in memory (least recently used out), so the events of a run do not fetch them again. */
const CACHE_MAX_BYTES = 64 * 1024 * 1024;
/**
 * A step output larger than this (bytes of JSON) is not copied into the stored run: the run keeps a
 * reference to the task result that carries it (`$result`, its stream sequence), or to a blob. The run's
 * size, and so the cost of each of its transitions, then grows by ~200 bytes a step whatever the steps
 * produce. (The executor sends outputs above its own threshold, 64 KiB, as blob references already.)
 */
export const STATE_INLINE_BYTES = 512;
/**
 * The same for a map's item: a map of thousands of items keeps each finished item's output until the
 * map finishes, so any output larger than its reference (~100 bytes) is kept as the reference.
 */
export const ITEM_INLINE_BYTES = 64;

type Ref = ClaimRef | ResultRef;

/**
 * The claim check on the planner's side. The pure core needs values (templates, the final output), so
 * the applier hydrates the run and the event before deciding, and puts references back before writing.
 * An object keeps its identity through a transition (the Builder copies only the run and its step
 * records), so a value that came from a reference is recognised at once; a string by its content.
 */
export class ClaimTable {
  private readonly cache = new LRUCache<string, { value: unknown; bytes: number }>({ maxSize: CACHE_MAX_BYTES, sizeCalculation: (v) => Math.max(1, v.bytes) });
  /** Where a hydrated object value came from. */
  private readonly origin = new WeakMap<object, Ref>();
  /** Object values already found small enough to stay inline: not measured again each transition. */
  private readonly inline = new WeakSet<object>();
  /** Where a hydrated string value of a run came from (strings have no identity): keyed `<runId>\u0000<text>`. */
  private readonly stringOrigin = new LRUCache<string, Ref>({ maxSize: 16 * 1024 * 1024, sizeCalculation: (_r, s) => Math.max(1, s.length) });

  constructor(
    private readonly blobs: BlobStore,
    private readonly results: ResultReader,
  ) {}

  /** The run and the event with every reference replaced by its value, and the blob references seen. */
  async hydrate<E extends PlannerEvent>(state: RunState | undefined, event: E): Promise<{ state: RunState | undefined; event: E; refs: Map<string, ClaimRef> }> {
    const refs = new Map<string, ClaimRef>();
    const runId = event.runId;
    const resolve = async (v: unknown): Promise<unknown> => {
      if (typeof v !== 'object' || v === null) return v;
      // Only this run's: a model that writes a reference-shaped object cannot pull in another run's data.
      if (isResultRef(v)) return v.$result.runId === runId ? this.load(runId, `result:${v.$result.seq}`, v, () => this.results.output(v)) : v;
      if (!('$ref' in v) || !isClaimRef(v) || parseClaimUrl(v.$ref)?.runId !== runId) return v;
      refs.set(v.sha256, v);
      return this.load(runId, v.$ref, v, () => resolveClaim(v, this.blobs));
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

  /**
   * The run as it is stored: a large output is a reference again — to where it came from, to the task
   * result `source` names when it is that event's output (`{ stepId, seq }` of the result being applied),
   * else to a blob (stored once, content-addressed).
   */
  async dehydrate(state: RunState, refs: ReadonlyMap<string, ClaimRef>, source?: { stepId: string; seq: number; output: unknown }): Promise<RunState> {
    const runId = state.runId;
    const back = async (v: unknown, stepId?: string): Promise<unknown> => {
      const inlineBytes = stepId !== undefined && parseItemStepId(stepId) ? ITEM_INLINE_BYTES : STATE_INLINE_BYTES;
      if (v === undefined || looksLikeRef(v)) return v;
      const obj = typeof v === 'object' && v !== null ? v : undefined;
      if (obj && this.inline.has(obj)) return v;
      const known = obj ? this.origin.get(obj) : typeof v === 'string' ? this.stringOrigin.get(`${runId}\u0000${v}`) : undefined;
      // Only a reference into this run: a value reused from another run (a re-run) is stored again under
      // this one, so that it outlives the run it came from (retention removes a run's blobs and events).
      if (known && refRunId(known) === runId) return known;
      const json = JSON.stringify(v);
      const bytes = json === undefined ? 0 : json.length <= inlineBytes / 4 ? json.length : Buffer.byteLength(json); // UTF-8 is at most 4 bytes a character
      if (bytes <= inlineBytes) {
        if (obj) this.inline.add(obj);
        return v;
      }
      if (source && stepId === source.stepId && v === source.output) return this.note(runId, v, { $result: { runId, seq: source.seq, bytes } });
      const byDigest = refs.size > 0 ? refs.get(createHash('sha256').update(json).digest('hex')) : undefined;
      if (byDigest) return this.note(runId, v, byDigest);
      return this.note(runId, v, (await checkIn(v, { runId, blobs: this.blobs, thresholdBytes: inlineBytes })) as ClaimRef);
    };
    const steps: RunState['steps'] = {};
    for (const [id, st] of Object.entries(state.steps)) {
      const output = await back(st.output, id);
      const approval = st.approval && { ...st.approval, output: await back(st.approval.output) };
      steps[id] = { ...st, ...(output !== undefined ? { output } : {}), ...(approval ? { approval } : {}) };
    }
    const output = await back(state.output);
    return { ...state, steps, ...(output !== undefined ? { output } : {}) };
  }

  /**
   * The outputs of a run's succeeded steps as values (its own references resolved; a reference-shaped
   * output naming another run is left as the value it is), for a re-run that copies them. Origins are not
   * noted: the re-run stores each again under its own id.
   */
  async resolveOutputs(state: RunState): Promise<RunState> {
    const runId = state.runId;
    const steps: RunState['steps'] = {};
    for (const [id, st] of Object.entries(state.steps)) {
      const v = st.output;
      if (st.status !== 'succeeded' || !looksLikeRef(v)) steps[id] = st;
      else if (isResultRef(v)) steps[id] = { ...st, output: v.$result.runId === runId ? await this.results.output(v) : v };
      else steps[id] = { ...st, output: isClaimRef(v) && parseClaimUrl(v.$ref)?.runId === runId ? await resolveClaim(v, this.blobs) : v };
    }
    return { ...state, steps };
  }

  private async load(runId: string, key: string, ref: Ref, fetch: () => Promise<unknown>): Promise<unknown> {
    const hit = this.cache.get(key);
    const value = hit !== undefined ? hit.value : await fetch();
    const bytes = '$result' in ref ? ref.$result.bytes : ref.bytes;
    if (hit === undefined && bytes <= CACHE_MAX_BYTES / 4) this.cache.set(key, { value, bytes });
    this.note(runId, value, ref);
    return value;
  }

  /** Notes where a value came from, so that storing it again needs neither hashing nor a write. */
  private note(runId: string, value: unknown, ref: Ref): Ref {
    if (typeof value === 'object' && value !== null) this.origin.set(value, ref);
    else if (typeof value === 'string') this.stringOrigin.set(`${runId}\u0000${value}`, ref);
    return ref;
  }
}

/** The run a reference belongs to. */
function refRunId(ref: Ref): string | undefined {
  return '$result' in ref ? ref.$result.runId : parseClaimUrl(ref.$ref)?.runId;
}

/** Cheap test before the schema checks: a reference is an object with a `$ref` or a `$result`. */
function looksLikeRef(v: unknown): boolean {
  return typeof v === 'object' && v !== null && ('$ref' in v || '$result' in v);
}

/** Whether the walk is needed at all: most runs hold no reference. */
function mayHoldRefs(state: RunState): boolean {
  return Object.values(state.steps).some((st) => looksLikeRef(st.output) || looksLikeRef(st.approval?.output)) || looksLikeRef(state.output);
}
