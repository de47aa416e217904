import { defineConfig } from 'vitest/config';

// Unit tests: pure logic only, no servers. They sit beside the code or under test/unit.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/unit/**/*.test.ts'],
    environment: 'node',
    testTimeout: 10_000,
  },
});
