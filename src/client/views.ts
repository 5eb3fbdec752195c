import { isFinal, jobReply, replyBody, type JobView, type ResultReply } from '../protocol/index.js'

/** A final job as the `result` reply it was (or would have been) delivered as. */
export function resultFromView(view: JobView, correlationId?: string): ResultReply | undefined {
  if (!isFinal(view.state)) return undefined
  const { state, attempts, node, error, code, lost } = view
  return jobReply(replyBody.result({ state, attempts, node, output: view.output ?? null, error, code, lost }), view.id, correlationId)
}
