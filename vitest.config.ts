import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Drills start real Postgres clusters and processes; two cores cannot run many at once.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'runbook/**/*.test.ts', 'fixtures/**/*.test.ts', 'bench/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'scenarios',
          include: ['scenarios/**/*.drill.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
