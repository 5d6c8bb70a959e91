/**
 * Two tiers (see docs/development.md). The fast tier, *.fast.test.ts: pure modules, PostgreSQL, the fake Calendly
 * API and replay of recorded histories, with no Temporal server. The integration tier, every other *.test.ts: one
 * real Temporal dev server for the run. Each jest worker has a PostgreSQL database of its own (test/setup).
 */
const common = {
  testEnvironment: '<rootDir>/test/setup/test-environment.ts',
  roots: ['<rootDir>/test'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
};

module.exports = {
  projects: [
    {
      ...common,
      displayName: 'fast',
      testMatch: ['**/*.fast.test.ts'],
      globalSetup: '<rootDir>/test/setup/fast-setup.ts',
      setupFiles: ['<rootDir>/test/setup/no-temporal-server.ts'],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: ['\\.fast\\.test\\.ts$'],
      globalSetup: '<rootDir>/test/setup/global-setup.ts',
      setupFiles: ['<rootDir>/test/setup/quiet-temporal-runtime.ts'],
    },
  ],
  testTimeout: 60_000,
  // Test files run side by side on their own databases and task queues; 2 keeps a 2-core machine busy.
  maxWorkers: 2,
};
