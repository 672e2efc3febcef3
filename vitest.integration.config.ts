import { defineConfig } from 'vitest/config';

// Integration and end-to-end tests: each file starts its own nats-server (and other servers) on free
// ports with temporary storage. Files run in parallel up to the core count; tests within a file run
// in order.
export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.int.test.ts', 'services/*/test/**/*.int.test.ts', 'test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    maxWorkers: 2,
  },
});
