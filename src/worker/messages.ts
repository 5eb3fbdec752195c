import {
  PROTOCOL_VERSION,
  encode,
  type NodeLifecycle,
  WORKER_FEATURES,
  type RunningEntry,
  type WorkerEvent,
} from '../protocol/index.js'
import { EDGERUN_VERSION } from '../version.js'
import type { Capabilities } from './runners/index.js'

export interface NodeDescription {
  slots: number
  labels: string[]
  capabilities: Capabilities
}

/** The retained `node` message: a birth, a drain notice, or (as the will) an obituary. */
export function nodeState(
  state: NodeLifecycle,
  epoch: string,
  node: NodeDescription,
  running: RunningEntry[],
  reason?: string,
): Buffer {
  return encode({
    v: PROTOCOL_VERSION,
    type: 'node',
    state,
    epoch,
    slots: node.slots,
    labels: node.labels,
    capabilities: node.capabilities,
    running,
    version: EDGERUN_VERSION,
    ts: Date.now(),
    ...(reason ? { reason } : {}),
    features: WORKER_FEATURES,
  })
}

type Distribute<T> = T extends unknown ? Omit<T, 'v'> : never

export function workerEvent(event: Distribute<WorkerEvent>): Buffer {
  return encode({ v: PROTOCOL_VERSION, ...event })
}
