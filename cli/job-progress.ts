import { judgeVerdicts, type JobReply, type ResultReply } from '../src/protocol/index.js'

/** One human line per lifecycle event, for live progress on stderr. */
export function describeEvent(reply: JobReply): string {
  switch (reply.type) {
    case 'accepted':
      return reply.duplicate ? `${reply.jobId}: already known (${reply.state})` : `${reply.jobId}: queued`
    case 'rejected':
      return `${reply.jobId ?? 'job'}: rejected ${reply.code}: ${reply.message}`
    case 'progress': {
      const where = reply.node ? ` on ${reply.node}` : ''
      const attempt = reply.attempt > 0 ? ` (attempt ${reply.attempt})` : ''
      // A judge's verdicts, one or several per event: one line each, the same either way.
      const verdicts = judgeVerdicts(reply)
      if (verdicts.length > 0) return verdicts.map((test) => `${reply.jobId}: test${where}${attempt}: ${describeDetail(test)}`).join('\n')
      const detail = describeDetail(reply.detail)
      return `${reply.jobId}: ${reply.state}${where}${attempt}${detail ? `: ${detail}` : ''}`
    }
    case 'result':
      return describeResult(reply)
  }
}

function describeDetail(detail: unknown): string {
  if (detail === undefined || detail === null) return ''
  if (typeof detail === 'string') return detail
  const test = detail as { name?: string; verdict?: string; timeMs?: number; index?: number; total?: number }
  if (test.verdict) return `test ${test.name ?? (test.index ?? 0) + 1}${test.total ? `/${test.total}` : ''} ${test.verdict} ${test.timeMs ?? 0} ms`
  return JSON.stringify(detail)
}

export function describeResult(result: ResultReply): string {
  const output = result.output as Record<string, unknown> | null
  let summary = ''
  if (output && 'verdict' in output) summary = ` verdict ${String(output.verdict)}`
  else if (output && 'exitCode' in output) summary = ` exit ${String(output.exitCode)}${output.signal ? ` (${String(output.signal)})` : ''}`
  const error = result.error ? `: ${result.error}` : ''
  const code = result.code ? ` ${result.code}` : ''
  const lost = result.lost ? ` (${result.lost} lost)` : ''
  return `${result.jobId}: ${result.state}${code}${summary} on ${result.node ?? '-'} after ${result.attempts} attempt(s)${lost}${error}`
}

/** `[#####.........]`: the bar a judge batch and a single judge job share. */
export function bar(done: number, total: number, width = 30): string {
  const filled = total > 0 ? Math.min(width, Math.round((done / total) * width)) : 0
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`
}

/**
 * A single judge job in a terminal: one line redrawn in place, a bar over its tests and the last
 * verdict, instead of a line per test. `write` gets raw text (`\r` to redraw); `end` closes the line.
 */
export function testProgressBar(write: (text: string) => void): { update(event: JobReply): void; end(): void } {
  let state = 'submitting'
  let judged = 0
  let total = 0
  let last = ''
  let drawn = 0
  const draw = () => {
    const tests = total > 0 ? `${bar(judged, total)} ${judged}/${total} tests` : bar(0, 1)
    const line = `${tests}  ${state}${last ? `  last: ${last}` : ''}`
    // Pad over what the longer line before left on screen.
    write(`\r${line.padEnd(drawn)}`)
    drawn = line.length
  }
  return {
    update(event) {
      if (event.type === 'accepted') state = event.duplicate ? `already known (${event.state})` : 'queued'
      else if (event.type === 'progress') {
        // One verdict per event or several (docs/protocol.md, "progress"): the bar reads both.
        const verdicts = judgeVerdicts(event)
        for (const test of verdicts) {
          judged = Math.max(judged, test.index + 1)
          total = test.total
          last = `${test.verdict} ${test.timeMs} ms`
        }
        if (verdicts.length === 0) state = `${event.state}${event.node ? ` on ${event.node}` : ''}${event.attempt > 0 ? ` (attempt ${event.attempt})` : ''}`
      } else return
      draw()
    },
    end() {
      if (drawn > 0) write('\n')
    },
  }
}
