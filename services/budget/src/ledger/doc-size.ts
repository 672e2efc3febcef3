import { RetryableError } from '@pipewright/kit';

/**
 * Ledger documents are whole JSON values, and NATS KV takes a value of at most 1 MiB (the server's
 * `max_payload`). A tenant's window document holds every open reservation of the tenant, a run's
 * document every reservation of the last retention window, so a busy tenant or run could grow one past
 * that. The operations that add an entry estimate the document's size first and refuse the entry
 * beyond this budget (with room to spare for the hourly buckets, the fields and the estimate's error):
 * the request fails alone with a retryable `ledger_full` error, the document stays writable, and the
 * operations batched with it (commits, releases) go through.
 */
export const LEDGER_DOC_BUDGET_BYTES = 900_000;
/** A hold's JSON besides its id: `"":{"nano":…,"tokens":…,"expiresAt":…},` with generous digits. */
export const HOLD_OVERHEAD_BYTES = 72;
/** An hourly bucket's JSON: `"1764000000000":{"nano":…,"tokens":…,"calls":…},`. */
export const BUCKET_BYTES = 80;
/**
 * A reservation record's JSON besides its id and its reason text: state, amounts, times, charges, and
 * the price it was granted at (up to ~100 bytes when the table's prices are long decimals).
 */
export const RECORD_OVERHEAD_BYTES = 350;

/** A document is full: a retryable error (the entry fits again once holds end or records age out). */
export class LedgerFullError extends RetryableError {
  override readonly name = 'LedgerFullError';
  readonly code = 'ledger_full';
}

export function holdsBytes(holds: Record<string, unknown>, buckets: Record<string, unknown>): number {
  let bytes = 0;
  for (const _ in buckets) bytes += BUCKET_BYTES;
  for (const id in holds) bytes += id.length + HOLD_OVERHEAD_BYTES;
  return bytes;
}

export function recordsBytes(records: Record<string, { reason?: string | undefined }>): number {
  let bytes = 0;
  for (const id in records) bytes += id.length + RECORD_OVERHEAD_BYTES + (records[id]!.reason?.length ?? 0);
  return bytes;
}
