import { defineConfig } from 'vitest/config';

// Integration tests: against the lab of real components, started once for the run by
// globalSetup and stopped (by PID) when the run ends. Each file isolates itself by
// namespace and hosted zone, so files may share the one lab.
export default defineConfig({
  test: {
    include: ['test/integration/**/*.test.ts'],
    environment: 'node',
    globalSetup: ['test/lab/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    pool: 'forks',
  },
});
