/**
 * How the master talks MQTT. Inside `edgerun broker` it is Aedes's in-process publish/subscribe (no
 * socket, no codec); `edgerun master` uses an ordinary client of an external broker. The master
 * itself cannot tell the two apart.
 */
export interface Transport {
  /** Fire and forget, in order. The QoS is what subscribers get. */
  publish(topic: string, payload: Buffer, options: { qos: 0 | 1; retain?: boolean }): void
  /** `retained` is true for a stored message replayed on subscribe (never in-process). */
  subscribe(filters: string[], handler: (topic: string, payload: Buffer, retained: boolean) => void): Promise<void>
  /**
   * Whether anyone could receive a publish on `topic`. Only a transport that sees every
   * subscription (the embedded broker) can say no; the others always answer true.
   */
  hasSubscribers?(topic: string): boolean
  /**
   * When the newest live subscription to exactly `topic` was made, if the transport can see it
   * (only the embedded broker, and not when clustered); undefined otherwise.
   */
  lastSubscribedAt?(topic: string): number | undefined
  /**
   * Sends now whatever the transport holds back for the end of the event-loop turn (writes to
   * corked sockets). The master's store calls it before a commit that blocks the loop, so
   * that an assignment already published leaves first (docs/storage.md).
   */
  flush(): void
  /** Called after the transport's connection came back (never for the in-process transport). */
  onReconnect?(handler: () => void): void
  close(): Promise<void>
}
