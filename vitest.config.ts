import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Installs (as root) or names the Debian packages the tests need, before any test runs.
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Real registries and processes: keep the machine's two cores from thrashing.
    maxWorkers: 2,
    reporters: ['default', 'json'],
    // Read by .ci/run to print a plain 'N passed, N failed' line.
    outputFile: { json: 'test-results/vitest.json' },
  },
});
