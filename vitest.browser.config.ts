import { defineConfig } from 'vitest/config';

// the status page in a real headless Chromium (test/browser): `npm run test:browser`, run by .ci/run, which installs
// Chromium when it is missing; not part of npm test, so that runs on a machine without a browser
export default defineConfig({
  test: {
    include: ['test/browser/**/*.browser.ts'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    // one browser, and the timings it measures, to itself
    fileParallelism: false,
  },
});
