import { defineConfig } from 'vitest/config';

// Unit tests: pure code, no servers. Fast; run first.
export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'services/*/test/**/*.test.ts'],
    exclude: ['**/*.int.test.ts', '**/node_modules/**', '**/dist/**'],
    testTimeout: 10_000,
  },
});
