/** MongoDB's duplicate-key codes (11001 on old servers). */
const DUPLICATE_KEY = new Set([11000, 11001]);
/** Codes a MongoDB-compatible server answers with for a feature it lacks (FerretDB: 238). */
const NOT_SUPPORTED = new Set([238, 115, 303]);

interface ServerErrorLike {
  code?: unknown;
  writeErrors?: unknown;
}

const codeOf = (err: unknown): unknown => (typeof err === 'object' && err !== null ? (err as ServerErrorLike).code : undefined);

/** A unique index refused the write: for first-write-wins stores, the expected "already there". */
export function isDuplicateKey(err: unknown): boolean {
  return DUPLICATE_KEY.has(codeOf(err) as number);
}

/**
 * An unordered bulk insert whose every failure is a duplicate key: the other documents were written
 * and the duplicates were already there, which is the idempotent outcome.
 */
export function onlyDuplicates(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const writeErrors = (err as ServerErrorLike).writeErrors;
  if (Array.isArray(writeErrors) && writeErrors.length > 0) return writeErrors.every((e) => isDuplicateKey(e));
  return isDuplicateKey(err);
}

export function isNotSupported(err: unknown): boolean {
  return NOT_SUPPORTED.has(codeOf(err) as number);
}

/** The collection (or database) does not exist yet: MongoDB's code 26. */
export function isNamespaceNotFound(err: unknown): boolean {
  return codeOf(err) === 26;
}
