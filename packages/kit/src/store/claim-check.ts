import { ClaimRef } from '@pipewright/contracts';
import { TerminalError } from '../errors.js';
import { sha256Hex } from './blob-ref.js';
import type { BlobStore } from './types.js';

/** Outputs up to this size travel inline; larger ones are claim-checked. */
export const DEFAULT_CLAIM_THRESHOLD_BYTES = 64 * 1024;

export type Externalized =
  /** Small enough: the value travels as it is (`data`: its JSON, encoded, for a caller that sends it). */
  | { kind: 'inline'; value: unknown; data?: Uint8Array }
  /** Too large: store `data` (the value's JSON) and send a reference to it. */
  | { kind: 'blob'; data: Uint8Array; sha256: string };

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * Decides whether `value` travels inline or by reference, by the size of its JSON. Pure: it encodes
 * but stores nothing (`checkIn` does both).
 */
export function externalize(value: unknown, opts: { thresholdBytes: number }): Externalized {
  const data = enc.encode(JSON.stringify(value) ?? 'null');
  if (data.byteLength <= opts.thresholdBytes) return { kind: 'inline', value, data };
  return { kind: 'blob', data, sha256: sha256Hex(data) };
}

/** The value itself when small, else a reference to it stored in `blobs` under the run. */
export function checkIn(value: unknown, opts: { runId: string; blobs: BlobStore; thresholdBytes?: number }): Promise<unknown> {
  const x = externalize(value, { thresholdBytes: opts.thresholdBytes ?? DEFAULT_CLAIM_THRESHOLD_BYTES });
  return x.kind === 'inline' ? Promise.resolve(x.value) : opts.blobs.put(opts.runId, x.data);
}

/**
 * The value behind a claim reference, or `valueOrRef` itself when it is not one. A reference whose
 * blob is gone cannot succeed on retry (retention removed it), so that is a terminal error.
 */
export async function resolveClaim(valueOrRef: unknown, blobs: BlobStore): Promise<unknown> {
  const ref = ClaimRef.safeParse(valueOrRef);
  if (!ref.success) return valueOrRef;
  const data = await blobs.get(ref.data);
  if (data === undefined) throw new TerminalError(`claim-checked value ${ref.data.$ref} is gone (removed by retention?)`, 'claim-missing');
  return JSON.parse(dec.decode(data)) as unknown;
}
