import type { JobSpec } from '../../src/protocol/index.js'
import type { NodeEntry } from './node-table.js'

/** What a node must offer to run a job. Jobs with equal requirements share one queue. */
export interface Requirement {
  key: string
  kind: JobSpec['kind']
  /** The command name or judge language, if any. */
  capability?: string
  labels: string[]
}

export function requirementOf(spec: JobSpec): Requirement {
  const labels = [...new Set(spec.requires.labels)].sort()
  const capability = spec.kind === 'command' ? spec.name : spec.kind === 'judge' ? spec.language : undefined
  return { key: `${spec.kind}:${capability ?? ''}|${labels.join(',')}`, kind: spec.kind, capability, labels }
}

export function canRun(node: NodeEntry, requirement: Requirement): boolean {
  if (requirement.kind === 'command' && !node.commands.has(requirement.capability!)) return false
  if (requirement.kind === 'judge' && !node.languages.has(requirement.capability!)) return false
  for (const label of requirement.labels) if (!node.labels.has(label)) return false
  return true
}

/** Why no online node can run it, in words a user can act on. */
export function describeRequirement(requirement: Requirement): string {
  const what =
    requirement.kind === 'command'
      ? `command "${requirement.capability}"`
      : requirement.kind === 'judge'
        ? `language "${requirement.capability}"`
        : 'noop jobs'
  return requirement.labels.length > 0 ? `${what} with labels ${requirement.labels.join(', ')}` : what
}
