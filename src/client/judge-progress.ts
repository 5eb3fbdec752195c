/**
 * A judge job's verdicts as they come, one call per test, whether the worker sent them one per
 * `progress` event (`test`) or grouped (`tests`, docs/protocol.md "progress").
 */
import { judgeVerdicts, type JobReply, type JudgeTestProgress } from '../protocol/index.js'

export type JudgeTestHandler = (test: JudgeTestProgress) => void

/** An event handler that also hands every verdict of a progress reply to `onTest`, in order. */
export function withVerdicts(onEvent: ((reply: JobReply) => void) | undefined, onTest: JudgeTestHandler): (reply: JobReply) => void {
  return (reply) => {
    onEvent?.(reply)
    if (reply.type === 'progress') for (const test of judgeVerdicts(reply)) onTest(test)
  }
}
