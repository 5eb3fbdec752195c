import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Two cores: more parallel files only make the timing-sensitive ones flaky.
    maxWorkers: 2,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    // oclif writes through console.log; @oclif/test captures process.stdout, so let console through.
    disableConsoleIntercept: true,
  },
})
