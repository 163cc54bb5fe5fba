import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Real Postgres, Redis and (for some files) a real PDS: generous, but bounded.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: run files in parallel, but not more than the machine can carry.
    maxWorkers: 2,
    pool: 'forks',
  },
})
