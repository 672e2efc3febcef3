import { afterAll, beforeAll, describe } from 'vitest';
import type { Stores } from '../src/store/types.js';
import { blobConformance } from './conformance/blobs.js';
import { listingConformance } from './conformance/listing.js';
import { retentionConformance } from './conformance/retention.js';
import { runConformance } from './conformance/runs.js';

/** Two handles on the same data, like two replicas of a service (separate connections). */
export interface Handles {
  a: Stores;
  b: Stores;
}

/**
 * The one suite every store implementation passes. `open` gives a new handle on the same data each
 * time it is called (a new connection); `cleanup` runs after both handles are closed.
 */
export function describeStoreConformance(name: string, open: () => Promise<Stores>, cleanup?: () => Promise<void>): void {
  describe(`store conformance: ${name}`, () => {
    let handles: Handles | undefined;
    const get = (): Handles => {
      if (!handles) throw new Error('store handles were not opened');
      return handles;
    };
    beforeAll(async () => {
      handles = { a: await open(), b: await open() };
    });
    afterAll(async () => {
      await handles?.a.close();
      await handles?.b.close();
      await cleanup?.();
    });

    runConformance(get);
    listingConformance(get);
    retentionConformance(get);
    blobConformance(get);
  });
}
