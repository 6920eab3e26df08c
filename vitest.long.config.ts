import { defineConfig } from 'vitest/config';

// tests that take minutes by their nature (a backend answering after 305 s): `npm run test:long`, run by .ci/run
export default defineConfig({
  test: {
    include: ['test/long/**/*.long.ts'],
    testTimeout: 420_000,
    hookTimeout: 30_000,
  },
});
