import { MqttClient } from 'mqtt'
import { openStream, parseBrokerUrl } from '../../src/net/stream.js'

/** A bare mqtt.js client with TCP_NODELAY: the floor's transport, with nothing of edgerun's on top. */
export function rawClient(url: string, clientId: string): Promise<MqttClient> {
  const endpoint = parseBrokerUrl(url)
  const client = new MqttClient(() => openStream(endpoint), { clientId, protocolVersion: 4, clean: true, reconnectPeriod: 0, keepalive: 60, log: () => {} })
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client))
    client.once('error', reject)
  })
}
