/**
 * A ledger operation is a pure function of the document as stored and the time: it may change the
 * document it is given (a fresh copy on every attempt) and says whether it did. The writer applies a
 * batch of operations to one version and writes it with compare-and-set, so a limit is checked against
 * exactly the version that is replaced; on a conflict the batch is re-applied to the newer version.
 */
export interface OpOutcome<D, R> {
  /** The document after the operation (a new one when there was none). */
  readonly doc: D | undefined;
  readonly result: R;
  readonly changed: boolean;
}

export type LedgerOp<D, R> = (doc: D | undefined, now: number) => OpOutcome<D, R>;

/** Decodes a stored document (validated once, when read from the store). */
export interface Codec<D> {
  decode(value: unknown): D;
}

export const unchanged = <D, R>(doc: D | undefined, result: R): OpOutcome<D, R> => ({ doc, result, changed: false });
export const changed = <D, R>(doc: D, result: R): OpOutcome<D, R> => ({ doc, result, changed: true });
