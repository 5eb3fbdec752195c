import { judgeVerdicts, type JobReply, type ResultReply } from '../protocol/index.js'

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
