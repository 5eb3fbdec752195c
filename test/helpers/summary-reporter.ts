import type { Reporter, TestCase, TestModule } from 'vitest/node'

/** Names shown per skip reason; a `-t` filter can skip hundreds for one reason. */
const NAMES_PER_REASON = 5

/** Why a test did not run: the note given to `ctx.skip(note)`, else how it was skipped. */
function skipReason(test: TestCase): string {
  const result = test.result()
  if (result.state === 'skipped' && result.note) return result.note
  if (test.options.mode === 'todo') return 'todo'
  return 'no reason given (it.skip, skipIf/runIf, .only elsewhere or a -t filter)'
}

/**
 * Ends every run with the skipped tests grouped by reason, then one plain line,
 * `N passed, N failed, N skipped`, that any CI can read whatever it knows of vitest's own summary.
 * A skip is never silent: each one is listed with why.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0
    let failed = 0
    let skipped = 0
    const skips = new Map<string, string[]>()
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state
        if (state === 'passed') passed++
        else if (state === 'failed') failed++
        else {
          skipped++
          const reason = skipReason(test)
          skips.set(reason, [...(skips.get(reason) ?? []), `${module.relativeModuleId} > ${test.fullName}`])
        }
      }
      if (module.state() === 'failed' && [...module.children.allTests()].length === 0) failed++
    }
    const lines: string[] = []
    for (const [reason, names] of skips) {
      lines.push(`skipped ${names.length}: ${reason}`)
      for (const name of names.slice(0, NAMES_PER_REASON)) lines.push(`  ${name}`)
      if (names.length > NAMES_PER_REASON) lines.push(`  … and ${names.length - NAMES_PER_REASON} more`)
    }
    process.stdout.write(`\n${lines.map((line) => `${line}\n`).join('')}${passed} passed, ${failed} failed, ${skipped} skipped\n`)
  }
}
