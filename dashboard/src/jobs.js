// What the page makes of the protocol's job and node messages: pure functions, no connection.

const FINAL = new Set(['succeeded', 'failed', 'timed_out', 'canceled'])
export const isFinal = (state) => FINAL.has(state)

/** Judge progress: one judged test per event, or several at once where a worker groups them. */
export function testsOf(detail) {
  if (!detail || typeof detail !== 'object') return []
  const tests = Array.isArray(detail.tests) ? detail.tests : [detail]
  return tests.filter((test) => test && typeof test === 'object' && typeof test.verdict === 'string')
}

export function fromView(view) {
  return { state: view.state, epoch: view.epoch, slots: view.slots, labels: view.labels, languages: view.languages, commands: view.commands, version: view.version }
}

export function summaryOf(view) {
  const verdict = view.output && typeof view.output.verdict === 'string' ? view.output.verdict : undefined
  return {
    id: view.id,
    kind: view.kind,
    state: view.state,
    priority: view.priority,
    owner: view.owner,
    node: view.node,
    attempt: view.attempts,
    createdAt: view.createdAt,
    updatedAt: view.updatedAt,
    ...(verdict ? { verdict } : {}),
    ...(view.error ? { error: view.error } : {}),
  }
}
