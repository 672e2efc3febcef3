import type { Collection, Document, IndexDescription } from 'mongodb';
import { isNamespaceNotFound } from './errors.js';

/**
 * Creates the indexes a collection lacks (by name), one per command: FerretDB 1.24 drops the
 * connection when a single createIndexes command names two or more indexes that already exist (a
 * restart would fail).
 */
export async function createMissingIndexes<T extends Document>(coll: Collection<T>, wanted: readonly IndexDescription[]): Promise<void> {
  const existing = new Set(await listIndexNames(coll));
  for (const idx of wanted) if (idx.name !== undefined && !existing.has(idx.name)) await coll.createIndexes([idx]);
}

/** Names of a collection's indexes; none when the collection does not exist yet. */
async function listIndexNames<T extends Document>(coll: Collection<T>): Promise<string[]> {
  try {
    return (await coll.listIndexes().toArray()).map((i: { name?: unknown }) => String(i.name));
  } catch (err) {
    if (isNamespaceNotFound(err)) return [];
    throw err;
  }
}
