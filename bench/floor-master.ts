import type { Aedes } from 'aedes'

/**
 * The floor: the least a master inside Aedes can do for a job. Submit → assign to the one worker
 * → result → reply, as in-process publishes of QoS1 JSON, with no validation, no store and no
 * bookkeeping. edgerun is measured against this.
 */
export function startFloorMaster(aedes: Aedes, ns: string, node: string): Promise<void> {
  const assignTopic = `${ns}/nodes/${node}/assign`
  const publish = (topic: string, payload: string) =>
    aedes.publish({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, retain: false, dup: false }, () => {})
  return new Promise((resolve) => {
    aedes.subscribe(
      `${ns}/submit`,
      (packet, done) => {
        const job = JSON.parse(packet.payload.toString())
        publish(assignTopic, JSON.stringify({ v: 1, type: 'assign', job, attempt: 1, epoch: 'floor.1', ackBy: 0 }))
        done()
      },
      () =>
        aedes.subscribe(
          `${ns}/nodes/+/events`,
          (packet, done) => {
            const event = JSON.parse(packet.payload.toString())
            publish(event.replyTo, JSON.stringify({ v: 1, type: 'result', jobId: event.jobId, state: event.state, attempts: 1, node, output: event.output }))
            done()
          },
          resolve,
        ),
    )
  })
}
