import type { JobView } from '../src/protocol/index.js'
import { ago, table } from './format.js'

export function jobsTable(jobs: JobView[]): string {
  if (jobs.length === 0) return 'no jobs'
  return table(
    ['ID', 'KIND', 'STATE', 'PRIO', 'ATTEMPTS', 'NODE', 'UPDATED'],
    jobs.map((job) => [job.id, job.kind, job.state, job.priority, `${job.attempts}/${job.maxAttempts}`, job.node, ago(job.updatedAt)]),
  )
}

export function jobDetails(job: JobView): string {
  const lines = [
    `id:        ${job.id}`,
    `kind:      ${job.kind}`,
    `state:     ${job.state}`,
    `priority:  ${job.priority}`,
    `attempts:  ${job.attempts}/${job.maxAttempts}`,
    `node:      ${job.node ?? '-'}`,
    `owner:     ${job.owner ?? '-'}`,
    `created:   ${new Date(job.createdAt).toISOString()}`,
    `updated:   ${new Date(job.updatedAt).toISOString()}`,
  ]
  if (job.error) lines.push(`error:     ${job.error}`)
  if (job.output !== undefined) lines.push(`output:    ${JSON.stringify(job.output, null, 2).replace(/\n/g, '\n           ')}`)
  return lines.join('\n')
}
