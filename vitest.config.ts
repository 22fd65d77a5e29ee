import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { ProjectAllureReporter } from './scenarios/support/project-allure-reporter.ts';

/** Allure results of the drill scenarios; NMIA_ALLURE_RESULTS_DIR moves them (the Allure scenario's own check uses it). */
const ALLURE_RESULTS_DIR = process.env.NMIA_ALLURE_RESULTS_DIR || fileURLToPath(new URL('./reports/allure-results', import.meta.url));

export default defineConfig({
  test: {
    // Drills start real Postgres clusters and processes; two cores cannot run many at once.
    maxWorkers: 2,
    // One Chromium launch per evidence bundle is seconds each; the PDF's own tests pass their env explicitly.
    env: { NMIA_DRILL_ATTESTATION_PDF: 'off' },
    // The system tools the tests need: installed (root + apt) or reported in one line before any test runs.
    globalSetup: ['./test-support/prerequisites-global-setup.ts'],
    setupFiles: ['./test-support/cleanup-after-each-file.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: [
            'src/**/*.test.ts',
            'runbook/**/*.test.ts',
            'nmia/**/*.test.ts',
            'test-support/**/*.test.ts',
            'test/**/*.test.ts',
            'bench/**/*.test.ts',
          ],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      // Minutes per drill on the real app: run by .ci/run after npm test (npm run test:full-parity), not by npm test.
      ...(process.env.NMIA_DRILL_FULL_PARITY === '1'
        ? [
            {
              extends: true as const,
              test: {
                name: 'full-parity',
                include: ['scenarios/full-parity/**/*.parity.test.ts'],
                testTimeout: 300_000,
                hookTimeout: 1_800_000,
              },
            },
          ]
        : []),
      {
        extends: true,
        plugins: [
          {
            name: 'nmia-drill:allure-scenarios',
            // Reporters are global in vitest and `--reporter` on the command line (as .ci/run passes) replaces
            // the configured ones. This hook runs after that and before reporters start, so Allure is added
            // to whatever reporters were chosen, and only when this project runs. Matchers are not steps: a
            // procedure's steps are the drill's commands and rungs.
            configureVitest({ vitest }) {
              if (vitest.config.reporters.some((reporter) => reporter instanceof ProjectAllureReporter)) return;
              vitest.config.reporters.push(
                new ProjectAllureReporter('scenarios', { resultsDir: ALLURE_RESULTS_DIR, reportMatchers: false }),
              );
            },
          },
        ],
        test: {
          name: 'scenarios',
          include: ['scenarios/**/*.drill.test.ts'],
          setupFiles: ['allure-vitest/setup'],
          testTimeout: 300_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
