import { PROTOCOL_VERSION, isFinal, type JobView, type ResultReply } from '../protocol/index.js'

/** A final job as the `result` reply it was (or would have been) delivered as. */
export function resultFromView(view: JobView, correlationId?: string): ResultReply | undefined {
  if (!isFinal(view.state)) return undefined
  return {
    v: PROTOCOL_VERSION,
    type: 'result',
    jobId: view.id,
    state: view.state,
    attempts: view.attempts,
    node: view.node,
    output: view.output ?? null,
    ...(view.error !== undefined ? { error: view.error } : {}),
    ...(view.code !== undefined ? { code: view.code } : {}),
    ...(view.lost ? { lost: view.lost } : {}),
    ...(correlationId ? { correlationId } : {}),
  }
}
