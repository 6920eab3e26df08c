import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // e2e tests spawn relays and backends; two cores, so keep files from starving each other
    fileParallelism: true,
    maxWorkers: 2,
  },
});
